/** ReplicaSet controller: keeps `spec.replicas` pods from the template, and reports status. */
import type { KubeObject, ObjectStore } from "../apiserver/store.ts";
import { controllerRef, createForOwner, isControlledBy, isTerminating, kind, obj, podReady, recordEvent, save, type Any } from "./objects.ts";

export function reconcileReplicaSets(store: ObjectStore): void {
  const pods = store.list(kind("Pod"));
  for (const rs of store.list(kind("ReplicaSet"))) {
    // Being deleted (its dependents first, in foreground): it makes nothing new, as the real controllers do.
    if (rs.metadata.deletionTimestamp) continue;
    const spec = obj(rs.spec);
    const desired = Number(spec.replicas ?? 1);
    const owned = pods.filter((pod) => pod.metadata.namespace === rs.metadata.namespace && isControlledBy(pod, rs));
    const active = owned.filter((pod) => !isTerminating(pod));
    if (active.length < desired) {
      for (let i = active.length; i < desired; i++) if (!createPod(store, rs)) break;
    } else if (active.length > desired) {
      // Not-ready pods go first, then the newest.
      const victims = [...active].sort((a, b) => Number(podReady(a)) - Number(podReady(b)) || String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)));
      for (const pod of victims.slice(0, active.length - desired)) {
        store.beginDeletion(kind("Pod"), pod.metadata.namespace, pod.metadata.name ?? "", Number((pod.spec as { terminationGracePeriodSeconds?: number }).terminationGracePeriodSeconds ?? 30));
        recordEvent(store, rs, "Normal", "SuccessfulDelete", `Deleted pod: ${pod.metadata.name}`, "replicaset-controller");
      }
    }
    const current = store.list(kind("Pod"), rs.metadata.namespace).filter((pod) => isControlledBy(pod, rs) && !isTerminating(pod));
    const ready = current.filter(podReady).length;
    save(store, kind("ReplicaSet"), {
      ...rs,
      status: { replicas: current.length, fullyLabeledReplicas: current.length, readyReplicas: ready, availableReplicas: ready, observedGeneration: rs.metadata.generation },
    });
  }
}

/** One pod from the template; undefined when admission refused it (a FailedCreate event says why). */
function createPod(store: ObjectStore, rs: KubeObject): KubeObject | undefined {
  const template = obj(obj(rs.spec).template);
  const metadata = obj(template.metadata);
  const make = () =>
    store.create(kind("Pod"), {
      metadata: {
        generateName: `${rs.metadata.name}-`,
        namespace: rs.metadata.namespace,
        labels: { ...(metadata.labels as Record<string, string> | undefined) },
        ...(metadata.annotations ? { annotations: { ...(metadata.annotations as Record<string, string>) } } : {}),
        ownerReferences: [controllerRef(rs)],
      },
      spec: structuredClone(template.spec ?? {}) as Any,
    });
  const pod = createForOwner(store, rs, "replicaset-controller", make, (message) => `Error creating: ${message}`);
  if (pod) recordEvent(store, rs, "Normal", "SuccessfulCreate", `Created pod: ${pod.metadata.name}`, "replicaset-controller");
  return pod;
}

export function replicaSetCounts(rs: KubeObject): { replicas: number; ready: number; available: number } {
  const status = obj(rs.status);
  return { replicas: Number(status.replicas ?? 0), ready: Number(status.readyReplicas ?? 0), available: Number(status.availableReplicas ?? 0) };
}

