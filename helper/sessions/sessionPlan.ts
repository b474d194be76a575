/**
 * What a connect is asked, what it resolves to (the plan a resume takes over) and what it
 * reports through; with the small pure pieces connect and resume share.
 */
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import type { Duplex } from "node:stream";
import { newHelperKey } from "../agent/helloProof.mjs";
import type { RestoreResult } from "../agent/restore.mjs";
import type { EnvVar } from "../environment/containerEnv.ts";
import type { LocalProcessConfig } from "../environment/localProcessConfig.ts";
import type { KeepOptions } from "../k8s/agentTemplate.ts";
import type { AgentNotice, HelloCredentials } from "../tunnel/muxTunnel.ts";
import type { Logger } from "../logs/logger.ts";
import { KbridgeError, type PodResources, type ResolvedTarget, type SessionStep, type SessionStepName, type SessionView, type TargetRef } from "../protocol/index.ts";
import type { HttpExchange } from "../tunnel/httpObserver.ts";
import { configEndpoints } from "../environment/configFile.ts";
import type { EndpointSettings } from "../endpoints/serviceEndpoints.ts";

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
  /** Requests and limits for kbridge's own pods (restorer, routers) over the defaults. */
  podResources?: Partial<PodResources>;
  inboundPort?: number;
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
  onStep?(step: SessionStep): void;
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
  inboundPort: number;
  outboundPort: number;
  /** The session's key pair (helloProof.mjs): the agent has the public key; the private one stays here (and in the journal). */
  helperKey?: { privateKey: string; publicKey: string };
  /** What sessions of kbridge before the handshake shared with their agent through the session's Secret (read from old journals). */
  token?: string;
  deadmanSeconds: number;
  endpoints?: EndpointSettings;
  envOverrides?: Record<string, string>;
  configFile?: string;
  volumesDir?: string;
  /** The agent's image (the routers use it too). */
  agentImage?: string;
  /** The profile's requests and limits for the restorer and routers (kept for resume's re-routing). */
  podResources?: Partial<PodResources>;
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
  /** An agent turned away someone who claimed this session without its key. */
  onAgentNotice?(pod: string, notice: AgentNotice): void;
  /** An HTTP request the workstation answered (through agent pod `pod`). */
  onTraffic?(pod: string, exchange: HttpExchange & { port: number }): void;
}

export interface ResumeOptions extends SessionCallbacks {
  kubeconfig: string[];
  context: string;
  plan: SessionPlan;
  timeoutMs?: number;
}

export const DEFAULT_AGENT_IMAGE = "node:22-alpine";

/** The plan of a new session: its id, token and ports, and what the options and the config file ask of it. */
export function newPlan(options: ConnectOptions, target: ResolvedTarget, routes: Map<number, number>, routingKey: string | undefined, config: LocalProcessConfig | undefined): SessionPlan {
  const fromConfig = config ? configEndpoints(config, target.namespace) : undefined;
  return {
    id: options.sessionId ?? randomBytes(4).toString("hex"),
    owner: `${os.userInfo().username}@${os.hostname()}`,
    target,
    routes: [...routes],
    inboundPort: options.inboundPort ?? 47000,
    outboundPort: (options.inboundPort ?? 47000) + 1,
    helperKey: newHelperKey(),
    deadmanSeconds: options.deadmanSeconds ?? 30,
    ...(options.endpoints ? { endpoints: { ...options.endpoints, ...(fromConfig ? { otherNamespaces: fromConfig.otherNamespaces, extra: fromConfig.external } : {}) } } : {}),
    ...(options.envOverrides ? { envOverrides: options.envOverrides } : {}),
    ...(options.configFile ? { configFile: options.configFile, volumesDir: options.volumesDir ?? path.join(os.tmpdir(), "kbridge-volumes") } : {}),
    ...(options.agentImage ? { agentImage: options.agentImage } : {}),
    ...(options.podResources ? { podResources: options.podResources } : {}),
    ...(routingKey ? { isolation: { routingKey, urls: [], routed: [] } } : {}),
  };
}

/** Runs one named step of a connect, reporting it running, then done (with a detail) or failed. */
export function stepper(onStep: ConnectOptions["onStep"]) {
  return async <T>(name: SessionStepName, run: () => Promise<T>, detail?: (value: T) => string): Promise<T> => {
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

/** How the helper proves itself to the session's agents: its key, or an older session's token. */
export function helloCredentials(plan: Pick<SessionPlan, "id" | "helperKey" | "token">): HelloCredentials {
  if (plan.helperKey) return { session: plan.id, privateKey: plan.helperKey.privateKey };
  return { token: plan.token ?? "" };
}

/** The workload a plain session replaced (an isolated one replaces none). */
export function workloadOf(plan: SessionPlan): { kind: ResolvedTarget["workload"]["kind"]; name: string } | undefined {
  return plan.isolation ? undefined : { kind: plan.target.workload.kind, name: plan.target.workload.name };
}

/** Container port → workstation port, from the user's mappings of service (or container) ports. */
export function routeTable(target: ResolvedTarget, mappings: PortMapping[]): Map<number, number> {
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
export function restoreSummary(result: RestoreResult, plan: SessionPlan): string {
  const what = result.restored ? `${result.restored} is back and ready` : plan.isolation ? "the isolated agent removed" : "nothing was left to put back";
  return `${what}; the session's objects are gone${result.unrouted.length ? `; no isolation session left, so ${result.unrouted.join(", ")} got their selectors back` : ""}`;
}
