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
import { DEFAULT_AGENT_IMAGE, helloCredentials, type SessionCallbacks, type SessionPlan } from "./sessionPlan.ts";

const KEEP_EVERY_MS = 2000;

export class AgentTunnels {
  private readonly namespace: string;
  private readonly routes: Map<number, number>;
  private readonly inbound = new Map<string, InboundTunnel>();
  private outbound: { pod: string; tunnel: OutboundTunnel } | undefined;
  private active = true;
  private keeper: NodeJS.Timeout | undefined;
  private refreshing = false;
  private ticks = 0;
  private readonly logFollowers = new AbortController();

  constructor(
    private readonly connection: ClusterConnection,
    private readonly plan: SessionPlan,
    private readonly callbacks: SessionCallbacks,
  ) {
    this.namespace = plan.target.namespace;
    this.routes = new Map(plan.routes);
  }

  /** Opens an inbound tunnel to each pod and the outbound one to the first. */
  async open(pods: string[]): Promise<void> {
    await Promise.all(pods.map((pod) => this.openInbound(pod)));
    await this.openOutbound(pods[0] as string);
  }

  /** From now on, tunnels follow the agent pods (every 2 s, one pass at a time). */
  keep(): void {
    this.keeper ??= setInterval(() => {
      if (!this.active || this.refreshing) return;
      this.refreshing = true;
      void this.refresh()
        .catch((error: Error) => this.callbacks.log.warn({ err: error.message }, "could not refresh the agent tunnels"))
        .finally(() => (this.refreshing = false));
    }, KEEP_EVERY_MS);
    this.keeper.unref();
  }

  /** A connection to host:port made by the agent inside the cluster. */
  readonly dial = async (host: string, port: number): Promise<Duplex> => {
    if (!this.outbound) throw noOutbound(`${host}:${port}`);
    return this.outbound.tunnel.dial(host, port);
  };

  /** The files under a path of the agent's container (volumes), through the outbound tunnel. */
  readonly files: OutboundTunnel["files"] = (mountPath) => (this.outbound ? this.outbound.tunnel.files(mountPath) : Promise.reject(noOutbound(`the files under ${mountPath}`)));

  /** Agent pods with an inbound tunnel, and the pod carrying outbound traffic. */
  readonly links = (): { inbound: string[]; outbound: string | null } => ({ inbound: [...this.inbound.keys()].sort(), outbound: this.outbound?.pod ?? null });

  close(): void {
    this.active = false;
    this.logFollowers.abort();
    clearInterval(this.keeper);
    for (const tunnel of this.inbound.values()) tunnel.close();
    this.outbound?.tunnel.close();
  }

  // While the cluster does not answer, a pass waits, and the next one starts after it.
  private async refresh(): Promise<void> {
    for (const pod of await readyAgentPods(this.connection, this.namespace, this.plan.id)) {
      if (!this.active) return;
      if (!this.inbound.has(pod)) await this.openInbound(pod);
      if (!this.outbound && this.active) await this.openOutbound(pod);
    }
    // The last of the other developers may have removed the routers as this session arrived: put them back.
    const { isolation } = this.plan;
    if (isolation && ++this.ticks % 3 === 0) await routeServices(this.connection, this.namespace, isolation.routed, { image: this.plan.agentImage ?? DEFAULT_AGENT_IMAGE, podResources: this.plan.podResources, required: [], log: this.callbacks.log });
  }

  private async openInbound(pod: string): Promise<void> {
    const { callbacks, plan } = this;
    const onExchange = callbacks.onTraffic ? (port: number, exchange: HttpExchange) => callbacks.onTraffic?.(pod, { ...exchange, port }) : undefined;
    const tunnel = await serveInboundTunnel(
      (handlers) => openPortForward(this.connection, this.namespace, pod, plan.inboundPort, handlers),
      { workstationPort: (containerPort) => this.routes.get(containerPort), ...(onExchange ? { onExchange } : {}) },
      helloCredentials(plan),
      callbacks.log,
      (notice) => callbacks.onAgentNotice?.(pod, notice),
    );
    this.inbound.set(pod, tunnel);
    callbacks.log.info({ pod }, "tunnel up");
    callbacks.onTunnelsChanged?.();
    this.followLog(pod, tunnel);
    void tunnel.closed.then(() => {
      if (this.inbound.get(pod) === tunnel) this.inbound.delete(pod);
      callbacks.log.info({ pod }, "tunnel closed");
      callbacks.onTunnelsChanged?.();
    });
  }

  // One outbound tunnel, to any ready agent pod; reopened on another when it closes.
  private async openOutbound(pod: string): Promise<void> {
    const { callbacks, plan } = this;
    const tunnel = await openOutboundTunnel((handlers) => openPortForward(this.connection, this.namespace, pod, plan.outboundPort, handlers), helloCredentials(plan), callbacks.log, (notice) => callbacks.onAgentNotice?.(pod, notice));
    this.outbound = { pod, tunnel };
    callbacks.log.info({ pod }, "outbound tunnel up");
    callbacks.onTunnelsChanged?.();
    void tunnel.closed.then(() => {
      if (this.outbound?.tunnel === tunnel) this.outbound = undefined;
      callbacks.log.info({ pod }, "outbound tunnel closed");
      callbacks.onTunnelsChanged?.();
    });
  }

  /** The agent pod's log, in the session's log while its tunnel lives. */
  private followLog(pod: string, tunnel: InboundTunnel): void {
    const following = new AbortController();
    this.logFollowers.signal.addEventListener("abort", () => following.abort(), { once: true });
    void tunnel.closed.then(() => following.abort());
    const { onAgentLog, log } = this.callbacks;
    if (!onAgentLog) return;
    void followPodLog(this.connection, { namespace: this.namespace, pod, container: this.plan.target.container, sinceSeconds: 600 }, (line) => onAgentLog(pod, line), following.signal).catch((error: Error) =>
      log.warn({ pod, err: error.message }, "could not follow the agent's log"),
    );
  }
}

function noOutbound(what: string): KbridgeError {
  return new KbridgeError({ code: "tunnel-closed", category: "cluster", message: `Cannot reach ${what}: no outbound tunnel to an agent pod right now.`, hint: "kbridge reopens it within seconds; try again." });
}
