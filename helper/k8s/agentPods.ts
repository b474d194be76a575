/**
 * A session's agent pods: the ready ones, the wait for them (failing fast on a pod that cannot
 * start), and the wait for the workload's own pods to make way.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { STUCK_REASONS } from "../agent/restore.mjs";
import { KbridgeError } from "../protocol/index.ts";
import { clusterCall, type ClusterConnection } from "./clusterConnection.ts";
import { agentPods, SESSION_LABEL } from "./sessionLabels.ts";
import { isPodReady } from "./podStatus.ts";

/** The session's agent pods that are ready and not on their way out. */
export async function readyAgentPods(connection: ClusterConnection, namespace: string, sessionId: string): Promise<string[]> {
  const pods = await clusterCall(connection, "list the agent pods", () => connection.core.listNamespacedPod({ namespace, labelSelector: agentPods(sessionId) }));
  return pods.items.filter((p) => !p.metadata?.deletionTimestamp && isPodReady(p)).map((p) => p.metadata?.name ?? "");
}

/**
 * Waits until `replicas` agent pods of the session are ready; fails fast, naming the pod and
 * the reason, on a pull failure, a config error or a crash loop, and names what it waited
 * for when the timeout passes.
 */
export async function waitForAgentPods(connection: ClusterConnection, namespace: string, sessionId: string, replicas: number, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pods: V1Pod[] = (await clusterCall(connection, "list the agent pods", () => connection.core.listNamespacedPod({ namespace, labelSelector: agentPods(sessionId) }))).items.filter((p) => !p.metadata?.deletionTimestamp);
    const ready = pods.filter(isPodReady);
    if (ready.length >= replicas) return ready.map((p) => p.metadata?.name ?? "");
    for (const pod of pods) {
      for (const status of pod.status?.containerStatuses ?? []) {
        const reason = status.state?.waiting?.reason;
        if (reason && STUCK_REASONS.has(reason)) {
          throw new KbridgeError({
            code: "agent-failed",
            category: "cluster",
            message: `The agent pod ${pod.metadata?.name} cannot start: ${reason}${status.state?.waiting?.message ? ` (${status.state.waiting.message})` : ""}.`,
            hint: reason.includes("Image") ? "If your cluster cannot pull this image, name one it can pull (with Node.js ≥ 18): the profile's Agent image, or kbridge connect --agent-image." : "See the agent's log: kubectl logs " + pod.metadata?.name + ` -n ${namespace}`,
          });
        }
      }
    }
    if (Date.now() > deadline) {
      const states = pods.map((p) => `${p.metadata?.name} is ${p.status?.phase ?? "not scheduled"}`).join("; ") || "no agent pod was created (an admission webhook or quota may have refused it)";
      throw new KbridgeError({
        code: "agent-timeout",
        category: "cluster",
        message: `Timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${replicas} agent pod(s) to be ready: ${ready.length} ready; ${states}.`,
        hint: `Look at the events: kubectl get events -n ${namespace} --sort-by=.lastTimestamp`,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Waits until none of the workload's own pods serves any more (the rollout to the agent has
 * retired them, or the bare pod is terminating), so that "connected" means every request
 * reaches the workstation.
 */
export async function waitForOriginalsRetired(connection: ClusterConnection, namespace: string, podLabels: Record<string, string>, sessionId: string, timeoutMs: number): Promise<void> {
  const labelSelector = Object.entries(podLabels).map(([key, value]) => `${key}=${value}`).join(",");
  if (!labelSelector) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pods = await clusterCall(connection, "list the workload's pods", () => connection.core.listNamespacedPod({ namespace, labelSelector }));
    const serving = pods.items.filter((p) => !p.metadata?.deletionTimestamp && p.metadata?.labels?.[SESSION_LABEL] !== sessionId).map((p) => p.metadata?.name ?? "");
    if (serving.length === 0) return;
    if (Date.now() > deadline) {
      throw new KbridgeError({
        code: "originals-still-serving",
        category: "cluster",
        message: `Timed out after ${Math.round(timeoutMs / 1000)} s waiting for the workload's own pods to make way for the agent: ${serving.join(", ")} still serving.`,
        hint: `A paused rollout, a PodDisruptionBudget or a stuck controller can hold them: kubectl describe pod ${serving[0]} -n ${namespace}`,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
