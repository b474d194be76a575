/**
 * A connect, end to end: resolve the target, save and replace it with the agent, wait for
 * the agent pods, keep one tunnel per agent pod (every replica forwards), and restore on
 * disconnect — or at once when any step after the change fails, leaving the cluster as it was.
 */
import { randomBytes } from "node:crypto";
import os from "node:os";
import { KbridgeError, type ResolvedTarget, type TargetRef } from "../protocol/index.ts";
import type { Logger } from "../logging/logger.ts";
import { clusterCall, openCluster, type ClusterConnection } from "../k8s/clusterConnection.ts";
import { findTarget } from "../k8s/findTarget.ts";
import { agentPods, renewHeartbeat, replaceWithAgent, restoreWorkload, waitForAgentPods, waitForOriginalsRetired, type KeepOptions, type SessionIdentity } from "../k8s/agentWorkload.ts";
import { openPodConnection } from "../k8s/portForward.ts";
import { serveInboundTunnel, type InboundTunnel } from "../tunnel/inboundTunnel.ts";

export interface PortMapping {
  /** Service port (Service targets) or container port (Deployment and Pod targets); absent: the target's ports in order. */
  port?: number;
  workstationPort: number;
}

export interface ConnectOptions {
  /** Chosen by the caller (the session manager announces it before the connect ends); random otherwise. */
  sessionId?: string;
  kubeconfig: string[];
  context: string;
  target: TargetRef;
  ports: PortMapping[];
  agentImage?: string;
  controlPort?: number;
  /** What of the container the agent keeps (default: neither). */
  keep?: KeepOptions;
  /** Longest wait for the agent pods (image pull, scheduling). */
  timeoutMs?: number;
  /** Without a heartbeat for this long, the cluster restores itself (default 30 s: restored within 60 s). */
  deadmanSeconds?: number;
  log: Logger;
  onStep?(step: { name: string; status: "running" | "done" | "failed"; ms?: number; detail?: string }): void;
}

export interface ConnectedSession {
  id: string;
  target: ResolvedTarget;
  /** Agent pods with a live tunnel. */
  tunnels(): string[];
  disconnect(): Promise<void>;
}

const RESTORE_TIMEOUT_MS = 60_000;

