/**
 * Resolves what the user named (Service, Deployment or Pod) to the workload kbridge
 * replaces: Service → selected pods → owning Deployment (through its ReplicaSet) or
 * StatefulSet, or a bare Pod; the container; and the ports the agent must listen on,
 * with named target ports resolved against the container.
 */
import type { V1Container, V1ObjectMeta, V1Pod, V1PodTemplateSpec, V1ServicePort } from "@kubernetes/client-node";
import { KbridgeError, type ResolvedPort, type ResolvedTarget, type TargetRef } from "../protocol/index.ts";
import { REPLACES_ANNOTATION, ROLE_LABEL, SESSION_LABEL } from "../agent/names.mjs";
import { originalSelector } from "./routers.ts";
import { clusterCall, type ClusterConnection } from "./clusterConnection.ts";
import { refuseClaimed } from "./workloadClaim.ts";

const DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container";
/** Containers that are proxies or helpers beside the application, not the application. */
const SIDECARS = /^(istio-proxy|linkerd-proxy|envoy|envoy-sidecar|cloud-sql-proxy|cloudsql-proxy|vault-agent|dapr|daprd|oauth2-proxy|fluent-bit|fluentd|otel-collector|datadog-agent|kbridge-.*)$/;

interface Workload {
  kind: "Deployment" | "StatefulSet" | "Pod";
  name: string;
  replicas: number;
  template: V1PodTemplateSpec;
}

export async function findTarget(connection: ClusterConnection, ref: TargetRef): Promise<ResolvedTarget> {
  const { namespace } = ref;
  if (ref.kind === "service") return fromService(connection, namespace, ref.name, ref.container ?? "");
  const workload = ref.kind === "deployment" ? await deployment(connection, namespace, ref.name) : await bare(connection, namespace, ref.name);
  const pods = ref.kind === "pod" ? [ref.name] : await podsOf(connection, namespace, workload);
  const container = chooseContainer(workload, ref.container ?? "", []);
  return {
    namespace,
    workload: { kind: workload.kind, name: workload.name, replicas: workload.replicas },
    container: container.name,
    containerReason: container.reason,
    ports: (container.spec.ports ?? []).filter((p) => (p.protocol ?? "TCP") === "TCP").map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: "TCP" })),
    pods,
  };
}

async function fromService(connection: ClusterConnection, namespace: string, name: string, requested: string): Promise<ResolvedTarget> {
  const service = await clusterCall(connection, `read service ${namespace}/${name}`, () => connection.core.readNamespacedService({ name, namespace }), { notFound: "null" });
  if (!service) {
    throw userError("service-not-found", `There is no service "${name}" in namespace "${namespace}" (context ${connection.context}).`, `List the services with: kubectl get services -n ${namespace}`);
  }
  // A Service isolation has routed selects its router; the workload is the one it selected before.
  const selector = originalSelector(service) ?? service.spec?.selector ?? {};
  if (Object.keys(selector).length === 0) {
    throw userError(
      "service-without-selector",
      `The service "${name}" has no selector, so kbridge cannot tell which workload serves it${service.spec?.type === "ExternalName" ? " (it is an ExternalName service)" : ""}.`,
      "Connect the Deployment or Pod behind it instead (Target kind: deployment or pod).",
    );
  }
  const labelSelector = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(",");
  const pods = (await clusterCall(connection, `list the pods of service ${name}`, () => connection.core.listNamespacedPod({ namespace, labelSelector }))).items.filter((p) => !p.metadata?.deletionTimestamp);
  if (pods.length === 0) {
    throw userError("no-pods", `The service "${name}" selects no pods (selector ${labelSelector}).`, `Deploy or scale up its workload first (kubectl get deploy -n ${namespace}).`);
  }
  const owners = new Map<string, Workload>();
  for (const pod of pods) {
    const workload = await ownerOf(connection, namespace, pod);
    owners.set(`${workload.kind}/${workload.name}`, workload);
  }
  if (owners.size > 1) {
    throw userError(
      "ambiguous-workload",
      `The service "${name}" selects pods of several workloads: ${[...owners.keys()].join(", ")}.`,
      "Connect one of those workloads directly (Target kind: deployment or pod).",
    );
  }
  const workload = [...owners.values()][0] as Workload;
  const servicePorts = (service.spec?.ports ?? []).filter((p) => (p.protocol ?? "TCP") === "TCP");
  const container = chooseContainer(workload, requested, servicePorts);
  return {
    namespace,
    service: name,
    workload: { kind: workload.kind, name: workload.name, replicas: workload.replicas },
    container: container.name,
    containerReason: container.reason,
    ports: servicePorts.map((port) => resolvePort(name, port, container.spec)),
    pods: pods.map((p) => p.metadata?.name ?? ""),
  };
}

