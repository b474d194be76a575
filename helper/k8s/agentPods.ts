/**
 * A session's agent pods: the ready ones, the wait for them (failing fast on a pod that cannot
 * start), and the wait for the workload's own pods to make way.
 */
import type { V1ContainerStatus, V1Pod } from "@kubernetes/client-node";
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
        const refused = await portRefused(connection, namespace, pod, status);
        if (refused) {
          throw new KbridgeError({
            code: "agent-port-refused",
            category: "cluster",
            message: `The agent in pod ${pod.metadata?.name} cannot listen on port ${refused.port}: ${refused.reason}.`,
            hint:
              refused.port < 1024
                ? "Serve the workload on a port of 1024 or above (its containerPort and the Service's targetPort), or ask your cluster's administrator to let pods open low ports (containerd: enable_unprivileged_ports)."
                : "Another process in the pod uses that port: stop it, or choose other agent ports.",
          });
        }
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

/** Why an agent that exited could not listen (its log's "cannot listen" line), if that is why it exited. */
async function portRefused(connection: ClusterConnection, namespace: string, pod: V1Pod, status: V1ContainerStatus): Promise<{ port: number; reason: string } | undefined> {
  const current = status.state?.terminated;
  const ended = current ?? status.lastState?.terminated;
  if (!ended || ended.exitCode !== 78) return undefined;
  const log = await clusterCall(connection, `read the agent's log in pod ${pod.metadata?.name}`, () =>
    connection.core.readNamespacedPodLog({ name: pod.metadata?.name ?? "", namespace, container: status.name, previous: current === undefined, tailLines: 20 }),
  ).catch(() => "");
  for (const line of String(log).split("\n").reverse()) {
    try {
      const entry = JSON.parse(line) as { message?: string; port?: number; reason?: string; code?: string };
      if (entry.message === "cannot listen" && typeof entry.port === "number") return { port: entry.port, reason: `${entry.code ?? "error"} (${entry.reason})` };
    } catch {
      // not one of the agent's lines
    }
  }
  return ended.message ? { port: Number(/port (\d+)/.exec(ended.message)?.[1] ?? 0), reason: ended.message } : undefined;
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
