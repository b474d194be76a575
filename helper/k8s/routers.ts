/**
 * Isolation's routers in the cluster: one small Deployment per routed Service (the router
 * script of helper/agent/router.mjs on the stock node image), put in front of the Service
 * by pointing its selector at the router's pods once they are ready — the original selector
 * saved in an annotation on the Service. Routers are shared by every developer isolating in
 * the namespace, so they carry no session label; the last session leaving (or its restorer)
 * removes them, selectors first (helper/agent/restore.mjs unrouteIfIdle).
 */
import fs from "node:fs";
import { isDeepStrictEqual } from "node:util";
import type { V1Deployment, V1Ingress, V1Service } from "@kubernetes/client-node";
import { KbridgeError, type PodResources } from "../protocol/index.ts";
import type { Logger } from "../logs/logger.ts";
import { ORIGINAL_SELECTOR_ANNOTATION, ROUTE_FROM_LABEL, ROUTER_LABEL, ROUTER_SHARED as SHARED, ROUTING_KEY_LABEL } from "../agent/names.mjs";
import { MANAGED_BY, ROLE_LABEL } from "./sessionLabels.ts";
import { clusterCall, type ClusterConnection } from "./clusterConnection.ts";
import { isPodReady } from "./podStatus.ts";
import { setupPresent } from "./setup.ts";
import { ensureRouterPolicies } from "./routerPolicies.ts";
import { namespaceAssignsUsers, OWN_CONTAINER_SECURITY, ownPodSecurity, routerResources } from "./podSecurity.ts";

export { ORIGINAL_SELECTOR_ANNOTATION, ROUTE_FROM_LABEL, ROUTER_LABEL, ROUTING_KEY_LABEL };
/** The router and the module it imports, as the routers' ConfigMap carries them. */
const ROUTER_SCRIPTS = ["router.mjs", "httpFraming.mjs", "podMirror.mjs"];
const ROUTER_MOUNT = "/opt/kbridge";
const READY_TIMEOUT_MS = 60_000;

const routerLabels = { ...MANAGED_BY, [ROLE_LABEL]: "router" };
export const routerDeploymentName = (service: string) => `kbridge-router-${service}`.slice(0, 253);

/** The selector a Service has while it is routed; its original saved on the Service, or undefined. */
export function originalSelector(service: V1Service): Record<string, string> | undefined {
  const saved = service.metadata?.annotations?.[ORIGINAL_SELECTOR_ANNOTATION];
  return saved ? (JSON.parse(saved) as Record<string, string>) : undefined;
}

/** The Services the given ingresses send requests to. */
export function ingressBackends(ingresses: V1Ingress[]): string[] {
  const names = new Set<string>();
  for (const ingress of ingresses) {
    const fallback = ingress.spec?.defaultBackend?.service?.name;
    if (fallback) names.add(fallback);
    for (const rule of ingress.spec?.rules ?? []) for (const path of rule.http?.paths ?? []) if (path.backend.service?.name) names.add(path.backend.service.name);
  }
  return [...names].sort();
}

/**
 * Puts a router in front of each Service (those already routed keep theirs). Services that
 * cannot be routed — headless, without a selector, without pods to resolve a named port —
 * are skipped with a warning, unless `required` names them: then it is an error.
 */
export async function routeServices(connection: ClusterConnection, namespace: string, services: string[], options: { image: string; podResources?: Partial<PodResources>; required: string[]; log: Logger }): Promise<string[]> {
  const routed: string[] = [];
  for (const name of services) {
    try {
      await routeService(connection, namespace, name, options.image, options.podResources);
      routed.push(name);
    } catch (error) {
      if (options.required.includes(name) || !(error instanceof KbridgeError) || error.info.category !== "user") throw error;
      options.log.warn({ service: name, reason: error.message }, "not routing this service");
    }
  }
  return routed;
}

