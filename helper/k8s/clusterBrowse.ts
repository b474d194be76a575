/**
 * What the dashboard shows of a cluster: its namespaces and services (the connect wizard
 * picks from live lists), and every object kbridge left in a namespace (the cluster page),
 * with a way to remove them.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { KbridgeError, type ClusterInventory, type KbridgeObjectView, type NamespaceList, type NamespaceView, type PodView, type ServiceView } from "../protocol/index.ts";
import { kbridgeKinds, kbridgeObjects } from "./kbridgeInventory.ts";
import { EXPIRES_ANNOTATION, MANAGED_BY, OWNER_ANNOTATION, OWNER_LABEL, ROLE_LABEL, SESSION_LABEL } from "./sessionLabels.ts";
import { clusterCall, type ClusterConnection } from "./clusterConnection.ts";
import { describeSessions } from "./clusterSessions.ts";
import { isPodReady } from "./podStatus.ts";
import { originalSelector } from "./routers.ts";

export async function listNamespaces(connection: ClusterConnection): Promise<NamespaceList> {
  try {
    const list = await clusterCall(connection, "list namespaces", () => connection.core.listNamespace());
    const namespaces = list.items.map((ns): NamespaceView => ({ name: ns.metadata?.name ?? "", phase: ns.status?.phase ?? "Active" })).sort((a, b) => a.name.localeCompare(b.name));
    return { namespaces, listed: true };
  } catch (error) {
    // Listing namespaces is cluster-wide: `edit` in a namespace does not grant it, and kubectl then works in the context's namespace.
    if (!(error instanceof KbridgeError) || error.info.code !== "cluster-forbidden") throw error;
    const own = connection.config.getContextObject(connection.context)?.namespace ?? "default";
    return { namespaces: [{ name: own, phase: "Active" }], listed: false, reason: `${error.info.message.replace(/\.$/, "")}; this context's namespace is ${own}.` };
  }
}

export async function listPods(connection: ClusterConnection, namespace: string): Promise<PodView[]> {
  const list = await clusterCall(connection, `list the pods of namespace ${namespace}`, () => connection.core.listNamespacedPod({ namespace }));
  return list.items
    .filter((pod) => !pod.metadata?.deletionTimestamp)
    .map((pod) => ({
      name: pod.metadata?.name ?? "",
      phase: pod.status?.phase ?? "Unknown",
      ready: isPodReady(pod),
      containers: pod.spec?.containers.map((c) => c.name) ?? [],
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export async function listServices(connection: ClusterConnection, namespace: string): Promise<ServiceView[]> {
  const [services, pods, replicaSets] = await Promise.all([
    clusterCall(connection, `list the services of namespace ${namespace}`, () => connection.core.listNamespacedService({ namespace })),
    clusterCall(connection, `list the pods of namespace ${namespace}`, () => connection.core.listNamespacedPod({ namespace })),
    clusterCall(connection, `list the replica sets of namespace ${namespace}`, () => connection.apps.listNamespacedReplicaSet({ namespace })),
  ]);
  const deploymentOf = new Map(replicaSets.items.map((rs) => [rs.metadata?.name ?? "", rs.metadata?.ownerReferences?.find((o) => o.controller)?.name]));
  const workloadOf = (pod: V1Pod): ServiceView["workload"] => {
    const owner = pod.metadata?.ownerReferences?.find((o) => o.controller);
    if (!owner) return { kind: "Pod", name: pod.metadata?.name ?? "" };
    if (owner.kind === "ReplicaSet") {
      const deployment = deploymentOf.get(owner.name);
      return deployment ? { kind: "Deployment", name: deployment } : { kind: "ReplicaSet", name: owner.name };
    }
    return { kind: owner.kind, name: owner.name };
  };
  return services.items
    .map((service): ServiceView => {
      // A Service isolation has routed selects kbridge's router: show the workload it selected before.
      const original = originalSelector(service);
      const selector = original ?? service.spec?.selector ?? {};
      const selected = Object.keys(selector).length === 0 ? [] : pods.items.filter((pod) => !pod.metadata?.deletionTimestamp && Object.entries(selector).every(([k, v]) => pod.metadata?.labels?.[k] === v));
      const workload = selected[0] ? workloadOf(selected[0]) : undefined;
      return {
        name: service.metadata?.name ?? "",
        type: service.spec?.type ?? "ClusterIP",
        ports: (service.spec?.ports ?? []).map((p) => {
          const targetPort = String(p.targetPort ?? p.port);
          // A named targetPort is the container port of that name in the selected pods.
          const named = /^\d+$/.test(targetPort) ? Number(targetPort) : selected[0]?.spec?.containers.flatMap((c) => c.ports ?? []).find((cp) => cp.name === targetPort)?.containerPort;
          return { ...(p.name ? { name: p.name } : {}), port: p.port, targetPort, ...(named !== undefined ? { containerPort: named } : {}), protocol: p.protocol ?? "TCP" };
        }),
        ...(workload ? { workload } : {}),
        pods: selected.length,
        ready: selected.filter(isPodReady).length,
        headless: service.spec?.clusterIP === "None",
        ...(original ? { routed: true } : {}),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Every object labelled as kbridge's in the namespace, and each session's state; objects of a session whose helper is gone (or past expiry) are stale. */
