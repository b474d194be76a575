/**
 * Security contexts and resources for the pods kbridge creates, so that they pass Pod
 * Security `restricted` and a namespace's quotas: non-root, RuntimeDefault seccomp, no
 * privilege escalation, every capability dropped but NET_BIND_SERVICE where a port below
 * 1024 needs it, and requests and limits. Where the namespace assigns user IDs (OpenShift's
 * `openshift.io/sa.scc.uid-range`), the user is left to it.
 */
import type { V1Container, V1PodSecurityContext, V1ResourceRequirements, V1SecurityContext } from "@kubernetes/client-node";
import { withResourceOverrides, type PodResources, type ResourceRequirements } from "../protocol/index.ts";
import { clusterCall, type ClusterConnection } from "./clusterConnection.ts";

const UID_RANGE_ANNOTATION = "openshift.io/sa.scc.uid-range";
/** The user kbridge's pods run as where nothing else decides. */
export const KBRIDGE_UID = 1000;
const RUNTIME_DEFAULT = { type: "RuntimeDefault" };

/** Whether the namespace hands out user IDs itself (then kbridge names none). */
export async function namespaceAssignsUsers(connection: ClusterConnection, namespace: string): Promise<boolean> {
  // Someone who may not read the namespace object gets kbridge's user (which such clusters then refuse by name).
  const found = await clusterCall(connection, `read namespace ${namespace}`, () => connection.core.readNamespace({ name: namespace }), { notFound: "null" }).catch(() => null);
  return found?.metadata?.annotations?.[UID_RANGE_ANNOTATION] !== undefined;
}

export function ownPodSecurity(assignsUsers: boolean): V1PodSecurityContext {
  return { runAsNonRoot: true, ...(assignsUsers ? {} : { runAsUser: KBRIDGE_UID }), seccompProfile: RUNTIME_DEFAULT };
}

export const OWN_CONTAINER_SECURITY: V1SecurityContext = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };

/** Small, and within any sensible LimitRange: kbridge's restorer and routers (a profile may override them). */
export const RESTORER_RESOURCES: ResourceRequirements = { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "100m", memory: "96Mi" } };
export const ROUTER_RESOURCES: ResourceRequirements = { requests: { cpu: "20m", memory: "48Mi" }, limits: { cpu: "200m", memory: "192Mi" } };

export const restorerResources = (override: Partial<PodResources> | undefined): V1ResourceRequirements => withResourceOverrides(RESTORER_RESOURCES, override);
export const routerResources = (override: Partial<PodResources> | undefined): V1ResourceRequirements => withResourceOverrides(ROUTER_RESOURCES, override);

/**
 * The agent's container security: the replaced container's own where it is compatible
 * (its user if not root, its seccomp profile if confined), non-root, no escalation, every
 * capability dropped but NET_BIND_SERVICE when one of `ports` is below 1024.
 */
export function agentSecurity(container: V1Container, pod: V1PodSecurityContext | undefined, ports: number[], assignsUsers: boolean): V1SecurityContext {
  const own = container.securityContext ?? {};
  const user = own.runAsUser ?? pod?.runAsUser;
  const confined = (type: string | undefined) => type === "RuntimeDefault" || type === "Localhost";
  const seccomp = confined(own.seccompProfile?.type) ? own.seccompProfile : confined(pod?.seccompProfile?.type) ? undefined : RUNTIME_DEFAULT;
  const { privileged: _privileged, ...kept } = own;
  return {
    ...kept,
    runAsNonRoot: true,
    // A root user is replaced; no user at all is left to the pod, or to the namespace where it assigns them.
    ...(user === 0 || (user === undefined && !assignsUsers) ? { runAsUser: KBRIDGE_UID } : {}),
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"], ...(ports.some((port) => port < 1024) ? { add: ["NET_BIND_SERVICE"] } : {}) },
    ...(seccomp ? { seccompProfile: seccomp } : {}),
  };
}
