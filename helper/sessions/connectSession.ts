/**
 * A connect, end to end: resolve the target, save and replace it with the agent, wait for
 * the agent pods, keep one tunnel per agent pod (every replica forwards), and restore on
 * disconnect — or at once when any step after the change fails, leaving the cluster as it was.
 * Past 400 lines: `attach` (tunnels, endpoints, environment) is one long function that issue
 * 18 splits.
 */
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import type { Duplex } from "node:stream";
import { KbridgeError, type ResolvedTarget, type SessionView, type TargetRef } from "../protocol/index.ts";
import type { Logger } from "../logging/logger.ts";
import { clusterCall, openCluster, type ClusterConnection } from "../k8s/clusterConnection.ts";
import { findTarget } from "../k8s/findTarget.ts";
import { agentPods, renewHeartbeat, replaceWithAgent, waitForAgentPods, waitForOriginalsRetired, type KeepOptions, type SessionIdentity } from "../k8s/agentWorkload.ts";
import { startHeartbeat, type Heartbeat } from "./heartbeat.ts";
import { openPortForward } from "../k8s/portForward.ts";
import { followPodLog } from "../k8s/podLogs.ts";
import { serveInboundTunnel, type InboundTunnel } from "../tunnel/inboundTunnel.ts";
import { openOutboundTunnel, type OutboundTunnel } from "../tunnel/outboundTunnel.ts";
import type { HttpExchange } from "../tunnel/httpObserver.ts";
import { startServiceEndpoints, type EndpointSettings, type ServiceEndpoints } from "./serviceEndpoints.ts";
import { buildEnvironment, type EnvVar } from "../environment/containerEnv.ts";
import { readEnvironmentSources, type EnvironmentSources } from "../k8s/podEnvironment.ts";
import { readLocalProcessConfig, type LocalProcessConfig } from "../environment/localProcessConfig.ts";
import { applyConfig, configEndpoints, type AppliedConfig } from "./configFile.ts";
import { checkIsolation, routeIsolation, startIsolatedAgent } from "../k8s/isolation.ts";
import { restoreSession } from "../k8s/sessionRestore.ts";
import { checkRouting } from "./routeCheck.ts";
import type { RestoreResult } from "../agent/restore.mjs";
import { routeServices } from "../k8s/routers.ts";
import { defaultRoutingKey } from "../routing/routingKey.ts";

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
  /** Map the cluster's services onto the workstation (absent: inbound only). */
  endpoints?: EndpointSettings;
  /** The profile's environment overrides. */
  envOverrides?: Record<string, string>;
  /** A KubernetesLocalProcessConfig.yaml to apply (absolute path). */
  configFile?: string;
  /** Isolation: only requests with this routing key (empty: <user>-<4 hex>) reach the workstation. */
  isolate?: { routingKey: string };
  /** Where the config file's volumes go when it names no localPath. */
  volumesDir?: string;
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
  /** Agent pods with a live inbound tunnel. */
  tunnels(): string[];
  /** The live tunnels: agent pods with an inbound tunnel, and the pod carrying outbound traffic. */
  links(): { inbound: string[]; outbound: string | null };
  /** A connection to host:port made by the agent inside the cluster (outbound traffic). */
  dial(host: string, port: number): Promise<Duplex>;
  /** The cluster services mapped onto the workstation (when the session maps them). */
  endpoints(): SessionView["endpoints"];
  /** Isolation mode: the routing key, personal URLs and routed Services. */
  isolation?: SessionView["isolation"];
  /** The environment for the workstation process (follows the mapped endpoints). */
  environment(): EnvVar[];
  disconnect(): Promise<void>;
}

/**
 * What a session needs to be taken over by another helper process (resume): resolved once
 * by connect, journalled by the session manager.
 */
export interface SessionPlan {
  id: string;
  owner: string;
  target: ResolvedTarget;
  /** [container port, workstation port] */
  routes: [number, number][];
  controlPort: number;
  outboundPort: number;
  /** The session's secret, shared with the agent through the session's Secret. */
  token: string;
  deadmanSeconds: number;
  endpoints?: EndpointSettings;
  envOverrides?: Record<string, string>;
  configFile?: string;
  volumesDir?: string;
  /** The agent's image (the routers use it too). */
  agentImage?: string;
  /** Isolation mode: the routing key; the personal URLs and routed Services once routed. */
  isolation?: { routingKey: string; urls: string[]; routed: string[] };
}