async function ownerOf(connection: ClusterConnection, namespace: string, pod: V1Pod): Promise<Workload> {
  const owner = controllerOf(pod.metadata);
  if (!owner) return bareFromPod(await notStandIn(connection, namespace, pod));
  if (owner.kind === "ReplicaSet") {
    const rs = await clusterCall(connection, `read replicaset ${owner.name}`, () => connection.apps.readNamespacedReplicaSet({ name: owner.name, namespace }));
    const deploymentOwner = controllerOf(rs.metadata);
    if (deploymentOwner?.kind === "Deployment") return deployment(connection, namespace, deploymentOwner.name);
    throw unsupported(pod, `ReplicaSet "${owner.name}" that no Deployment owns`);
  }
  if (owner.kind === "StatefulSet") {
    const set = await clusterCall(connection, `read statefulset ${owner.name}`, () => connection.apps.readNamespacedStatefulSet({ name: owner.name, namespace }));
    return { kind: "StatefulSet", name: owner.name, replicas: set.spec?.replicas ?? 1, template: set.spec?.template ?? {} };
  }
  throw unsupported(pod, `${owner.kind} "${owner.name}"`);
}

function unsupported(pod: V1Pod, what: string): KbridgeError {
  return userError(
    "unsupported-owner",
    `The pod "${pod.metadata?.name}" is run by a ${what}; kbridge can replace Deployments, StatefulSets and bare Pods.`,
    "Run the service as a Deployment to connect it, or connect a Deployment that serves the same traffic.",
  );
}

function controllerOf(meta: V1ObjectMeta | undefined): { kind: string; name: string } | undefined {
  return meta?.ownerReferences?.find((ref) => ref.controller);
}

async function deployment(connection: ClusterConnection, namespace: string, name: string): Promise<Workload> {
  const found = await clusterCall(connection, `read deployment ${namespace}/${name}`, () => connection.apps.readNamespacedDeployment({ name, namespace }), { notFound: "null" });
  if (!found) throw userError("deployment-not-found", `There is no deployment "${name}" in namespace "${namespace}".`, `List them with: kubectl get deployments -n ${namespace}`);
  return { kind: "Deployment", name, replicas: found.spec?.replicas ?? 1, template: found.spec?.template ?? {} };
}

async function bare(connection: ClusterConnection, namespace: string, name: string): Promise<Workload> {
  const pod = await clusterCall(connection, `read pod ${namespace}/${name}`, () => connection.core.readNamespacedPod({ name, namespace }), { notFound: "null" });
  if (!pod) {
    // Gone because a session's agent pod stands in for it: that session holds it.
    const agents = await clusterCall(connection, `list kbridge's agent pods in ${namespace}`, () => connection.core.listNamespacedPod({ namespace, labelSelector: `${ROLE_LABEL}=agent` }));
    const standIn = agents.items.find((p) => p.metadata?.annotations?.[REPLACES_ANNOTATION] === name);
    if (standIn) await notStandIn(connection, namespace, standIn);
    throw userError("pod-not-found", `There is no pod "${name}" in namespace "${namespace}".`, `List them with: kubectl get pods -n ${namespace}`);
  }
  if (controllerOf(pod.metadata)) {
    const owner = controllerOf(pod.metadata);
    throw userError("pod-has-owner", `The pod "${name}" belongs to ${owner?.kind} "${owner?.name}", which would replace it.`, "Connect its Service or Deployment instead.");
  }
  return bareFromPod(pod);
}