export async function listKbridgeObjects(connection: ClusterConnection, namespace: string): Promise<ClusterInventory> {
  const { found: all, unlisted } = await kbridgeObjects(connection, namespace);
  const sessions = await describeSessions(connection, namespace, all.map(({ kind, item }) => ({ kind: kind.kind, item })));
  const gone = new Set(sessions.filter((s) => s.state !== "live").map((s) => s.session));
  // One owner format everywhere (user@host, as the session's Secret says); a label holds it only DNS-safe (user.host).
  const ownerOf = new Map(sessions.filter((s) => s.owner).map((s) => [s.session, s.owner]));
  const now = Date.now();
  const objects = all
    .map(({ kind, item }): KbridgeObjectView => {
      const session = item.metadata?.labels?.[SESSION_LABEL] ?? "";
      const expiresAt = item.metadata?.annotations?.[EXPIRES_ANNOTATION];
      // Routers belong to no session (every isolating developer shares them; the last one removes them).
      const stale = session !== "" && ((expiresAt !== undefined && Date.parse(expiresAt) < now) || gone.has(session));
      const created = item.metadata?.creationTimestamp;
      return {
        kind: kind.kind,
        name: item.metadata?.name ?? "",
        session,
        owner: ownerOf.get(session) ?? item.metadata?.annotations?.[OWNER_ANNOTATION] ?? item.metadata?.labels?.[OWNER_LABEL] ?? "",
        ...(item.metadata?.labels?.[ROLE_LABEL] ? { role: item.metadata.labels[ROLE_LABEL] } : {}),
        createdAt: created instanceof Date ? created.toISOString() : String(created ?? ""),
        ...(expiresAt ? { expiresAt } : {}),
        stale,
      };
    })
    .sort((a, b) => a.session.localeCompare(b.session) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  return { objects, sessions, ...(unlisted.length > 0 ? { unlisted } : {}) };
}

/** Removes one kbridge object (refusing anything kbridge did not create). */
export async function removeKbridgeObject(connection: ClusterConnection, namespace: string, kind: string, name: string): Promise<void> {
  const kinds = kbridgeKinds(connection, namespace);
  const access = kinds.find((k) => k.kind === kind);
  if (!access) throw new KbridgeError({ code: "unknown-kind", category: "user", message: `kbridge creates no ${kind} objects.`, hint: `It creates ${kinds.map((k) => k.kind).join(", ")}.` });
  const object = await clusterCall(connection, `read ${kind} ${namespace}/${name}`, () => access.read(name), { notFound: "null" });
  if (!object) return;
  if (object.metadata?.labels?.["app.kubernetes.io/managed-by"] !== MANAGED_BY["app.kubernetes.io/managed-by"]) {
    throw new KbridgeError({ code: "not-kbridge-object", category: "user", message: `${kind} ${namespace}/${name} was not created by kbridge; it is left alone.` });
  }
  await clusterCall(connection, `delete ${kind} ${namespace}/${name}`, () => access.remove(name), { notFound: "null" });
}