/** What connect and resume report through. */
export interface SessionCallbacks {
  log: Logger;
  onStep?: ConnectOptions["onStep"];
  /** The heartbeat found the session's objects gone: the cluster restored itself, or someone cleaned it. */
  onLost?(): void;
  /** The cluster stopped answering the heartbeat (`since`, why), or answers again (null). */
  onClusterUnreachable?(outage: { since: Date; error: string } | null): void;
  /** The mapped cluster services changed (a service added or removed while connected). */
  onEndpointsChanged?(): void;
  /** A tunnel to an agent pod opened or closed. */
  onTunnelsChanged?(): void;
  /** A line of an agent pod's log. */
  onAgentLog?(pod: string, line: string): void;
  /** An HTTP request the workstation answered (through agent pod `pod`). */
  onTraffic?(pod: string, exchange: HttpExchange & { port: number }): void;
}

export interface ResumeOptions extends SessionCallbacks {
  kubeconfig: string[];
  context: string;
  plan: SessionPlan;
  timeoutMs?: number;
}

const DEFAULT_AGENT_IMAGE = "node:22-alpine";

function stepper(onStep: ConnectOptions["onStep"]) {
  return async <T>(name: string, run: () => Promise<T>, detail?: (value: T) => string): Promise<T> => {
    const started = Date.now();
    onStep?.({ name, status: "running" });
    try {
      const value = await run();
      onStep?.({ name, status: "done", ms: Date.now() - started, detail: detail?.(value) });
      return value;
    } catch (error) {
      onStep?.({ name, status: "failed", ms: Date.now() - started, detail: (error as Error).message });
      throw error;
    }
  };
}

