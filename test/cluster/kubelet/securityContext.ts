/**
 * What a container's security context makes of its process, as a kubelet and containerd do:
 * the user and groups it runs as (`runAsUser`/`runAsGroup`, container over pod; the image's
 * root otherwise), `supplementalGroups` and `fsGroup`, the `runAsNonRoot` refusal, and whether
 * it may bind ports below 1024 (NET_BIND_SERVICE: root keeps it unless dropped; a non-root
 * user has it only when added, as on a node that leaves `ip_unprivileged_port_start` at 1024).
 */
import { obj, type Any } from "../controllers/objects.ts";

const caps = (list: unknown) => (Array.isArray(list) ? list.map((c) => String(c).toUpperCase().replace(/^CAP_/, "")) : []);

export interface ProcessIdentity {
  uid: number;
  gid: number;
  groups: number[];
  /** May bind ports 1–1023. */
  netBindService: boolean;
}

export class RunAsRootError extends Error {}

export function processIdentity(pod: { metadata: { name?: string; namespace?: string; uid?: string }; spec?: unknown }, container: Any): ProcessIdentity {
  const podContext = obj(obj(pod.spec).securityContext);
  const context = obj(container.securityContext);
  const pick = (key: string) => (context[key] ?? podContext[key]) as number | boolean | undefined;
  const uid = Number(pick("runAsUser") ?? 0);
  const gid = Number(pick("runAsGroup") ?? 0);
  if (pick("runAsNonRoot") === true && uid === 0) {
    throw new RunAsRootError(`container has runAsNonRoot and image will run as root (pod: "${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})", container: ${String(container.name)})`);
  }
  const groups = [...((podContext.supplementalGroups as number[] | undefined) ?? []), ...(podContext.fsGroup !== undefined ? [Number(podContext.fsGroup)] : [])];
  const capabilities = obj(context.capabilities);
  const added = caps(capabilities.add);
  const dropped = caps(capabilities.drop);
  const privileged = context.privileged === true;
  const netBindService = privileged || added.includes("NET_BIND_SERVICE") || added.includes("ALL") || (uid === 0 && !dropped.includes("ALL") && !dropped.includes("NET_BIND_SERVICE"));
  return { uid, gid, groups: [...new Set(groups)], netBindService };
}

/** The command that starts `command` as `identity` (setpriv, after the mounts are made as root). */
export function asIdentity(identity: ProcessIdentity, command: string, args: string[]): [string, string[]] {
  if (identity.uid === 0 && identity.gid === 0 && identity.groups.length === 0) return [command, args];
  const setpriv = [`--reuid=${identity.uid}`, `--regid=${identity.gid}`, identity.groups.length ? `--groups=${identity.groups.join(",")}` : "--clear-groups"];
  if (identity.uid !== 0 && identity.netBindService) setpriv.push("--inh-caps=+net_bind_service", "--ambient-caps=+net_bind_service");
  return ["setpriv", [...setpriv, "--", command, ...args]];
}
