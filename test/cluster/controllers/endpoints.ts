/**
 * Endpoints and EndpointSlice controller: for every Service with a selector, the pods it
 * selects (ready ones as addresses, others as not-ready), with named target ports
 * resolved against each pod's container ports; headless services carry pod hostnames.
 */
import type { KubeObject, ObjectStore } from "../apiserver/store.ts";
import { arr, controllerRef, isTerminating, kind, mapMatches, obj, podReady, safeHash, save, type Any } from "./objects.ts";

interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  targetPort?: number | string;
  appProtocol?: string;
}

export function reconcileEndpoints(store: ObjectStore): void {
  const services = store.list(kind("Service"));
  const pods = store.list(kind("Pod"));
  for (const service of services) {
    const spec = obj(service.spec);
    const selector = spec.selector as Record<string, string> | undefined;
    if (!selector || Object.keys(selector).length === 0 || spec.type === "ExternalName") continue;
    const selected = pods.filter((pod) => pod.metadata.namespace === service.metadata.namespace && mapMatches(selector, pod.metadata.labels) && obj(pod.status).podIP && !isTerminating(pod));
    const ports = (spec.ports as ServicePort[] | undefined) ?? [];
    writeEndpoints(store, service, selected, ports);
    writeSlice(store, service, selected, ports);
  }
  // Endpoints of deleted services (slices go by garbage collection, they are owned).
  const names = new Set(services.map((s) => `${s.metadata.namespace}/${s.metadata.name}`));
  for (const endpoints of store.list(kind("Endpoints"))) {
    if (!names.has(`${endpoints.metadata.namespace}/${endpoints.metadata.name}`) && endpoints.metadata.labels?.["endpoints.kbridge.dev/managed"] === "true") {
      store.delete(kind("Endpoints"), endpoints.metadata.namespace, endpoints.metadata.name ?? "");
    }
  }
}

/** The container port a service port reaches on `pod` (named target ports resolve per pod). */
export function resolveTargetPort(pod: KubeObject, port: ServicePort): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === "number") return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const container of arr(obj(pod.spec).containers)) {
    const found = arr(container.ports).find((p) => p.name === target);
    if (found) return Number(found.containerPort);
  }
  return undefined;
}

function address(pod: KubeObject, service: KubeObject): Any {
  const spec = obj(pod.spec);
  return {
    ip: obj(pod.status).podIP,
    ...(spec.hostname && spec.subdomain === service.metadata.name ? { hostname: spec.hostname } : {}),
    nodeName: spec.nodeName,
    targetRef: { kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
  };
}

function writeEndpoints(store: ObjectStore, service: KubeObject, pods: KubeObject[], ports: ServicePort[]): void {
  // One subset per distinct resolved port set (pods may name their ports differently).
  const subsets = new Map<string, { addresses: Any[]; notReadyAddresses: Any[]; ports: Any[] }>();
  for (const pod of pods) {
    const resolved = ports.map((port) => ({ name: port.name, port: resolveTargetPort(pod, port), protocol: port.protocol ?? "TCP", ...(port.appProtocol ? { appProtocol: port.appProtocol } : {}) }));
    if (resolved.some((p) => p.port === undefined)) continue;
    const key = JSON.stringify(resolved);
    const subset = subsets.get(key) ?? { addresses: [], notReadyAddresses: [], ports: resolved };
    (podReady(pod) ? subset.addresses : subset.notReadyAddresses).push(address(pod, service));
    subsets.set(key, subset);
  }
  const body = {
    metadata: { name: service.metadata.name, namespace: service.metadata.namespace, labels: { ...service.metadata.labels, "endpoints.kbridge.dev/managed": "true" } },
    subsets: [...subsets.values()].map((s) => ({
      ...(s.addresses.length ? { addresses: s.addresses } : {}),
      ...(s.notReadyAddresses.length ? { notReadyAddresses: s.notReadyAddresses } : {}),
      ports: s.ports,
    })),
  };
  const existing = store.find(kind("Endpoints"), service.metadata.namespace, service.metadata.name ?? "");
  if (existing) save(store, kind("Endpoints"), { ...existing, metadata: { ...existing.metadata, labels: body.metadata.labels }, subsets: body.subsets });
  else store.create(kind("Endpoints"), body);
}

function writeSlice(store: ObjectStore, service: KubeObject, pods: KubeObject[], ports: ServicePort[]): void {
  const name = `${service.metadata.name}-${safeHash(service.metadata.uid, 5)}`;
  const firstPod = pods[0];
  const body = {
    metadata: {
      name,
      namespace: service.metadata.namespace,
      labels: { "kubernetes.io/service-name": service.metadata.name ?? "", "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io" },
      ownerReferences: [controllerRef(service)],
    },
    addressType: "IPv4",
    endpoints: pods.map((pod) => {
      const a = address(pod, service);
      const ready = podReady(pod);
      return { addresses: [a.ip], conditions: { ready, serving: ready, terminating: false }, ...(a.hostname ? { hostname: a.hostname } : {}), nodeName: a.nodeName, targetRef: a.targetRef };
    }),
    ports: ports.map((port) => ({ name: port.name ?? "", port: firstPod ? resolveTargetPort(firstPod, port) : typeof port.targetPort === "number" ? port.targetPort : port.port, protocol: port.protocol ?? "TCP" })),
  };
  const existing = store.find(kind("EndpointSlice"), service.metadata.namespace, name);
  if (existing) save(store, kind("EndpointSlice"), { ...existing, endpoints: body.endpoints, ports: body.ports });
  else store.create(kind("EndpointSlice"), body);
}