async function routeService(connection: ClusterConnection, namespace: string, name: string, image: string, podResources: Partial<PodResources> | undefined): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const service = await clusterCall(connection, `read service ${name}`, () => connection.core.readNamespacedService({ name, namespace }));
    const saved = originalSelector(service);
    const selector = saved ?? service.spec?.selector ?? {};
    const cannot = (why: string) => new KbridgeError({ code: "service-not-routable", category: "user", message: `Service ${namespace}/${name} cannot be isolated: ${why}.`, hint: "Isolation routes HTTP requests of Services that select pods; connect without isolation instead." });
    if (Object.keys(selector).length === 0) throw cannot("it has no selector");
    if (service.spec?.clusterIP === "None") throw cannot("it is headless (clients reach its pods by their own addresses, so no router can stand in front)");
    await ensureRouter(connection, namespace, name, selector, () => routerPorts(connection, namespace, service, selector, cannot), image, podResources);
    await ensureRouterPolicies(connection, namespace, name, selector);
    // Routed already — unless someone put a selector back meanwhile (a `kubectl apply` of the Service): then it is pointed again.
    const pointed = JSON.stringify(service.spec?.selector ?? {}) === JSON.stringify({ [ROUTER_LABEL]: name });
    if (saved && pointed) return;
    await waitForRouter(connection, namespace, name);
    // Selectors are replaced, never merged: the router's pods are all the routed Service selects.
    const body: V1Service = {
      ...service,
      metadata: { ...service.metadata, annotations: { ...service.metadata?.annotations, [ORIGINAL_SELECTOR_ANNOTATION]: JSON.stringify(selector) } },
      spec: { ...service.spec, selector: { [ROUTER_LABEL]: name } },
    };
    // A conflict: another developer's helper routed it meanwhile (or someone edited it); read again.
    const replaced = await clusterCall(connection, `point service ${name} at its router`, () => connection.core.replaceNamespacedService({ name, namespace, body }), { conflict: "null" });
    if (replaced) return;
    if (attempt >= 5) throw new KbridgeError({ code: "service-conflict", category: "cluster", message: `Service ${namespace}/${name} kept changing while kbridge routed it.`, hint: "Try again." });
  }
}

interface RouterPort {
  /** Where the router listens (the number the Service's targetPort resolves to). */
  port: number;
  /** A named targetPort keeps its name on the router's container, so the Service still resolves it. */
  name?: string;
  /** What the router forwards to on the original pods (and agents): the Service's targetPort. */
  targetPort: number | string;
}

async function routerPorts(connection: ClusterConnection, namespace: string, service: V1Service, selector: Record<string, string>, cannot: (why: string) => KbridgeError): Promise<RouterPort[]> {
  const ports: RouterPort[] = [];
  let pods: Awaited<ReturnType<ClusterConnection["core"]["listNamespacedPod"]>> | undefined;
  for (const port of service.spec?.ports ?? []) {
    if ((port.protocol ?? "TCP") !== "TCP") continue;
    const target = port.targetPort ?? port.port;
    if (typeof target === "number" || /^\d+$/.test(String(target))) {
      ports.push({ port: Number(target), targetPort: Number(target) });
      continue;
    }
    pods ??= await clusterCall(connection, "list the service's pods", () => connection.core.listNamespacedPod({ namespace, labelSelector: Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(",") }));
    const number = pods.items.flatMap((pod) => pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []).find((p) => p.name === target)?.containerPort;
    if (number === undefined) throw cannot(`no pod declares its target port "${target}"`);
    ports.push({ port: number, name: String(target), targetPort: String(target) });
  }
  const unique = [...new Map(ports.map((p) => [p.port, p])).values()];
  if (unique.length === 0) throw cannot("it has no TCP port");
  return unique;
}

