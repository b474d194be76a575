/**
 * The agent in place of a container of a pod template: its image and script, the session's
 * ports and token, readiness its own, and of the container's probes and hooks what the
 * profile keeps.
 */
import type { V1Container, V1PodTemplateSpec } from "@kubernetes/client-node";
import type { PodResources } from "../protocol/index.ts";
import { agentSecurity } from "./podSecurity.ts";
import { ROLE_LABEL, SESSION_LABEL, type SessionIdentity } from "./sessionLabels.ts";

/** Where the session's ConfigMap (the agent and restorer scripts) is mounted. */
export const AGENT_MOUNT = "/opt/kbridge";

export interface AgentOptions {
  image: string;
  /** The restorer puts the workload back when the helper's heartbeat is older than this. */
  deadmanSeconds: number;
  inboundPort: number;
  /** The agent's port for outbound traffic (the helper's multiplexed tunnel, helper/agent/mux.mjs). */
  outboundPort: number;
  /** The helper's public key (helloProof.mjs): the agent adopts a tunnel only when the helper signs its challenge. */
  helperKey: string;
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

/** The agent's readiness port, on the pod's address (it only accepts): after the helper's two. */
export const readyPort = (options: Pick<AgentOptions, "inboundPort">) => options.inboundPort + 2;

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
        { name: "KBRIDGE_HELPER_KEY", value: options.helperKey },
        { name: "KBRIDGE_READY_PORT", value: String(readyPort(options)) },
        { name: "KBRIDGE_VOLUME_MOUNTS", value: JSON.stringify((container.volumeMounts ?? []).map((m) => m.mountPath)) },
      ],
      // The helper's ports listen on the pod's loopback (port-forward only): not declared here.
      ports: [...(container.ports ?? []), { name: "kbridge-ready", containerPort: readyPort(options), protocol: "TCP" }],
      volumeMounts: [...(container.volumeMounts ?? []), { name: "kbridge-agent", mountPath: AGENT_MOUNT, readOnly: true }],
      // Ready once the agent listens, whatever the application's own probe checked.
      readinessProbe: { tcpSocket: { port: readyPort(options) }, periodSeconds: 1 },
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