/** A bare pod that is a session's agent standing in for another is that other pod, held by the session: refused. */
async function notStandIn(connection: ClusterConnection, namespace: string, pod: V1Pod): Promise<V1Pod> {
  const replaces = pod.metadata?.annotations?.[REPLACES_ANNOTATION];
  const holder = pod.metadata?.labels?.[SESSION_LABEL];
  if (replaces && holder) throw await refuseClaimed(connection, namespace, `pod/${replaces}`, holder);
  return pod;
}

function bareFromPod(pod: V1Pod): Workload {
  return { kind: "Pod", name: pod.metadata?.name ?? "", replicas: 1, template: { metadata: pod.metadata, spec: pod.spec } };
}

async function podsOf(connection: ClusterConnection, namespace: string, workload: Workload): Promise<string[]> {
  const labels = workload.template.metadata?.labels ?? {};
  const labelSelector = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",");
  if (!labelSelector) return [];
  const pods = await clusterCall(connection, `list the pods of ${workload.kind} ${workload.name}`, () => connection.core.listNamespacedPod({ namespace, labelSelector }));
  return pods.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata?.name ?? "");
}

/** --container, else the default-container annotation, else the only (non-sidecar) container, else the one serving the service's ports. */
export function chooseContainer(workload: Workload, requested: string, servicePorts: V1ServicePort[]): { name: string; spec: V1Container; reason: ResolvedTarget["containerReason"] } {
  const containers = workload.template.spec?.containers ?? [];
  const names = containers.map((c) => c.name);
  const pick = (name: string, reason: ResolvedTarget["containerReason"]) => ({ name, spec: containers.find((c) => c.name === name) as V1Container, reason });
  if (requested) {
    if (!names.includes(requested)) throw userError("container-not-found", `${workload.kind} "${workload.name}" has no container "${requested}".`, `Its containers are: ${names.join(", ")}.`);
    return pick(requested, "requested");
  }
  const annotated = workload.template.metadata?.annotations?.[DEFAULT_CONTAINER];
  if (annotated && names.includes(annotated)) return pick(annotated, "default-container annotation");
  if (containers.length === 1) return pick(names[0] as string, "only container");
  const applications = containers.filter((c) => !SIDECARS.test(c.name));
  if (applications.length === 1) return pick(applications[0]?.name as string, "only non-sidecar container");
  const serving = applications.filter((c) => servicePorts.length > 0 && servicePorts.every((port) => servesPort(c, port)));
  if (serving.length === 1) return pick(serving[0]?.name as string, "serves the service's ports");
  throw userError(
    "ambiguous-container",
    `${workload.kind} "${workload.name}" has several containers (${names.join(", ")}) and kbridge cannot tell which one to replace.`,
    `Choose one with --container (or the profile's Container field), or annotate the pod template with ${DEFAULT_CONTAINER}.`,
  );
}

function servesPort(container: V1Container, port: V1ServicePort): boolean {
  const target = port.targetPort ?? port.port;
  return (container.ports ?? []).some((p) => (typeof target === "number" || /^\d+$/.test(String(target)) ? p.containerPort === Number(target) : p.name === target));
}

function resolvePort(service: string, port: V1ServicePort, container: V1Container): ResolvedPort {
  const target = port.targetPort ?? port.port;
  if (typeof target === "number" || /^\d+$/.test(String(target))) return { servicePort: port.port, name: port.name, containerPort: Number(target), protocol: "TCP" };
  const named = (container.ports ?? []).find((p) => p.name === target);
  if (!named) {
    throw userError("target-port-not-found", `The service "${service}" sends port ${port.port} to the container port named "${target}", which container "${container.name}" does not declare.`, "Fix the service's targetPort or the container's ports.");
  }
  return { servicePort: port.port, name: port.name, containerPort: named.containerPort, protocol: "TCP" };
}

function userError(code: string, message: string, hint: string): KbridgeError {
  return new KbridgeError({ code, category: "user", message, hint });
}
