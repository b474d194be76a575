/**
 * Applies a KubernetesLocalProcessConfig.yaml to a connected session: downloads the volumes
 * it names (through the agent) to their local paths, and evaluates its `env` entries —
 * `$(services:…)` to the service's address on the workstation, `$(volumeMounts:…)` to the
 * local folder, `$(externalEndpoints:…)` to the host name (mapped like a service).
 *
 * The file comes from a repository, so where it says to write is checked: a volume goes
 * under the config file's folder (the project) or kbridge's volumes folder, never through a
 * symlink, each file whole; what was really written is what is reported.
 */
import path from "node:path";
import { KbridgeError, type EndpointView } from "../protocol/index.ts";
import type { ClusterEndpoint } from "../k8s/serviceCatalog.ts";
import { isWithin, makeFolderWithin, UnsafeFileError, writeFileWithin } from "../shared/safeFiles.ts";
import { matchesVolumeName, type LocalProcessConfig } from "./localProcessConfig.ts";

export interface AppliedConfig {
  env: Record<string, string>;
  /** `files`: how many were written; `skipped`: entries not written, with why. */
  volumes: { name: string; mountPath: string; localPath: string; files: number; skipped: string[] }[];
}

/** What the config file adds to the endpoints: other namespaces to map, and external hosts. */
export function configEndpoints(config: LocalProcessConfig, targetNamespace: string): { otherNamespaces: string[]; external: ClusterEndpoint[] } {
  const otherNamespaces = new Set<string>();
  const external = new Map<string, ClusterEndpoint>();
  for (const entry of config.env) {
    for (const token of entry.tokens) {
      if (token.kind === "service" && token.namespace && token.namespace !== targetNamespace) otherNamespaces.add(token.namespace);
      if (token.kind === "external") {
        const known = external.get(token.host);
        const ports = [...new Set([...(known?.ports.map((p) => p.port) ?? []), ...token.ports])].sort((a, b) => a - b);
        external.set(token.host, { key: `external/${token.host}`, namespace: "", service: token.host, kind: "external-name", ports: ports.map((port) => ({ port })), names: [token.host], dialHost: token.host });
      }
    }
  }
  return { otherNamespaces: [...otherNamespaces].sort(), external: [...external.values()] };
}

export async function applyConfig(options: {
  config: LocalProcessConfig;
  namespace: string;
  volumeMounts: { name: string; mountPath: string }[];
  endpoints: EndpointView[];
  files(path: string): Promise<{ path: string; mode: number; data: string }[]>;
  /** Where volumes without a localPath go. */
  volumesDir: string;
}): Promise<AppliedConfig> {
  const { config } = options;
  // Relative localPaths are the config file's folder's; the project is there.
  const projectFolder = path.dirname(path.resolve(config.file));
  const fail = (line: number, what: string): never => {
    throw new KbridgeError({ code: "config-file-invalid", category: "user", message: `${config.file} line ${line}: ${what}` });
  };
  const downloaded = new Map<string, AppliedConfig["volumes"][number]>();
  const volume = async (pattern: string, line: number): Promise<string> => {
    const mount = options.volumeMounts.find((m) => matchesVolumeName(pattern, m.name));
    if (!mount) return fail(line, `$(volumeMounts:${pattern}) matches no volume mounted in the container (its volumes: ${options.volumeMounts.map((m) => m.name).join(", ") || "none"})`);
    const known = downloaded.get(mount.name);
    if (known) return known.localPath;
    const setting = config.volumeMounts.find((v) => matchesVolumeName(v.name, mount.name));
    const localPath = setting?.localPath ? path.resolve(projectFolder, setting.localPath) : path.join(options.volumesDir, mount.name);
    const root = [projectFolder, options.volumesDir].find((folder) => isWithin(folder, localPath));
    if (!root) {
      return fail(
        setting?.line ?? line,
        `localPath ${setting?.localPath} of volume ${mount.name} is outside the project folder (${projectFolder}) and kbridge's volumes folder; kbridge writes the cluster's files only there. Choose a path inside the project`,
      );
    }
    const files = await options.files(mount.mountPath);
    const skipped: string[] = [];
    let written = 0;
    try {
      makeFolderWithin(root, localPath);
      for (const file of files) {
        const parts = file.path.split("/");
        // Names from the agent are relative paths of files: anything else would land elsewhere, or nowhere.
        if (file.path === "" || file.path.startsWith("/") || parts.some((part) => part === "" || part === "." || part === "..")) {
          skipped.push(`${JSON.stringify(file.path)} (not a plain relative file name)`);
          continue;
        }
        writeFileWithin(localPath, path.join(localPath, ...parts), Buffer.from(file.data, "base64"), file.mode & 0o777);
        written++;
      }
    } catch (error) {
      if (!(error instanceof UnsafeFileError)) throw error;
      return fail(setting?.line ?? line, `volume ${mount.name} was not written to ${localPath}: ${error.message}. Remove the link, or choose another localPath`);
    }
    const applied = { name: mount.name, mountPath: mount.mountPath, localPath, files: written, skipped };
    downloaded.set(mount.name, applied);
    return localPath;
  };
  const env: Record<string, string> = {};
  for (const entry of config.env) {
    let value = "";
    for (const token of entry.tokens) {
      if (token.kind === "text") value += token.text;
      else if (token.kind === "volume") value += await volume(token.name, entry.line);
      else if (token.kind === "external") value += token.host;
      else {
        const key = `${token.namespace ?? options.namespace}/${token.name}`;
        const endpoint = options.endpoints.find((e) => e.key === key);
        if (!endpoint) fail(entry.line, `${entry.name}: $(services:${token.name}${token.namespace ? `.${token.namespace}` : ""}) names no service in namespace ${token.namespace ?? options.namespace}`);
        // Unprivileged endpoints listen on a free port: the token then carries it (http://$(services:x)/ keeps working).
        const found = endpoint as EndpointView;
        const first = found.ports[0];
        value += first && first.listenPort !== first.port ? `${found.address}:${first.listenPort}` : found.address;
      }
    }
    env[entry.name] = value;
  }
  // Volumes listed without a token are downloaded too (their localPath is the point).
  for (const setting of config.volumeMounts) await volume(setting.name, setting.line);
  return { env, volumes: [...downloaded.values()] };
}
