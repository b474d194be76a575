/**
 * StatefulSet controller: pods named `<set>-<ordinal>` with a stable hostname under the
 * governing service, created in order (OrderedReady: each one after the previous is Ready;
 * Parallel: all at once), removed from the highest ordinal down, and a rolling update that
 * replaces one pod at a time from the highest ordinal down (OnDelete: only pods the user
 * deletes). Status carries the current and update revisions `kubectl rollout status` reads.
 */
import type { KubeObject, ObjectStore } from "../apiserver/store.ts";
import { controllerRef, createForOwner, isControlledBy, isTerminating, kind, obj, podReady, recordEvent, safeHash, save, type Any } from "./objects.ts";

const REVISION_LABEL = "controller-revision-hash";

export function reconcileStatefulSets(store: ObjectStore): void {
  for (const set of store.list(kind("StatefulSet"))) {
    // Being deleted (its dependents first, in foreground): it makes nothing new, as the real controllers do.
    if (set.metadata.deletionTimestamp) continue;
    const namespace = set.metadata.namespace ?? "default";
    const name = set.metadata.name ?? "";
    const spec = obj(set.spec);
    const desired = Number(spec.replicas ?? 1);
    const ordered = spec.podManagementPolicy !== "Parallel";
    const rolling = obj(spec.updateStrategy).type !== "OnDelete";
    const partition = Number(obj(obj(spec.updateStrategy).rollingUpdate).partition ?? 0);
    const updateRevision = `${name}-${safeHash(spec.template)}`;
    const owned = store.list(kind("Pod"), namespace).filter((pod) => isControlledBy(pod, set));
    const byOrdinal = new Map(owned.map((pod) => [ordinalOf(name, pod), pod]));
    const settled = () => [...byOrdinal.values()].every((pod) => !isTerminating(pod) && podReady(pod));

    // Scale up: the missing ordinals, in order.
    for (let ordinal = 0; ordinal < desired; ordinal++) {
      if (byOrdinal.has(ordinal)) continue;
      if (ordered && !settled()) break;
      const pod = createPod(store, set, ordinal, updateRevision);
      if (!pod) break;
      byOrdinal.set(ordinal, pod);
    }
    // Scale down: the highest ordinals first (one at a time when ordered).
    for (const ordinal of [...byOrdinal.keys()].filter((o) => o >= desired).sort((a, b) => b - a)) {
      const pod = byOrdinal.get(ordinal) as KubeObject;
      if (isTerminating(pod)) {
        if (ordered) break;
        continue;
      }
      terminate(store, set, pod);
      if (ordered) break;
    }
    // Rolling update: one outdated pod at a time, from the highest ordinal down, once all are Ready.
    if (rolling && settled()) {
      const outdated = [...byOrdinal.entries()].filter(([ordinal, pod]) => ordinal < desired && ordinal >= partition && pod.metadata.labels?.[REVISION_LABEL] !== updateRevision).sort(([a], [b]) => b - a);
      if (outdated[0]) terminate(store, set, outdated[0][1]);
    }
    writeStatus(store, set, updateRevision);
  }
}

function ordinalOf(set: string, pod: KubeObject): number {
  const match = new RegExp(`^${set.replace(/[.]/g, "\\.")}-(\\d+)$`).exec(pod.metadata.name ?? "");
  return match ? Number(match[1]) : -1;
}

/** The pod of `ordinal`; undefined when admission refused it (a FailedCreate event says why). */
function createPod(store: ObjectStore, set: KubeObject, ordinal: number, revision: string): KubeObject | undefined {
  const spec = obj(set.spec);
  const template = obj(spec.template);
  const metadata = obj(template.metadata);
  const name = `${set.metadata.name}-${ordinal}`;
  const make = () => store.create(kind("Pod"), {
    metadata: {
      name,
      namespace: set.metadata.namespace,
      labels: { ...(metadata.labels as Record<string, string> | undefined), [REVISION_LABEL]: revision, "statefulset.kubernetes.io/pod-name": name, "apps.kubernetes.io/pod-index": String(ordinal) },
      ...(metadata.annotations ? { annotations: { ...(metadata.annotations as Record<string, string>) } } : {}),
      ownerReferences: [controllerRef(set)],
    },
    spec: { ...(structuredClone(template.spec ?? {}) as Any), hostname: name, ...(spec.serviceName ? { subdomain: spec.serviceName } : {}) },
  });
  const pod = createForOwner(store, set, "statefulset-controller", make, (message) => `create Pod ${name} in StatefulSet ${set.metadata.name} failed error: ${message}`);
  if (pod) recordEvent(store, set, "Normal", "SuccessfulCreate", `create Pod ${name} in StatefulSet ${set.metadata.name} successful`, "statefulset-controller");
  return pod;
}

function terminate(store: ObjectStore, set: KubeObject, pod: KubeObject): void {
  store.beginDeletion(kind("Pod"), pod.metadata.namespace, pod.metadata.name ?? "", Number(obj(pod.spec).terminationGracePeriodSeconds ?? 30));
  recordEvent(store, set, "Normal", "SuccessfulDelete", `delete Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`, "statefulset-controller");
}

function writeStatus(store: ObjectStore, set: KubeObject, updateRevision: string): void {
  const pods = store.list(kind("Pod"), set.metadata.namespace).filter((pod) => isControlledBy(pod, set) && !isTerminating(pod));
  const updated = pods.filter((pod) => pod.metadata.labels?.[REVISION_LABEL] === updateRevision).length;
  const ready = pods.filter(podReady).length;
  const previous = obj(set.status);
  const desired = Number(obj(set.spec).replicas ?? 1);
  // The current revision catches up with the update revision once every replica runs it.
  const currentRevision = updated === desired && pods.length === desired ? updateRevision : String(previous.currentRevision ?? updateRevision);
  save(store, kind("StatefulSet"), {
    ...set,
    status: {
      observedGeneration: set.metadata.generation,
      replicas: pods.length,
      readyReplicas: ready,
      availableReplicas: ready,
      currentReplicas: pods.filter((pod) => pod.metadata.labels?.[REVISION_LABEL] === currentRevision).length,
      updatedReplicas: updated,
      currentRevision,
      updateRevision,
      collisionCount: 0,
    },
  });
}
