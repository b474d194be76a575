/**
 * A pod's volumes as folders on the node: ConfigMap, Secret, projected (service-account
 * token, ConfigMap, Secret, downward API), downwardAPI, emptyDir and hostPath. The
 * container runner bind-mounts them at their mount paths.
 */
import fs from "node:fs";
import path from "node:path";
import type { KubeObject } from "../apiserver/store.ts";
import { ContainerConfigError } from "./environment.ts";
import { obj, type Any } from "../controllers/objects.ts";

export interface VolumeSources {
  pod: KubeObject;
  configMap(name: string): KubeObject | undefined;
  secret(name: string): KubeObject | undefined;
  /** Mints a token for the pod's service account (projected serviceAccountToken). */
  serviceAccountToken(pod: KubeObject): string;
}

interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

/** Writes every volume under `root/<name>` and returns name → folder. Missing non-optional sources are config errors. */
export function materializeVolumes(root: string, sources: VolumeSources): Map<string, string> {
  const folders = new Map<string, string>();
  for (const volume of ((sources.pod.spec as Any | undefined)?.volumes as Any[] | undefined) ?? []) {
    const name = String(volume.name);
    if (volume.hostPath) {
      folders.set(name, String((volume.hostPath as Any).path));
      continue;
    }
    const folder = path.join(root, name);
    fs.rmSync(folder, { recursive: true, force: true });
    fs.mkdirSync(folder, { recursive: true, mode: 0o755 });
    if (volume.configMap) writeObject(folder, volume.configMap as Any, "configmap", sources);
    else if (volume.secret) writeObject(folder, volume.secret as Any, "secret", sources);
    else if (volume.projected) {
      const projected = volume.projected as Any;
      for (const source of (projected.sources as Any[] | undefined) ?? []) {
        if (source.serviceAccountToken) writeToken(folder, String((source.serviceAccountToken as Any).path), sources, Number(projected.defaultMode ?? 0o644));
        if (source.configMap) writeObject(folder, { ...(source.configMap as Any), defaultMode: projected.defaultMode }, "configmap", sources);
        if (source.secret) writeObject(folder, { ...(source.secret as Any), secretName: (source.secret as Any).name, defaultMode: projected.defaultMode }, "secret", sources);
        if (source.downwardAPI) writeDownward(folder, (source.downwardAPI as Any).items as Any[], sources.pod);
      }
    } else if (volume.downwardAPI) writeDownward(folder, (volume.downwardAPI as Any).items as Any[], sources.pod);
    else if (!volume.emptyDir) throw new ContainerConfigError(`volume "${name}": only configMap, secret, projected, downwardAPI, emptyDir and hostPath volumes are supported by the test cluster`);
    // emptyDir is world-writable, as the kubelet makes it; fsGroup owns the volume's files.
    if (volume.emptyDir) fs.chmodSync(folder, 0o777);
    const fsGroup = (obj(obj(sources.pod.spec).securityContext).fsGroup as number | undefined) ?? undefined;
    if (fsGroup !== undefined) shareWithGroup(folder, fsGroup);
    folders.set(name, folder);
  }
  return folders;
}

/**
 * The projected token: owned by the pod's user with mode 0600 when every container runs as
 * the same non-root user and no fsGroup is set (kubelet's rule), else the volume's mode.
 */
function writeToken(folder: string, relative: string, sources: VolumeSources, mode: number): void {
  const spec = obj(sources.pod.spec);
  const podUser = obj(spec.securityContext).runAsUser;
  const users = new Set([...((spec.containers as Any[] | undefined) ?? []), ...((spec.initContainers as Any[] | undefined) ?? [])].map((c) => obj(c.securityContext).runAsUser ?? podUser));
  const [user] = [...users];
  const owner = users.size === 1 && typeof user === "number" && user !== 0 && obj(spec.securityContext).fsGroup === undefined ? user : undefined;
  writeFile(folder, relative, sources.serviceAccountToken(sources.pod), owner === undefined ? mode : 0o600);
  if (owner !== undefined) fs.chownSync(path.join(folder, relative), owner, -1);
}

/** fsGroup: every file group-owned and group-readable (and folders group-writable, setgid), as the kubelet's volume ownership does. */
function shareWithGroup(folder: string, gid: number): void {
  for (const entry of [folder, ...fs.readdirSync(folder, { recursive: true }).map((relative) => path.join(folder, String(relative)))]) {
    const stat = fs.lstatSync(entry);
    if (stat.isSymbolicLink()) continue;
    fs.chownSync(entry, -1, gid);
    fs.chmodSync(entry, stat.isDirectory() ? (stat.mode & 0o7777) | 0o2070 : (stat.mode & 0o7777) | 0o040);
  }
}

function writeObject(folder: string, ref: Any, kind: "configmap" | "secret", sources: VolumeSources): void {
  const name = String(kind === "secret" ? (ref.secretName ?? ref.name) : ref.name);
  const object = kind === "secret" ? sources.secret(name) : sources.configMap(name);
  if (!object) {
    if (ref.optional) return;
    throw new ContainerConfigError(`${kind} "${name}" not found`);
  }
  const data: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries((object.data as Record<string, string> | undefined) ?? {})) data[key] = kind === "secret" ? Buffer.from(value, "base64") : Buffer.from(value);
  for (const [key, value] of Object.entries((object.binaryData as Record<string, string> | undefined) ?? {})) data[key] = Buffer.from(value, "base64");
  const mode = Number(ref.defaultMode ?? 0o644);
  const items = ref.items as KeyToPath[] | undefined;
  for (const item of items ?? Object.keys(data).map((key): KeyToPath => ({ key, path: key }))) {
    const value = data[item.key];
    if (value === undefined) {
      if (ref.optional) continue;
      throw new ContainerConfigError(`configmap references non-existent config key: ${item.key}`);
    }
    writeFile(folder, item.path, value, item.mode ?? mode);
  }
}

function writeDownward(folder: string, items: Any[] | undefined, pod: KubeObject): void {
  for (const item of items ?? []) {
    const field = String((item.fieldRef as Any | undefined)?.fieldPath ?? "");
    const values: Record<string, string | undefined> = {
      "metadata.name": pod.metadata.name,
      "metadata.namespace": pod.metadata.namespace,
      "metadata.uid": pod.metadata.uid,
      "metadata.labels": Object.entries(pod.metadata.labels ?? {}).map(([k, v]) => `${k}="${v}"`).join("\n"),
      "metadata.annotations": Object.entries(pod.metadata.annotations ?? {}).map(([k, v]) => `${k}="${v}"`).join("\n"),
    };
    writeFile(folder, String(item.path), values[field] ?? "", Number(item.mode ?? 0o644));
  }
}

function writeFile(folder: string, relative: string, content: string | Buffer, mode: number): void {
  const file = path.join(folder, relative);
  if (!file.startsWith(folder + path.sep)) throw new ContainerConfigError(`volume item path ${relative} leaves the volume`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content, { mode });
  fs.chmodSync(file, mode);
}
