/**
 * Isolation mode in the cluster: the developer's agent in a new pod (a clone of the target's
 * pod carrying the routing key) while the workload keeps serving everyone else, routers in
 * front of the target Service and of every ingress-backed Service (routers.ts), and a
 * personal ingress per ingress host, `<key>.<host>`. Everything but the shared routers
 * carries the session's labels, so a disconnect, `kbridge clean` or the restorer removes it.
 */
import type { V1Ingress, V1Pod, V1PodTemplateSpec } from "@kubernetes/client-node";
import { KbridgeError, type IsolationView, type PodResources, type ResolvedTarget } from "../protocol/index.ts";
import type { Logger } from "../logs/logger.ts";
import { ROUTER_SHARED } from "../agent/names.mjs";
import { agentTemplate, type AgentOptions } from "./agentTemplate.ts";
import { EXPIRES_ANNOTATION, labelsFor, MANAGED_BY, MANAGED_SELECTOR, OWNER_ANNOTATION, OWNER_LABEL, ROLE_LABEL, SESSION_LABEL, sessionObjectNames, type SessionIdentity } from "./sessionLabels.ts";
import { prepareSession } from "./sessionObjects.ts";
import { clusterCall, type ClusterConnection } from "./clusterConnection.ts";
import { checkRoutingKey } from "../shared/routingKey.ts";
import { ingressBackends, ROUTE_FROM_LABEL, routeServices, ROUTING_KEY_LABEL } from "./routers.ts";
import { claimOf, refuseClaimed } from "./workloadClaim.ts";
import { isPodReady } from "./podStatus.ts";

/** The header (and W3C baggage member) that carries a routing key. */
export const ROUTING_HEADER = "kubernetes-route-as";

/** What a restore of an isolation session needs to know (saved in its Secret). */
export interface SavedIsolation {
  service: string;
  routingKey: string;
}

/** Checks the key against the namespace's ingress hosts before anything changes. */
export async function checkIsolation(connection: ClusterConnection, target: ResolvedTarget, routingKey: string): Promise<void> {
  if (!target.service) {
    throw new KbridgeError({
      code: "isolation-needs-service",
      category: "user",
      message: `Isolation routes a Service's requests, and ${target.workload.kind} ${target.workload.name} was named without one.`,
      hint: "Connect to the Service in front of it (kind Service), or connect without isolation.",
      fields: { target: "isolation needs a Service" },
    });
  }
  checkRoutingKey(routingKey, (await userIngresses(connection, target.namespace)).flatMap(ingressHosts));
  const taken = (await clusterCall(connection, "list the isolated agents", () => connection.core.listNamespacedPod({ namespace: target.namespace, labelSelector: `${ROUTING_KEY_LABEL}=${routingKey},${ROUTE_FROM_LABEL}=${target.service},${MANAGED_SELECTOR}` }))).items.filter((p) => !p.metadata?.deletionTimestamp);
  if (taken.length > 0) {
    throw new KbridgeError({
      code: "routing-key-in-use",
      category: "user",
      message: `Routing key ${routingKey} already isolates service ${target.service} (session ${taken[0]?.metadata?.labels?.[SESSION_LABEL]}, ${taken[0]?.metadata?.annotations?.[OWNER_ANNOTATION] ?? "another developer"}).`,
      hint: "Pick another routing key (leave it empty for a new one), or end that session first.",
      fields: { routingKey: "in use for this service" },
    });
  }
}

/**
 * Saves the session (no workload changes, so only the key), delivers the agent, starts the
 * restorer, and starts the agent in a new pod cloned from the workload's pod template — with
 * none of its labels, so neither the workload's controller nor any Service selects it.
 */
