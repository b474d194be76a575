/**
 * The agent in place of a container of a pod template: its image and script, the session's
 * ports and token, readiness its own, and of the container's probes and hooks what the
 * profile keeps.
 */
import type { V1Container, V1PodTemplateSpec } from "@kubernetes/client-node";
import type { PodResources } from "../protocol/index.ts";
import { agentSecurity } from "./podSecurity.ts";
import { ROLE_LABEL, savedOriginalName, SESSION_LABEL, type SessionIdentity } from "./sessionLabels.ts";

/** Where the session's ConfigMap (the agent and restorer scripts) is mounted. */
export const AGENT_MOUNT = "/opt/kbridge";
/** The key of the session's secret in its Secret. */
export const TOKEN_KEY = "agent-token";

export interface AgentOptions {
  image: string;
  /** The restorer puts the workload back when the helper's heartbeat is older than this. */
  deadmanSeconds: number;
  inboundPort: number;
  /** The agent's port for outbound traffic (the helper's multiplexed tunnel, helper/agent/mux.mjs). */
  outboundPort: number;
  /** The session's secret: the agent reads it from the session's Secret and checks the helper has it. */
  token: string;
  keep: KeepOptions;
  /** The namespace assigns user IDs (OpenShift): the agent names none of its own. */
  assignsUsers?: boolean;
  /** The restorer runs as this ServiceAccount of `kbridge setup`; absent: the session makes its own (which needs the right to create Roles). */
  restorerAccount?: string;
  /** The profile's requests and limits for kbridge's own pods (restorer, routers) over the defaults. */
  podResources?: Partial<PodResources>;
}

/**
 * What the agent keeps of the container it replaces (the profile's choice). Kept liveness
 * and startup probes (httpGet, tcpSocket) are answered by the agent itself; readiness is
 * always the agent's own (ready once it listens); kept lifecycle hooks run in the agent's image.
 */
export interface KeepOptions {
  probes: boolean;
  lifecycleHooks: boolean;
}

export function agentTemplate(template: V1PodTemplateSpec, containerName: string, ports: number[], session: SessionIdentity, configMap: string, options: AgentOptions): V1PodTemplateSpec {
  const copy = structuredClone(template);
  copy.metadata = { ...copy.metadata, labels: { ...copy.metadata?.labels, [SESSION_LABEL]: session.id, [ROLE_LABEL]: "agent" }, annotations: { ...copy.metadata?.annotations, [SESSION_LABEL]: session.id } };
  const spec = copy.spec!;
  spec.containers = spec.containers.map((container): V1Container => {
    if (container.name !== containerName) return container;
    const agent: V1Container = {
      ...container,
      image: options.image,
      command: ["node", `${AGENT_MOUNT}/agent.mjs`],
      args: [],
      env: [
        ...(container.env ?? []),
        { name: "KBRIDGE_PORTS", value: ports.join(",") },
        { name: "KBRIDGE_INBOUND_PORT", value: String(options.inboundPort) },
        { name: "KBRIDGE_OUTBOUND_PORT", value: String(options.outboundPort) },
        { name: "KBRIDGE_SESSION", value: session.id },
        { name: "KBRIDGE_TOKEN", valueFrom: { secretKeyRef: { name: savedOriginalName(session.id), key: TOKEN_KEY } } },
      ],
      ports: [
        ...(container.ports ?? []),
        { name: "kbridge-inbound", containerPort: options.inboundPort, protocol: "TCP" },
        { name: "kbridge-outbound", containerPort: options.outboundPort, protocol: "TCP" },
      ],
      volumeMounts: [...(container.volumeMounts ?? []), { name: "kbridge-agent", mountPath: AGENT_MOUNT, readOnly: true }],
      // Ready once the agent listens, whatever the application's own probe checked.
      readinessProbe: { tcpSocket: { port: options.inboundPort }, periodSeconds: 1 },
      securityContext: agentSecurity(container, spec.securityContext, ports, options.assignsUsers === true),
    };
    delete agent.workingDir;
    // Kept liveness and startup probes are answered by the agent itself (KBRIDGE_PROBES), so
    // the pod stays healthy whatever the workstation does; exec and gRPC probes cannot be.
    const answered: { port: number; path?: string }[] = [];
    for (const key of ["livenessProbe", "startupProbe"] as const) {
      const probe = agent[key];
      const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
      const number = typeof port === "number" || /^\d+$/.test(String(port)) ? Number(port) : container.ports?.find((p) => p.name === port)?.containerPort;
      if (!options.keep.probes || !probe || number === undefined) {
        delete agent[key];
        continue;
      }
      answered.push({ port: number, ...(probe.httpGet ? { path: probe.httpGet.path ?? "/" } : {}) });
    }
    if (answered.length > 0) agent.env = [...(agent.env ?? []), { name: "KBRIDGE_PROBES", value: JSON.stringify(answered) }];
    if (!options.keep.lifecycleHooks) delete agent.lifecycle;
    return agent;
  });
  spec.volumes = [...(spec.volumes ?? []), { name: "kbridge-agent", configMap: { name: configMap, defaultMode: 0o444 } }];
  return copy;
}

