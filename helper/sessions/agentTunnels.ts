/**
 * A session's tunnels to its agent pods: one inbound tunnel per pod (every replica forwards
 * to the workstation), one outbound tunnel to any of them (cluster services dialled from the
 * workstation), each pod's log followed while its tunnel lives, and a keeper that opens
 * tunnels to agent pods as they come (scale, eviction).
 */
import type { Duplex } from "node:stream";
import { readyAgentPods } from "../k8s/agentPods.ts";
import type { ClusterConnection } from "../k8s/clusterConnection.ts";
import { followPodLog } from "../k8s/podLogs.ts";
import { openPortForward } from "../k8s/portForward.ts";
import { routeServices } from "../k8s/routers.ts";
import { KbridgeError } from "../protocol/index.ts";
import type { HttpExchange } from "../tunnel/httpObserver.ts";
import { serveInboundTunnel, type InboundTunnel } from "../tunnel/inboundTunnel.ts";
import { openOutboundTunnel, type OutboundTunnel } from "../tunnel/outboundTunnel.ts";
import { DEFAULT_AGENT_IMAGE, type SessionCallbacks, type SessionPlan } from "./sessionPlan.ts";

export interface AgentTunnels {
  /** Opens an inbound tunnel to each pod and the outbound one to the first. */
  open(pods: string[]): Promise<void>;
  /** From now on, tunnels follow the agent pods (every 2 s, one pass at a time). */
  keep(): void;
  /** A connection to host:port made by the agent inside the cluster. */
  dial(host: string, port: number): Promise<Duplex>;
  /** The files under a path of the agent's container (volumes), through the outbound tunnel. */
  files: OutboundTunnel["files"];
  /** Agent pods with an inbound tunnel, and the pod carrying outbound traffic. */
  links(): { inbound: string[]; outbound: string | null };
  close(): void;
}

const KEEP_EVERY_MS = 2000;

export function agentTunnels(connection: ClusterConnection, plan: SessionPlan, callbacks: SessionCallbacks): AgentTunnels {
  const { log } = callbacks;
  const namespace = plan.target.namespace;
  const routes = new Map(plan.routes);
  const tunnels = new Map<string, InboundTunnel>();
  let outbound: { pod: string; tunnel: OutboundTunnel } | undefined;
  let active = true;
  let keeper: NodeJS.Timeout | undefined;
  const logFollowers = new AbortController();

  const followLog = (pod: string, tunnel: InboundTunnel) => {
    const following = new AbortController();
    logFollowers.signal.addEventListener("abort", () => following.abort(), { once: true });
    void tunnel.closed.then(() => following.abort());
    if (!callbacks.onAgentLog) return;
    void followPodLog(connection, { namespace, pod, container: plan.target.container, sinceSeconds: 600 }, (line) => callbacks.onAgentLog?.(pod, line), following.signal).catch((error: Error) =>
      log.warn({ pod, err: error.message }, "could not follow the agent's log"),
    );
  };

  async function openInbound(pod: string): Promise<void> {
    const onExchange = callbacks.onTraffic ? (port: number, exchange: HttpExchange) => callbacks.onTraffic?.(pod, { ...exchange, port }) : undefined;
    const tunnel = await serveInboundTunnel(
      (handlers) => openPortForward(connection, namespace, pod, plan.controlPort, handlers),
      { workstationPort: (containerPort) => routes.get(containerPort), ...(onExchange ? { onExchange } : {}) },
      plan.token,
      log,
    );
    tunnels.set(pod, tunnel);
    log.info({ pod }, "tunnel up");
    callbacks.onTunnelsChanged?.();
    followLog(pod, tunnel);
    void tunnel.closed.then(() => {
      if (tunnels.get(pod) === tunnel) tunnels.delete(pod);
      log.info({ pod }, "tunnel closed");
      callbacks.onTunnelsChanged?.();
    });
  }

  // One outbound tunnel, to any ready agent pod; reopened on another when it closes.
  async function openOutbound(pod: string): Promise<void> {
    const tunnel = await openOutboundTunnel((handlers) => openPortForward(connection, namespace, pod, plan.outboundPort, handlers), plan.token, log);
    outbound = { pod, tunnel };
    log.info({ pod }, "outbound tunnel up");
    callbacks.onTunnelsChanged?.();
    void tunnel.closed.then(() => {
      if (outbound?.tunnel === tunnel) outbound = undefined;
      log.info({ pod }, "outbound tunnel closed");
      callbacks.onTunnelsChanged?.();
    });
  }

  const noOutbound = (what: string) =>
    new KbridgeError({ code: "tunnel-closed", category: "cluster", message: `Cannot reach ${what}: no outbound tunnel to an agent pod right now.`, hint: "kbridge reopens it within seconds; try again." });

  // While the cluster does not answer, a pass waits, and the next one starts after it.
  let ticks = 0;
  let refreshing = false;
  const refresh = async () => {
    for (const pod of await readyAgentPods(connection, namespace, plan.id)) {
      if (!active) return;
      if (!tunnels.has(pod)) await openInbound(pod);
      if (!outbound && active) await openOutbound(pod);
    }
    // The last of the other developers may have removed the routers as this session arrived: put them back.
    if (plan.isolation && ++ticks % 3 === 0) await routeServices(connection, namespace, plan.isolation.routed, { image: plan.agentImage ?? DEFAULT_AGENT_IMAGE, required: [], log });
  };

  return {
    async open(pods) {
      await Promise.all(pods.map((pod) => openInbound(pod)));
      await openOutbound(pods[0] as string);
    },
    keep() {
      keeper ??= setInterval(() => {
        if (!active || refreshing) return;
        refreshing = true;
        void refresh()
          .catch((error: Error) => log.warn({ err: error.message }, "could not refresh the agent tunnels"))
          .finally(() => (refreshing = false));
      }, KEEP_EVERY_MS);
      keeper.unref();
    },
    async dial(host, port) {
      if (!outbound) throw noOutbound(`${host}:${port}`);
      return outbound.tunnel.dial(host, port);
    },
    files: (mountPath) => (outbound ? outbound.tunnel.files(mountPath) : Promise.reject(noOutbound(`the files under ${mountPath}`))),
    links: () => ({ inbound: [...tunnels.keys()].sort(), outbound: outbound?.pod ?? null }),
    close() {
      active = false;
      logFollowers.abort();
      clearInterval(keeper);
      for (const tunnel of tunnels.values()) tunnel.close();
      outbound?.tunnel.close();
    },
  };
}