export async function connect(options: ConnectOptions & Omit<SessionCallbacks, "log"> & { onPlan?(plan: SessionPlan): void }): Promise<ConnectedSession> {
  const step = stepper(options.onStep);
  // A broken config file fails here, before anything in the cluster changes.
  const config = options.configFile
    ? await step(
        "read config file",
        async () => readLocalProcessConfig(options.configFile as string),
        (c) => `${c.env.length} variable(s), ${c.volumeMounts.length} volume(s)${c.warnings.length ? `; ${c.warnings.join("; ")}` : ""}`,
      )
    : undefined;
  const connection = openCluster(options.kubeconfig, options.context);
  const target = await step("resolve target", () => findTarget(connection, options.target), (t) => `${t.workload.kind} ${t.workload.name}, container ${t.container} (${t.containerReason}), ${t.workload.replicas} replica(s)`);
  const routes = routeTable(target, options.ports);
  const routingKey = options.isolate ? options.isolate.routingKey || defaultRoutingKey(os.userInfo().username) : undefined;
  if (routingKey) await step("check isolation", () => checkIsolation(connection, target, routingKey), () => `routing key ${routingKey}`);
  const fromConfig = config ? configEndpoints(config, target.namespace) : undefined;
  const plan: SessionPlan = {
    id: options.sessionId ?? randomBytes(4).toString("hex"),
    owner: `${os.userInfo().username}@${os.hostname()}`,
    target,
    routes: [...routes],
    controlPort: options.controlPort ?? 47000,
    outboundPort: (options.controlPort ?? 47000) + 1,
    token: randomBytes(24).toString("base64url"),
    deadmanSeconds: options.deadmanSeconds ?? 30,
    ...(options.endpoints ? { endpoints: { ...options.endpoints, ...(fromConfig ? { otherNamespaces: fromConfig.otherNamespaces, extra: fromConfig.external } : {}) } } : {}),
    ...(options.envOverrides ? { envOverrides: options.envOverrides } : {}),
    ...(options.configFile ? { configFile: options.configFile, volumesDir: options.volumesDir ?? path.join(os.tmpdir(), "kbridge-volumes") } : {}),
    ...(options.agentImage ? { agentImage: options.agentImage } : {}),
    ...(routingKey ? { isolation: { routingKey, urls: [], routed: [] } } : {}),
  };
  options.onPlan?.(plan);
  const session: SessionIdentity = { id: plan.id, owner: plan.owner, expiresAt: new Date(Date.now() + 8 * 3600_000) };
  const log = options.log.child({ session: session.id });
  const namespace = target.namespace;
  const heartbeat = startHeartbeat(connection, plan, log, options.onClusterUnreachable);
  try {
    const agentOptions = { image: plan.agentImage ?? DEFAULT_AGENT_IMAGE, controlPort: plan.controlPort, outboundPort: plan.outboundPort, token: plan.token, keep: { probes: (options.keep?.probes ?? false) || (config?.features.probes ?? false), lifecycleHooks: (options.keep?.lifecycleHooks ?? false) || (config?.features.lifecycleHooks ?? false) }, deadmanSeconds: plan.deadmanSeconds };
    const timeoutMs = options.timeoutMs ?? 60_000;
    let pods: string[];
    if (plan.isolation) {
      const isolation = plan.isolation;
      // The workload keeps serving: the agent is a new pod, and routers send it only the key's requests.
      await step("deploy agent", () => startIsolatedAgent(connection, target, session, isolation.routingKey, agentOptions), (pod) => `${pod}, a clone of ${target.workload.kind.toLowerCase()} ${target.workload.name}'s pod`);
      pods = await step("wait for agent pods", () => waitForAgentPods(connection, namespace, session.id, 1, timeoutMs), (p) => `${p.join(", ")} ready`);
      const { routed, urls } = await step(
        "route requests",
        () => routeIsolation(connection, target, session, isolation.routingKey, { image: agentOptions.image, log }),
        (r) => `routers in front of ${r.routed.join(", ")}; ${r.urls.length ? `personal URL(s) ${r.urls.join(", ")}` : "no ingress host, so no personal URL"}`,
      );
      plan.isolation = { ...isolation, routed, urls };
      options.onPlan?.(plan);
    } else {
      // Inside the rollback: a failure half-way through the replacement (a forbidden Role, say) is undone too.
      const { podLabels } = await step("deploy agent", () => replaceWithAgent(connection, target, session, agentOptions));
      pods = await step(
        "wait for agent pods",
        async () => {
          const deadline = Date.now() + timeoutMs;
          const ready = await waitForAgentPods(connection, namespace, session.id, target.workload.replicas, timeoutMs);
          await waitForOriginalsRetired(connection, namespace, podLabels, session.id, Math.max(1000, deadline - Date.now()));
          return ready;
        },
        (p) => `${p.join(", ")} ready; the workload's own pods retired`,
      );
    }
    return await attach(connection, plan, pods, heartbeat, { ...options, log }, config);
  } catch (error) {
    heartbeat.stop();
    try {
      await restoreSession(connection, namespace, session.id, { workload: workloadOf(plan), log });
    } catch (restoreError) {
      // What failed first is what the user needs, and that the cluster is not back yet.
      log.error({ err: (restoreError as Error).message }, "connect failed, and so did undoing it");
      const info = error instanceof KbridgeError ? error.info : { code: "connect-failed", category: "cluster" as const, message: `Connect failed: ${(error as Error).message}.` };
      throw new KbridgeError(
        { ...info, message: `${info.message} Undoing what connect had changed failed too: ${(restoreError as Error).message}`, hint: "Run `kbridge clean` to finish putting the cluster back (the session's restorer pod also retries on its own)." },
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Takes over a session a stopped helper left in the cluster: renews its heartbeat before
 * the restorer gives up on it, and opens tunnels to its agent pods again.
 */
export async function resume(options: ResumeOptions): Promise<ConnectedSession> {
  const step = stepper(options.onStep);
  const { plan } = options;
  const connection = openCluster(options.kubeconfig, options.context);
  const log = options.log.child({ session: plan.id });
  const namespace = plan.target.namespace;
  const heartbeat = startHeartbeat(connection, plan, log, options.onClusterUnreachable);
  await step("reclaim session", async () => {
    if (!(await renewHeartbeat(connection, namespace, plan.id, heartbeat.next()))) {
      throw new KbridgeError({
        code: "session-gone",
        category: "cluster",
        message: `Session ${plan.id} is no longer in the cluster: its restorer already put ${plan.target.workload.kind} ${plan.target.workload.name} back.`,
        hint: "Connect again.",
      });
    }
  }).catch((error: unknown) => {
    heartbeat.stop();
    throw error;
  });
  try {
    const pods = await step("wait for agent pods", () => waitForAgentPods(connection, namespace, plan.id, plan.isolation ? 1 : plan.target.workload.replicas, options.timeoutMs ?? 60_000), (p) => `${p.join(", ")} ready`);
    return await attach(connection, plan, pods, heartbeat, { ...options, log });
  } catch (error) {
    // The agent is still in place: leave it to a clean or to the restorer, as before the resume.
    heartbeat.stop();
    throw error;
  }
}

/** The workload a plain session replaced (an isolated one replaces none). */
function workloadOf(plan: SessionPlan): { kind: ResolvedTarget["workload"]["kind"]; name: string } | undefined {
  return plan.isolation ? undefined : { kind: plan.target.workload.kind, name: plan.target.workload.name };
}

/** Opens a tunnel to every agent pod and keeps them: the connected part of a session. */
/** `config`: the plan's config file as connect already read it (a resume reads it again). */
async function attach(connection: ClusterConnection, plan: SessionPlan, pods: string[], heartbeat: Heartbeat, callbacks: SessionCallbacks, config?: LocalProcessConfig): Promise<ConnectedSession> {
  const step = stepper(callbacks.onStep);
  const { log } = callbacks;
  const namespace = plan.target.namespace;
  const routes = new Map(plan.routes);
  const tunnels = new Map<string, InboundTunnel>();
  let active = true;

  // Each agent pod's log, followed while its tunnel lives.
  const logFollowers = new AbortController();
  async function openTunnel(pod: string): Promise<void> {
    const tunnel = await serveInboundTunnel(
      (handlers) => openPortForward(connection, namespace, pod, plan.controlPort, handlers),
      { workstationPort: (containerPort) => routes.get(containerPort), ...(callbacks.onTraffic ? { onExchange: (port: number, exchange: HttpExchange) => callbacks.onTraffic?.(pod, { ...exchange, port }) } : {}) },
      plan.token,
      log,
    );
    tunnels.set(pod, tunnel);
    log.info({ pod }, "tunnel up");
    callbacks.onTunnelsChanged?.();
    const following = new AbortController();
    logFollowers.signal.addEventListener("abort", () => following.abort(), { once: true });
    if (callbacks.onAgentLog) {
      void followPodLog(connection, { namespace, pod, container: plan.target.container, sinceSeconds: 600 }, (line) => callbacks.onAgentLog?.(pod, line), following.signal).catch((error: Error) =>
        log.warn({ pod, err: error.message }, "could not follow the agent's log"),
      );
    }
    void tunnel.closed.then(() => {
      following.abort();
      if (tunnels.get(pod) === tunnel) tunnels.delete(pod);
      log.info({ pod }, "tunnel closed");
      callbacks.onTunnelsChanged?.();
    });
  }
  // One outbound tunnel, to any ready agent pod; reopened on another when it closes.
  let outbound: { pod: string; tunnel: OutboundTunnel } | undefined;
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
  const dial = async (host: string, port: number): Promise<Duplex> => {
    if (!outbound) {
      throw new KbridgeError({ code: "tunnel-closed", category: "cluster", message: `Cannot reach ${host}:${port}: no outbound tunnel to an agent pod right now.`, hint: "kbridge reopens it within seconds; try again." });
    }
    return outbound.tunnel.dial(host, port);
  };
  let services: ServiceEndpoints | undefined;
  let environment: EnvVar[] = [];
  let envSources: EnvironmentSources | undefined;
  let applied: AppliedConfig | undefined;
  const rebuildEnvironment = async () => {
    if (envSources) environment = await buildEnvironment({ ...envSources, endpoints: services?.list() ?? [], overrides: plan.envOverrides, ...(applied ? { configFile: applied.env } : {}) });
  };
  const shutDown = async () => {
    active = false;
    logFollowers.abort();
    clearInterval(keeper);
    heartbeat.stop();
    await services?.close().catch((error: Error) => log.warn({ err: error.message }, "could not unmap the cluster services"));
    for (const tunnel of tunnels.values()) tunnel.close();
    outbound?.tunnel.close();
  };

  // Agent pods come and go (scale, eviction): keep a tunnel to every ready one. One pass at a
  // time: while the cluster does not answer, a pass waits, and the next one starts after it.
  let keeperTicks = 0;
  let refreshing = false;
  const keeper = setInterval(() => {
    if (!active || refreshing) return;
    refreshing = true;
    void (async () => {
      const list = await clusterCall(connection, "list the agent pods", () => connection.core.listNamespacedPod({ namespace, labelSelector: agentPods(plan.id) }));
      for (const pod of list.items) {
        const name = pod.metadata?.name ?? "";
        const ready = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
        if (!ready || pod.metadata?.deletionTimestamp || !active) continue;
        if (!tunnels.has(name)) await openTunnel(name);
        if (!outbound && active) await openOutbound(name);
      }
      // The last of the other developers may have removed the routers as this session arrived: put them back.
      if (plan.isolation && ++keeperTicks % 3 === 0) await routeServices(connection, namespace, plan.isolation.routed, { image: plan.agentImage ?? DEFAULT_AGENT_IMAGE, required: [], log });
    })()
      .catch((error: Error) => log.warn({ err: error.message }, "could not refresh the agent tunnels"))
      .finally(() => (refreshing = false));
  }, 2000);
  keeper.unref();

  try {
    await step(
      "open tunnels",
      async () => {
        await Promise.all(pods.map((pod) => openTunnel(pod)));
        await openOutbound(pods[0] as string);
      },
      () => `${tunnels.size} inbound, 1 outbound`,
    );
    const isolation = plan.isolation;
    const servicePort = plan.target.ports.find((p) => p.servicePort !== undefined)?.servicePort;
    if (isolation && plan.target.service && servicePort !== undefined) {
      await step("check routing", () =>
        checkRouting({
          dial,
          service: plan.target.service as string,
          namespace,
          port: servicePort,
          sessionId: plan.id,
          routingKey: isolation.routingKey,
          personalHosts: isolation.urls.map((url) => new URL(url).hostname),
        }),
        (detail) => detail,
      );
    }
    const settings = plan.endpoints;
    if (settings) {
      services = await step(
        "map services",
        () =>
          startServiceEndpoints({
            connection,
            namespace,
            settings,
            dial,
            log,
            onChange: () => {
              void rebuildEnvironment().then(
                () => callbacks.onEndpointsChanged?.(),
                (error: Error) => log.warn({ err: error.message }, "could not rebuild the environment"),
              );
            },
          }),
        (mapped) => `${mapped.list().length} cluster service(s) ${mapped.mode === "hosts" ? `on 127.1.x addresses, named in ${settings.hostsFile}` : `on 127.0.0.1 ports${mapped.reason ? ` (${mapped.reason})` : ""}`}`,
      );
    }
    const sources = await readEnvironmentSources(connection, namespace, pods[0] as string, plan.target.container);
    const configFile = plan.configFile;
    if (configFile) {
      applied = await step(
        "apply config file",
        () =>
          applyConfig({
            config: config ?? readLocalProcessConfig(configFile),
            namespace,
            volumeMounts: sources.volumeMounts,
            endpoints: services?.list() ?? [],
            files: (mountPath) => (outbound ? outbound.tunnel.files(mountPath) : Promise.reject(new KbridgeError({ code: "tunnel-closed", category: "cluster", message: "No outbound tunnel to download volumes through." }))),
            volumesDir: path.join(plan.volumesDir ?? os.tmpdir(), plan.id),
          }),
        (a) => `${Object.keys(a.env).length} variable(s)${a.volumes.map((v) => `; volume ${v.name} (${v.files} file(s)) in ${v.localPath}`).join("")}`,
      );
    }
    envSources = sources;
    await step(
      "read environment",
      () => rebuildEnvironment(),
      () => `${environment.length} variables, ${environment.filter((v) => v.secret).length} from secrets`,
    );
  } catch (error) {
    await shutDown();
    throw error;
  }
  heartbeat.arm(() => {
    if (!active) return;
    void shutDown().then(() => callbacks.onLost?.());
  });
  callbacks.onStep?.({ name: "connected", status: "done" });
  let disconnecting: Promise<void> | undefined;
  return {
    id: plan.id,
    target: plan.target,
    tunnels: () => [...tunnels.keys()],
    links: () => ({ inbound: [...tunnels.keys()].sort(), outbound: outbound?.pod ?? null }),
    dial,
    environment: () => environment.map((v) => ({ ...v })),
    ...(plan.isolation ? { isolation: plan.isolation } : {}),
    endpoints: () => (services ? { mode: services.mode, ...(services.reason ? { reason: services.reason } : {}), list: services.list() } : undefined),
    // One restore however many ask: a second caller waits for the first one's.
    disconnect() {
      disconnecting ??= (async () => {
        if (!active) return;
        await shutDown();
        await step(
          "restore",
          () => restoreSession(connection, namespace, plan.id, { workload: workloadOf(plan), log, progress: (detail) => callbacks.onStep?.({ name: "restore", status: "running", detail }) }),
          (result) => restoreSummary(result, plan),
        );
      })();
      return disconnecting;
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

/** What a restore did, in a line. */
function restoreSummary(result: RestoreResult, plan: SessionPlan): string {
  const what = result.restored ? `${result.restored} is back and ready` : plan.isolation ? "the isolated agent removed" : "nothing was left to put back";
  return `${what}; the session's objects are gone${result.unrouted.length ? `; no isolation session left, so ${result.unrouted.join(", ")} got their selectors back` : ""}`;
}
