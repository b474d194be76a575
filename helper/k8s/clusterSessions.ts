/**
 * The state of each kbridge session in a namespace, as the cluster page shows it, judged
 * without anyone's wall clock: a session's helper is "silent" once this helper has watched
 * its heartbeat stand still for its dead-man interval (the restorer's own rule, deadman.mjs,
 * on this helper's clock); its restorer says when it is restoring or could not; and a
 * workload still running the agent of a session whose saved original is gone is "orphaned".
 */
import type { V1Pod } from "@kubernetes/client-node";
import { Deadman } from "../agent/deadman.mjs";
import type { ClusterSessionView } from "../protocol/index.ts";
import type { Labelled } from "./kbridgeInventory.ts";
import { HEARTBEAT_ANNOTATION, OWNER_ANNOTATION, OWNER_LABEL, REPLACES_ANNOTATION, RESTORER_STATUS_ANNOTATION, ROLE_LABEL, SESSION_LABEL } from "./sessionLabels.ts";
import { clusterCall, type ClusterConnection } from "./clusterConnection.ts";
import { claimOf, parseRestorerStatus } from "./workloadClaim.ts";

const DEFAULT_DEADMAN_S = 30;
/** Heartbeats watched, per cluster, namespace and session (entries of sessions gone are dropped). */
const watched = new Map<string, Deadman>();

/**
 * Each session of the namespace: those with objects (`secrets`: their Secrets, `pods`: their
 * restorers among others), and those only a workload's claim names.
 */
export async function describeSessions(connection: ClusterConnection, namespace: string, objects: { kind: string; item: Labelled }[]): Promise<ClusterSessionView[]> {
  const [deployments, statefulSets, pods] = await Promise.all([
    clusterCall(connection, `list the deployments of ${namespace}`, () => connection.apps.listNamespacedDeployment({ namespace })),
    clusterCall(connection, `list the stateful sets of ${namespace}`, () => connection.apps.listNamespacedStatefulSet({ namespace })),
    clusterCall(connection, `list kbridge's agent pods in ${namespace}`, () => connection.core.listNamespacedPod({ namespace, labelSelector: `${ROLE_LABEL}=agent` })),
  ]);
  const claims = new Map<string, string>();
  for (const [kind, items] of [
    ["deployment", deployments.items],
    ["statefulset", statefulSets.items],
  ] as const) {
    for (const item of items) {
      const holder = claimOf(item);
      if (holder) claims.set(holder, `${kind}/${item.metadata?.name}`);
    }
  }
  for (const pod of pods.items as V1Pod[]) {
    const replaces = pod.metadata?.annotations?.[REPLACES_ANNOTATION];
    const holder = pod.metadata?.labels?.[SESSION_LABEL];
    if (replaces && holder) claims.set(holder, `pod/${replaces}`);
  }
  const secrets = new Map(objects.filter((o) => o.kind === "Secret").map(({ item }) => [item.metadata?.labels?.[SESSION_LABEL] ?? "", item]));
  const deadmanOf = new Map(
    objects
      .filter((o) => o.kind === "Pod" && o.item.metadata?.labels?.[ROLE_LABEL] === "restorer")
      .map(({ item }) => [item.metadata?.labels?.[SESSION_LABEL] ?? "", Number((item as V1Pod).spec?.containers[0]?.env?.find((e) => e.name === "KBRIDGE_DEADMAN_SECONDS")?.value) || DEFAULT_DEADMAN_S]),
  );
  const ids = [...new Set([...objects.map((o) => o.item.metadata?.labels?.[SESSION_LABEL] ?? ""), ...claims.keys()])].filter(Boolean).sort();
  const prefix = `${connection.server}/${namespace}/`;
  for (const key of watched.keys()) if (key.startsWith(prefix) && !secrets.has(key.slice(prefix.length))) watched.delete(key);

  return ids.map((session): ClusterSessionView => {
    const secret = secrets.get(session);
    const workload = claims.get(session);
    const owner = secret?.metadata?.annotations?.[OWNER_ANNOTATION] ?? objects.find((o) => o.item.metadata?.labels?.[SESSION_LABEL] === session)?.item.metadata?.labels?.[OWNER_LABEL] ?? "";
    const base = { session, owner, ...(workload ? { workload } : {}) };
    if (!secret) {
      if (!workload) return { ...base, state: "silent" };
      const [kind, name] = workload.split("/");
      return {
        ...base,
        state: "orphaned",
        message: `${workload} still runs the agent of session ${session}, but the session's saved original is gone.`,
        hint: kind === "deployment" ? `Roll it back: kubectl rollout undo deployment/${name} -n ${namespace}` : `Apply ${workload}'s manifest again (kubectl apply -f …).`,
      };
    }
    const restorer = parseRestorerStatus(secret.metadata?.annotations?.[RESTORER_STATUS_ANNOTATION]);
    if (restorer?.state === "restoring") return { ...base, state: "restoring", message: `Its helper went silent; its restorer is putting ${workload ?? "the cluster"} back.` };
    if (restorer?.state === "failed") return { ...base, state: "restore-failed", message: `Its restorer could not finish: ${restorer.message ?? "see its log"}.`, ...(restorer.hint ? { hint: restorer.hint } : {}) };
    const key = `${prefix}${session}`;
    const deadman = watched.get(key) ?? new Deadman((deadmanOf.get(session) ?? DEFAULT_DEADMAN_S) * 1000);
    watched.set(key, deadman);
    return { ...base, state: deadman.observe(secret.metadata?.annotations?.[HEARTBEAT_ANNOTATION] ?? "") ? "silent" : "live" };
  });
}