export async function startIsolatedAgent(connection: ClusterConnection, target: ResolvedTarget, session: SessionIdentity, routingKey: string, options: AgentOptions): Promise<string> {
  const { namespace } = target;
  const service = target.service as string;
  const { kind, name } = target.workload;
  const what = `${kind.toLowerCase()} ${name}`;
  const workload =
    kind === "Pod"
      ? await clusterCall(connection, `read ${what}`, () => connection.core.readNamespacedPod({ name, namespace }))
      : kind === "Deployment"
        ? await clusterCall(connection, `read ${what}`, () => connection.apps.readNamespacedDeployment({ name, namespace }))
        : await clusterCall(connection, `read ${what}`, () => connection.apps.readNamespacedStatefulSet({ name, namespace }));
  // A workload another session put its agent in would be cloned agent and all.
  const holder = claimOf(workload);
  if (holder) throw await refuseClaimed(connection, namespace, `${kind.toLowerCase()}/${name}`, holder);
  const template: V1PodTemplateSpec = "template" in (workload.spec ?? {}) ? ((workload.spec as { template: V1PodTemplateSpec }).template ?? {}) : { metadata: workload.metadata, spec: (workload as V1Pod).spec };
  const saved: SavedIsolation = { service, routingKey };
  // The restorer may give routed Services their selectors back and remove the routers when its session was the last.
  await prepareSession(connection, namespace, session, options, { "isolation.json": JSON.stringify(saved) }, [
    // The last isolation session's restore removes the routers and what they share.
    { apiGroups: [""], resources: ["services"], verbs: ["get", "list", "update"] },
    { apiGroups: ["apps"], resources: ["deployments"], verbs: ["list", "delete"] },
    { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["list", "delete"] },
    { apiGroups: [""], resources: ["configmaps", "serviceaccounts"], resourceNames: [ROUTER_SHARED], verbs: ["get", "delete"] },
    { apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles", "rolebindings"], resourceNames: [ROUTER_SHARED], verbs: ["delete"] },
  ]);
  const { agent, pod } = sessionObjectNames(session);
  const ports = [...new Set(target.ports.map((p) => p.containerPort))];
  const clone = agentTemplate(template, target.container, ports, session, agent, options);
  const spec: V1Pod["spec"] = { ...clone.spec!, nodeName: undefined, hostname: undefined, subdomain: undefined };
  // The helper checks its key end to end before it says connected: this agent answers its probe.
  for (const container of spec.containers) if (container.name === target.container) container.env = [...(container.env ?? []), { name: "KBRIDGE_ROUTE_PROBES", value: "1" }];
  await clusterCall(connection, `start the isolated agent (a clone of ${what})`, () =>
    connection.core.createNamespacedPod({
      namespace,
      body: {
        metadata: {
          name: pod,
          labels: { ...labelsFor(session), [ROLE_LABEL]: "agent", [ROUTING_KEY_LABEL]: routingKey, [ROUTE_FROM_LABEL]: service },
          annotations: { [EXPIRES_ANNOTATION]: session.expiresAt.toISOString(), [OWNER_ANNOTATION]: session.owner, "kbridge.dev/route-on-header": `${ROUTING_HEADER}=${routingKey}` },
        },
        spec,
      },
    }),
  );
  return pod;
}

/** Routers in front of the target Service and every ingress-backed one; then the personal ingresses. Returns the personal URLs. */
export async function routeIsolation(connection: ClusterConnection, target: ResolvedTarget, session: SessionIdentity, routingKey: string, options: { image: string; podResources?: Partial<PodResources>; log: Logger }): Promise<{ routed: string[]; urls: string[] }> {
  const { namespace } = target;
  const service = target.service as string;
  const ingresses = await userIngresses(connection, namespace);
  const services = [...new Set([service, ...ingressBackends(ingresses)])];
  const routed = await routeServices(connection, namespace, services, { image: options.image, podResources: options.podResources, required: [service], log: options.log });
  const urls: string[] = [];
  for (const ingress of ingresses) {
    const personal = personalIngress(ingress, routingKey, session);
    if (!personal) continue;
    await clusterCall(connection, `create the personal ingress for ${ingress.metadata?.name}`, () => connection.networking.createNamespacedIngress({ namespace, body: personal }), { conflict: "null" });
    urls.push(...personalUrls(personal, ingress));
  }
  return { routed, urls };
}

const isKbridges = (ingress: V1Ingress) => ingress.metadata?.labels?.["app.kubernetes.io/managed-by"] === MANAGED_BY["app.kubernetes.io/managed-by"];

async function allIngresses(connection: ClusterConnection, namespace: string): Promise<V1Ingress[]> {
  return (await clusterCall(connection, `list the ingresses of ${namespace}`, () => connection.networking.listNamespacedIngress({ namespace }))).items;
}

/** The namespace's own ingresses (not kbridge's personal ones). */
async function userIngresses(connection: ClusterConnection, namespace: string): Promise<V1Ingress[]> {
  return (await allIngresses(connection, namespace)).filter((i) => !isKbridges(i));
}

/** The concrete (non-wildcard) hosts of an ingress's rules, and whether TLS covers them. */
function ingressHosts(ingress: V1Ingress): { host: string; tls: boolean }[] {
  const tls = new Set((ingress.spec?.tls ?? []).flatMap((t) => t.hosts ?? []));
  return (ingress.spec?.rules ?? []).flatMap((r) => (r.host && !r.host.startsWith("*") ? [{ host: r.host, tls: tls.has(r.host) }] : []));
}

/** `<key>.<host>` for every concrete host of the ingress (rules and TLS), same paths and backends; null when it has none. */
export function personalIngress(ingress: V1Ingress, routingKey: string, session: SessionIdentity): V1Ingress | null {
  const rules = (ingress.spec?.rules ?? []).filter((r) => r.host && !r.host.startsWith("*"));
  if (rules.length === 0) return null;
  const annotations: Record<string, string> = { ...ingress.metadata?.annotations, [EXPIRES_ANNOTATION]: session.expiresAt.toISOString(), "kbridge.dev/personal-for": ingress.metadata?.name ?? "" };
  delete annotations["kubectl.kubernetes.io/last-applied-configuration"];
  return {
    metadata: { name: `kbridge-${session.id}-${ingress.metadata?.name ?? "ingress"}`.slice(0, 253), labels: { ...labelsFor(session), [ROLE_LABEL]: "personal-ingress", [ROUTING_KEY_LABEL]: routingKey }, annotations },
    spec: {
      ...(ingress.spec?.ingressClassName ? { ingressClassName: ingress.spec.ingressClassName } : {}),
      rules: rules.map((r) => ({ ...r, host: `${routingKey}.${r.host}` })),
      ...(ingress.spec?.tls ? { tls: ingress.spec.tls.map((t) => ({ ...t, hosts: (t.hosts ?? []).filter((h) => !h.startsWith("*")).map((h) => `${routingKey}.${h}`) })) } : {}),
    },
  };
}

/** The URLs of a personal ingress: its hosts, https where TLS covers them, with the port the ingress controller published when it is not the default. */
export function personalUrls(personal: V1Ingress, published: V1Ingress = personal): string[] {
  const tls = new Set((personal.spec?.tls ?? []).flatMap((t) => t.hosts ?? []));
  const port = published.status?.loadBalancer?.ingress?.[0]?.ports?.[0]?.port;
  return [...new Set((personal.spec?.rules ?? []).map((r) => r.host ?? ""))].filter(Boolean).map((host) => {
    const scheme = tls.has(host) ? "https" : "http";
    const shown = port && port !== (scheme === "https" ? 443 : 80) ? `:${port}` : "";
    return `${scheme}://${host}${shown}/`;
  });
}

/** Every isolation session in the namespace, as the cluster shows it (what a teammate's dashboard lists). */
export async function listIsolations(connection: ClusterConnection, namespace: string): Promise<IsolationView[]> {
  const [pods, ingresses] = await Promise.all([
    clusterCall(connection, "list the isolated agents", () => connection.core.listNamespacedPod({ namespace, labelSelector: `${ROUTING_KEY_LABEL},${MANAGED_SELECTOR}` })),
    allIngresses(connection, namespace),
  ]);
  const personal = ingresses.filter((i) => isKbridges(i) && i.metadata?.labels?.[ROUTING_KEY_LABEL]);
  const published = new Map(ingresses.filter((i) => !isKbridges(i)).map((i) => [i.metadata?.name ?? "", i]));
  return pods.items
    .filter((pod) => !pod.metadata?.deletionTimestamp)
    .map((pod): IsolationView => {
      const labels = pod.metadata?.labels ?? {};
      const session = labels[SESSION_LABEL] ?? "";
      const created = pod.metadata?.creationTimestamp;
      const expiresAt = pod.metadata?.annotations?.[EXPIRES_ANNOTATION];
      return {
        session,
        namespace,
        owner: pod.metadata?.annotations?.[OWNER_ANNOTATION] ?? labels[OWNER_LABEL] ?? "",
        service: labels[ROUTE_FROM_LABEL] ?? "",
        routingKey: labels[ROUTING_KEY_LABEL] ?? "",
        urls: personal.filter((i) => i.metadata?.labels?.[SESSION_LABEL] === session).flatMap((i) => personalUrls(i, published.get(i.metadata?.annotations?.["kbridge.dev/personal-for"] ?? "") ?? i)),
        ready: isPodReady(pod),
        startedAt: created instanceof Date ? created.toISOString() : String(created ?? ""),
        ...(expiresAt ? { expiresAt } : {}),
      };
    })
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}
