/**
 * Putting a namespace back: every session kbridge left there (crashed helpers', other
 * workstations'), or one session or object the Cluster page removes. This helper's own live
 * sessions are stopped properly (process, tunnels, restore); any other is restored as its
 * restorer would.
 */
import { listKbridgeObjects, removeKbridgeObject } from "../k8s/clusterBrowse.ts";
import { openCluster, type ClusterConnection } from "../k8s/clusterConnection.ts";
import { restoreSession, unrouteIfIdle } from "../k8s/sessionRestore.ts";
import type { CleanReport } from "../protocol/index.ts";
import type { SessionHost } from "./sessionEntry.ts";
import { isFinished } from "./sessionView.ts";

export interface Cleaner {
  host: SessionHost;
  /** Ends one of this helper's sessions properly (the session manager's stop). */
  stop(id: string): Promise<unknown>;
}

export async function cleanNamespace(cleaner: Cleaner, kubeContext: string, namespace: string): Promise<CleanReport> {
  const connection = openCluster(cleaner.host.deps.kubeconfig(), kubeContext);
  const inventory = await listKbridgeObjects(connection, namespace);
  const sessions = [...new Set(inventory.objects.map((o) => o.session).filter(Boolean))].sort();
  const restored: string[] = [];
  for (const id of sessions) {
    const workload = await removeSession(cleaner, connection, namespace, id);
    if (workload) restored.push(workload);
  }
  // Routers left with no session at all (their sessions' objects gone some other way): selectors back, routers gone.
  if (sessions.length === 0) restored.push(...(await unrouteIfIdle(connection, namespace, cleaner.host.deps.log)).map((service) => `service/${service} (selector)`));
  const orphaned = inventory.sessions.filter((s) => s.state === "orphaned").map((s) => ({ session: s.session, workload: s.workload ?? "", message: s.message ?? "", ...(s.hint ? { hint: s.hint } : {}) }));
  return { namespace, sessions, restored, orphaned, ...(inventory.unlisted ? { unlisted: inventory.unlisted } : {}) };
}

/** The Cluster page's remove: all of a session, or one object. */
export async function removeObjects(cleaner: Cleaner, kubeContext: string, namespace: string, what: { sessionId: string } | { object: { kind: string; name: string } }): Promise<{ removed: string[]; restored?: string }> {
  const connection = openCluster(cleaner.host.deps.kubeconfig(), kubeContext);
  if ("object" in what) {
    await removeKbridgeObject(connection, namespace, what.object.kind, what.object.name);
    return { removed: [`${what.object.kind}/${what.object.name}`] };
  }
  const removed = (await listKbridgeObjects(connection, namespace)).objects.filter((o) => o.session === what.sessionId).map((o) => `${o.kind}/${o.name}`);
  const restored = await removeSession(cleaner, connection, namespace, what.sessionId);
  return { removed, ...(restored ? { restored } : {}) };
}

/** Ends a session found in the cluster: this helper's own properly, any other as its restorer would; the workload restored, if any. */
async function removeSession(cleaner: Cleaner, connection: ClusterConnection, namespace: string, id: string): Promise<string | undefined> {
  const known = cleaner.host.sessions.get(id);
  if (known && known.view.target.namespace === namespace && (known.view.state === "interrupted" || !isFinished(known.view.state))) {
    await cleaner.stop(id);
    return undefined;
  }
  const { log } = cleaner.host.deps;
  const { restored, unrouted } = await restoreSession(connection, namespace, id, { log });
  log.info({ session: id, namespace, restored, unrouted }, "cleaned a session left in the cluster");
  return restored;
}