export async function connect(options: ConnectOptions): Promise<ConnectedSession> {
  const step = async <T>(name: string, run: () => Promise<T>, detail?: (value: T) => string): Promise<T> => {
    const started = Date.now();
    options.onStep?.({ name, status: "running" });
    try {
      const value = await run();
      options.onStep?.({ name, status: "done", ms: Date.now() - started, detail: detail?.(value) });
      return value;
    } catch (error) {
      options.onStep?.({ name, status: "failed", ms: Date.now() - started, detail: (error as Error).message });
      throw error;
    }
  };
  const connection = openCluster(options.kubeconfig, options.context);
  const target = await step("resolve target", () => findTarget(connection, options.target), (t) => `${t.workload.kind} ${t.workload.name}, container ${t.container} (${t.containerReason}), ${t.workload.replicas} replica(s)`);
  const routes = routeTable(target, options.ports);
  const session: SessionIdentity = { id: options.sessionId ?? randomBytes(4).toString("hex"), owner: `${os.userInfo().username}@${os.hostname()}`, expiresAt: new Date(Date.now() + 8 * 3600_000) };
  const log = options.log.child({ session: session.id });
  const controlPort = options.controlPort ?? 47000;
  const namespace = target.namespace;

  const deadmanSeconds = options.deadmanSeconds ?? 30;
  const tunnels = new Map<string, InboundTunnel>();
  let active = true;
  // The restorer's heartbeat, renewed three times per dead-man interval.
  const heartbeat = setInterval(() => {
    renewHeartbeat(connection, namespace, session.id).catch((error: Error) => log.warn({ err: error.message }, "could not renew the heartbeat"));
  }, (deadmanSeconds * 1000) / 3);
  heartbeat.unref();
  try {
    // Inside the rollback: a failure half-way through the replacement (a forbidden Role, say) is undone too.
    const { podLabels } = await step("deploy agent", () =>
      replaceWithAgent(connection, target, session, { image: options.agentImage ?? "node:22-alpine", controlPort, keep: options.keep ?? { probes: false, lifecycleHooks: false }, deadmanSeconds }),
    );
    const timeoutMs = options.timeoutMs ?? 60_000;
    const pods = await step(
      "wait for agent pods",
      async () => {
        const deadline = Date.now() + timeoutMs;
        const ready = await waitForAgentPods(connection, namespace, session.id, target.workload.replicas, timeoutMs);
        await waitForOriginalsRetired(connection, namespace, podLabels, session.id, Math.max(1000, deadline - Date.now()));
        return ready;
      },
      (p) => `${p.join(", ")} ready; the workload's own pods retired`,
    );
    await step("open tunnels", () => Promise.all(pods.map((pod) => openTunnel(pod))), () => `${tunnels.size} tunnel(s)`);
  } catch (error) {
    active = false;
    clearInterval(heartbeat);
    for (const tunnel of tunnels.values()) tunnel.close();
    await restoreAndWait(connection, namespace, session.id, log);
    throw error;
  }

  async function openTunnel(pod: string): Promise<void> {
    const duplex = await openPodConnection(connection, namespace, pod, controlPort);
    const tunnel = serveInboundTunnel(duplex, { workstationPort: (containerPort) => routes.get(containerPort) }, log);
    tunnels.set(pod, tunnel);
    log.info({ pod }, "tunnel up");
    void tunnel.closed.then(() => {
      if (tunnels.get(pod) === tunnel) tunnels.delete(pod);
      log.info({ pod }, "tunnel closed");
    });
  }

  // Agent pods come and go (scale, eviction): keep a tunnel to every ready one.
  const keeper = setInterval(() => {
    if (!active) return;
    void (async () => {
      const pods = await clusterCall(connection, "list the agent pods", () => connection.core.listNamespacedPod({ namespace, labelSelector: agentPods(session.id) }));
      for (const pod of pods.items) {
        const name = pod.metadata?.name ?? "";
        const ready = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
        if (ready && !pod.metadata?.deletionTimestamp && !tunnels.has(name)) await openTunnel(name);
      }
    })().catch((error: Error) => log.warn({ err: error.message }, "could not refresh the agent tunnels"));
  }, 2000);
  keeper.unref();

  options.onStep?.({ name: "connected", status: "done" });
  return {
    id: session.id,
    target,
    tunnels: () => [...tunnels.keys()],
    async disconnect() {
      if (!active) return;
      active = false;
      clearInterval(keeper);
      clearInterval(heartbeat);
      for (const tunnel of tunnels.values()) tunnel.close();
      await step("restore", () => restoreAndWait(connection, namespace, session.id, log));
    },
  };
}

/** Container port → workstation port, from the user's mappings of service (or container) ports. */
function routeTable(target: ResolvedTarget, mappings: PortMapping[]): Map<number, number> {
  if (mappings.length === 0) throw new KbridgeError({ code: "no-port-mapping", category: "user", message: "No workstation port is mapped.", hint: "Map at least one port of the target to a workstation port." });
  const routes = new Map<number, number>();
  const known = target.ports.map((p) => (target.service ? p.servicePort : p.containerPort)).join(", ") || "none";
  for (const [index, mapping] of mappings.entries()) {
    const port =
      mapping.port === undefined ? target.ports[index] : target.ports.find((p) => (target.service ? p.servicePort === mapping.port : p.containerPort === mapping.port));
    if (!port && mapping.port === undefined) {
      throw new KbridgeError({ code: "unknown-port", category: "user", message: `${mappings.length} workstation ports were given for ${target.ports.length} port(s) (${known}).`, hint: "Give one per port, or name them as PORT:WORKSTATION_PORT." });
    }
    if (!port) {
      throw new KbridgeError({
        code: "unknown-port",
        category: "user",
        message: `${target.service ? `Service ${target.service}` : `${target.workload.kind} ${target.workload.name}`} has no port ${mapping.port} (its ports: ${known}).`,
        hint: "Map one of its ports.",
      });
    }
    routes.set(port.containerPort, mapping.workstationPort);
  }
  return routes;
}

/** Restores the workload and waits until no agent pod of the session is left. */
async function restoreAndWait(connection: ClusterConnection, namespace: string, sessionId: string, log: Logger): Promise<void> {
  await restoreWorkload(connection, namespace, sessionId);
  const deadline = Date.now() + RESTORE_TIMEOUT_MS;
  for (;;) {
    const left = (await clusterCall(connection, "list the agent pods", () => connection.core.listNamespacedPod({ namespace, labelSelector: agentPods(sessionId) }))).items;
    if (left.length === 0) return;
    if (Date.now() > deadline) {
      log.warn({ left: left.map((p) => p.metadata?.name) }, "agent pods still terminating after the restore");
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
