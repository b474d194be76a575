/**
 * Runs the controllers: after every batch of store changes (coalesced), and on a slow
 * resync for time-based work. Each reconcile is synchronous against the store, so one
 * pass sees a consistent cluster.
 */
import type { ObjectStore } from "../apiserver/store.ts";
import { reconcileDeployments } from "./deployments.ts";
import { reconcileEndpoints } from "./endpoints.ts";
import { kind } from "./objects.ts";
import { reconcileQuotas } from "./quotas.ts";
import { reconcileReplicaSets } from "./replicasets.ts";
import { reconcileStatefulSets } from "./statefulsets.ts";

export interface Controllers {
  stop(): void;
  /** Runs one pass now (tests call it to avoid waiting for the next batch). */
  reconcile(): void;
}

export function startControllers(store: ObjectStore, options: { resyncMs?: number; onError?: (error: unknown) => void; rootCa?: string } = {}): Controllers {
  let scheduled = false;
  let running = false;
  const reconcile = () => {
    if (running) return;
    running = true;
    try {
      ensureDefaultServiceAccounts(store);
      if (options.rootCa) publishRootCa(store, options.rootCa);
      reconcileDeployments(store);
      reconcileReplicaSets(store);
      reconcileStatefulSets(store);
      reconcileEndpoints(store);
      reconcileQuotas(store);
    } catch (error) {
      options.onError?.(error);
    } finally {
      running = false;
    }
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      reconcile();
    });
  };
  const unsubscribe = store.watch(Number(store.resourceVersion), schedule);
  const timer = setInterval(reconcile, options.resyncMs ?? 1000);
  timer.unref();
  schedule();
  return {
    stop() {
      unsubscribe();
      clearInterval(timer);
    },
    reconcile,
  };
}

/** Every namespace gets a `default` ServiceAccount, as the serviceaccounts controller does. */
function ensureDefaultServiceAccounts(store: ObjectStore): void {
  for (const namespace of store.list(kind("Namespace"))) {
    const name = namespace.metadata.name ?? "";
    if (!store.find(kind("ServiceAccount"), name, "default")) store.create(kind("ServiceAccount"), { metadata: { name: "default", namespace: name } });
  }
}

/** `kube-root-ca.crt` in every namespace, as the root-ca-cert-publisher does. */
function publishRootCa(store: ObjectStore, ca: string): void {
  for (const namespace of store.list(kind("Namespace"))) {
    const name = namespace.metadata.name ?? "";
    if (!store.find(kind("ConfigMap"), name, "kube-root-ca.crt")) store.create(kind("ConfigMap"), { metadata: { name: "kube-root-ca.crt", namespace: name }, data: { "ca.crt": ca } });
  }
}