/** The router's Deployment (and the objects all routers share), unless it exists; its ports are resolved only when it is created. */
async function ensureRouter(connection: ClusterConnection, namespace: string, service: string, selector: Record<string, string>, resolvePorts: () => Promise<RouterPort[]>, image: string, resources: Partial<PodResources> | undefined): Promise<void> {
  const existing = await clusterCall(connection, `read the router of ${service}`, () => connection.apps.readNamespacedDeployment({ name: routerDeploymentName(service), namespace }), { notFound: "null" });
  if (existing && !existing.metadata?.deletionTimestamp) return;
  const ports = await resolvePorts();
  const assignsUsers = await namespaceAssignsUsers(connection, namespace);
  await ensureShared(connection, namespace);
  const podLabels = { ...routerLabels, [ROUTER_LABEL]: service };
  const body: V1Deployment = {
    metadata: { name: routerDeploymentName(service), labels: podLabels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { [ROUTER_LABEL]: service } },
      template: {
        metadata: { labels: podLabels },
        spec: {
          serviceAccountName: SHARED,
          securityContext: ownPodSecurity(assignsUsers),
          containers: [
            {
              name: "router",
              image,
              command: ["node", `${ROUTER_MOUNT}/router.mjs`],
              env: [
                { name: "KBRIDGE_SERVICE", value: service },
                { name: "KBRIDGE_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                { name: "KBRIDGE_ORIGINAL_SELECTOR", value: JSON.stringify(selector) },
                { name: "KBRIDGE_ROUTER_PORTS", value: JSON.stringify(ports.map(({ port, targetPort }) => ({ port, targetPort }))) },
              ],
              ports: ports.map((p) => ({ containerPort: p.port, protocol: "TCP", ...(p.name ? { name: p.name } : {}) })),
              readinessProbe: { tcpSocket: { port: ports[0]!.port }, periodSeconds: 1 },
              securityContext: { ...OWN_CONTAINER_SECURITY, ...(ports.some((p) => p.port < 1024) ? { capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] } } : {}) },
              resources: routerResources(resources),
              volumeMounts: [{ name: "kbridge-router", mountPath: ROUTER_MOUNT, readOnly: true }],
            },
          ],
          volumes: [{ name: "kbridge-router", configMap: { name: SHARED, defaultMode: 0o444 } }],
        },
      },
    },
  };
  await clusterCall(connection, `start the router of ${service}`, () => connection.apps.createNamespacedDeployment({ namespace, body }), { conflict: "null" });
}

async function ensureShared(connection: ClusterConnection, namespace: string): Promise<void> {
  const metadata = { name: SHARED, labels: routerLabels };
  const data = Object.fromEntries(ROUTER_SCRIPTS.map((file) => [file, fs.readFileSync(new URL(`../agent/${file}`, import.meta.url), "utf8")]));
  const current = await clusterCall(connection, "read the router script", () => connection.core.readNamespacedConfigMap({ name: SHARED, namespace }), { notFound: "null" });
  if (!current) await clusterCall(connection, "deliver the router script", () => connection.core.createNamespacedConfigMap({ namespace, body: { metadata, data } }), { conflict: "null" });
  // Another kbridge version's scripts: new routers get these (running ones keep theirs until they restart).
  else if (!isDeepStrictEqual(current.data ?? {}, data)) await clusterCall(connection, "update the router script", () => connection.core.replaceNamespacedConfigMap({ name: SHARED, namespace, body: { ...current, data } }), { conflict: "null" });
  // An administrator's `kbridge setup` made the routers' identity already (which an `edit` user could not).
  if (await setupPresent(connection, namespace)) return;
  await clusterCall(connection, "create the routers' service account", () => connection.core.createNamespacedServiceAccount({ namespace, body: { metadata } }), { conflict: "null" });
  // Routers only watch pods: the Service's own and the isolated agents.
  await clusterCall(connection, "create the routers' role", () => connection.rbac.createNamespacedRole({ namespace, body: { metadata, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }] } }), { conflict: "null" });
  await clusterCall(
    connection,
    "bind the routers' role",
    () => connection.rbac.createNamespacedRoleBinding({ namespace, body: { metadata, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: SHARED }, subjects: [{ kind: "ServiceAccount", name: SHARED, namespace }] } }),
    { conflict: "null" },
  );
}

async function waitForRouter(connection: ClusterConnection, namespace: string, service: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const pods = await clusterCall(connection, `list the router pods of ${service}`, () => connection.core.listNamespacedPod({ namespace, labelSelector: `${ROUTER_LABEL}=${service}` }));
    if (pods.items.some((p) => !p.metadata?.deletionTimestamp && isPodReady(p))) return;
    if (Date.now() > deadline) {
      throw new KbridgeError({
        code: "router-timeout",
        category: "cluster",
        message: `The router for service ${namespace}/${service} was not ready within ${READY_TIMEOUT_MS / 1000} s, so the service was left as it was.`,
        hint: `See its pod: kubectl describe pod -l ${ROUTER_LABEL}=${service} -n ${namespace}`,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
