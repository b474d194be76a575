/**
 * Deployment controller: one ReplicaSet per pod template (named by its pod-template-hash),
 * a rolling update that scales the old ReplicaSets down as the new one's pods become
 * available (Recreate: old first), revision history, and the status `kubectl rollout
 * status` reads.
 */
import type { KubeObject, ObjectStore } from "../apiserver/store.ts";
import { controllerRef, isControlledBy, kind, now, obj, recordEvent, safeHash, save, type Any, type LabelSelector } from "./objects.ts";
import { replicaSetCounts } from "./replicasets.ts";

const REVISION = "deployment.kubernetes.io/revision";

export function reconcileDeployments(store: ObjectStore): void {
  for (const deployment of store.list(kind("Deployment"))) {
    // Being deleted (its dependents first, in foreground): it makes nothing new, as the real controllers do.
    if (deployment.metadata.deletionTimestamp) continue;
    const spec = obj(deployment.spec);
    if (spec.paused === true) continue;
    const desired = Number(spec.replicas ?? 1);
    const template = obj(spec.template);
    const hash = safeHash(template);
    const owned = store.list(kind("ReplicaSet"), deployment.metadata.namespace).filter((rs) => isControlledBy(rs, deployment));
    const maxRevision = Math.max(0, ...owned.map((rs) => Number(rs.metadata.annotations?.[REVISION] ?? 0)));
    let current = owned.find((rs) => rs.metadata.labels?.["pod-template-hash"] === hash);
    const old = owned.filter((rs) => rs !== current);

    const oldActive = old.reduce((sum, rs) => sum + replicaSetCounts(rs).replicas, 0);
    const recreate = obj(spec.strategy).type === "Recreate";
    const newTarget = recreate && oldActive > 0 ? 0 : desired;
    if (!current) {
      current = createReplicaSet(store, deployment, template, hash, maxRevision + 1, newTarget);
    } else {
      const revision = Number(current.metadata.annotations?.[REVISION] ?? 0);
      const annotations = revision < maxRevision ? { ...current.metadata.annotations, [REVISION]: String(maxRevision + 1) } : current.metadata.annotations;
      current = scale(store, deployment, { ...current, metadata: { ...current.metadata, annotations } }, newTarget);
    }

    // Old ReplicaSets keep only what the new one does not yet provide.
    let allowance = recreate ? 0 : Math.max(0, desired - replicaSetCounts(current).available);
    for (const rs of old.sort((a, b) => Number(b.metadata.annotations?.[REVISION] ?? 0) - Number(a.metadata.annotations?.[REVISION] ?? 0))) {
      const keep = Math.min(Number(obj(rs.spec).replicas ?? 0), allowance);
      allowance -= keep;
      scale(store, deployment, rs, keep);
    }
    pruneHistory(store, deployment, old, Number(spec.revisionHistoryLimit ?? 10));
    writeStatus(store, deployment, desired, current, old);
  }
}

function createReplicaSet(store: ObjectStore, deployment: KubeObject, template: Any, hash: string, revision: number, replicas: number): KubeObject {
  const templateMeta = obj(template.metadata);
  const labels = { ...(templateMeta.labels as Record<string, string> | undefined), "pod-template-hash": hash };
  const selector = obj(obj(deployment.spec).selector) as LabelSelector;
  const rs = store.create(kind("ReplicaSet"), {
    metadata: {
      name: `${deployment.metadata.name}-${hash}`,
      namespace: deployment.metadata.namespace,
      labels,
      annotations: { [REVISION]: String(revision), "deployment.kubernetes.io/desired-replicas": String(obj(deployment.spec).replicas ?? 1) },
      ownerReferences: [controllerRef(deployment)],
    },
    spec: {
      replicas,
      selector: { ...selector, matchLabels: { ...selector.matchLabels, "pod-template-hash": hash } },
      template: { ...template, metadata: { ...templateMeta, labels } },
    },
  });
  recordEvent(store, deployment, "Normal", "ScalingReplicaSet", `Scaled up replica set ${rs.metadata.name} from 0 to ${replicas}`, "deployment-controller");
  return rs;
}

function scale(store: ObjectStore, deployment: KubeObject, rs: KubeObject, replicas: number): KubeObject {
  const before = Number(obj(rs.spec).replicas ?? 0);
  const saved = save(store, kind("ReplicaSet"), { ...rs, spec: { ...obj(rs.spec), replicas } });
  if (before !== replicas) {
    const verb = replicas > before ? "up" : "down";
    recordEvent(store, deployment, "Normal", "ScalingReplicaSet", `Scaled ${verb} replica set ${rs.metadata.name} from ${before} to ${replicas}`, "deployment-controller");
  }
  return saved;
}

function pruneHistory(store: ObjectStore, deployment: KubeObject, old: KubeObject[], limit: number): void {
  const idle = old
    .filter((rs) => Number(obj(rs.spec).replicas ?? 0) === 0 && replicaSetCounts(rs).replicas === 0)
    .sort((a, b) => Number(a.metadata.annotations?.[REVISION] ?? 0) - Number(b.metadata.annotations?.[REVISION] ?? 0));
  for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) store.delete(kind("ReplicaSet"), deployment.metadata.namespace, rs.metadata.name ?? "");
}

function writeStatus(store: ObjectStore, deployment: KubeObject, desired: number, current: KubeObject, old: KubeObject[]): void {
  const latest = store.find(kind("ReplicaSet"), deployment.metadata.namespace, current.metadata.name ?? "") ?? current;
  const all = [latest, ...old.map((rs) => store.find(kind("ReplicaSet"), deployment.metadata.namespace, rs.metadata.name ?? "")).filter((rs): rs is KubeObject => rs !== undefined)];
  const sum = (pick: (c: ReturnType<typeof replicaSetCounts>) => number) => all.reduce((total, rs) => total + pick(replicaSetCounts(rs)), 0);
  const replicas = sum((c) => c.replicas);
  const available = sum((c) => c.available);
  const updated = replicaSetCounts(latest).replicas;
  const complete = updated === desired && replicas === desired && available === desired;
  const previous = obj(deployment.status);
  const condition = (type: string, status: boolean, reason: string, message: string) => {
    const before = ((previous.conditions as Any[] | undefined) ?? []).find((c) => c.type === type);
    const changed = !before || before.status !== (status ? "True" : "False") || before.reason !== reason;
    const at = changed ? now() : String(before?.lastTransitionTime);
    return { type, status: status ? "True" : "False", reason, message, lastUpdateTime: changed ? at : String(before?.lastUpdateTime), lastTransitionTime: at };
  };
  save(store, kind("Deployment"), {
    ...deployment,
    status: {
      observedGeneration: deployment.metadata.generation,
      replicas,
      updatedReplicas: updated,
      readyReplicas: sum((c) => c.ready),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, desired - available),
      conditions: [
        condition("Available", available >= desired, available >= desired ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable", available >= desired ? "Deployment has minimum availability." : "Deployment does not have minimum availability."),
        condition(
          "Progressing",
          true,
          complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated",
          complete ? `ReplicaSet "${latest.metadata.name}" has successfully progressed.` : `ReplicaSet "${latest.metadata.name}" is progressing.`,
        ),
      ],
    },
  });
}
