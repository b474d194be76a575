/**
 * Puts the agent in place of a workload's container. The original is saved in the cluster (a
 * Secret) before anything changes, so a restore never depends on the workstation (the
 * restore itself is helper/agent/restore.mjs, run by the helper and by the session's
 * restorer). A workload holds one session at a time: its claim is the session's annotation,
 * written with the replacement, and a connect to a claimed workload is refused. Every object
 * kbridge creates carries its labels and an expiry annotation, and can be found by label.
 */
import { isDeepStrictEqual } from "node:util";
import { PatchStrategy, setHeaderOptions, type V1Deployment, type V1ObjectMeta, type V1Pod, type V1PodTemplateSpec, type V1StatefulSet } from "@kubernetes/client-node";
import { KbridgeError, type ResolvedTarget } from "../protocol/index.ts";
import { claimOf } from "../agent/restore.mjs";
import { agentTemplate, type AgentOptions } from "./agentTemplate.ts";
import { clusterCall, type ClusterConnection } from "./clusterConnection.ts";
import { EXPIRES_ANNOTATION, labelsFor, ORIGINAL_ANNOTATION, REPLACES_ANNOTATION, ROLE_LABEL, SESSION_LABEL, sessionObjectNames, type SessionIdentity } from "./sessionLabels.ts";
import { prepareSession } from "./sessionObjects.ts";
import { refuseClaimed } from "./workloadClaim.ts";

/**
 * A write that conflicts (the controller wrote the workload's status, a rollout its spec) is
 * read and tried again after this, doubled each time: a rollout's burst of writes is over in
 * a second or so, and tries in quick succession would all land in it.
 */
const CONFLICT_BACKOFF_MS = 50;
const backOff = (attempt: number) => new Promise((resolve) => setTimeout(resolve, CONFLICT_BACKOFF_MS * 2 ** (attempt - 1)));

/** What a restore needs, saved in the session's Secret before anything changes. */
export interface SavedWorkload {
  kind: ResolvedTarget["workload"]["kind"];
  name: string;
  spec: unknown;
  /** Bare pods only: the metadata a re-created pod needs. */
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
}

/** A workload with a pod template, read and replaced through the apps API. */
interface Templated {
  metadata?: V1ObjectMeta;
  spec?: { replicas?: number; template: V1PodTemplateSpec };
}

function templatedApi(connection: ClusterConnection, kind: "Deployment" | "StatefulSet") {
  const { apps } = connection;
  return kind === "Deployment"
    ? {
        read: (namespace: string, name: string): Promise<Templated> => apps.readNamespacedDeployment({ name, namespace }),
        replace: (namespace: string, name: string, body: Templated): Promise<Templated> => apps.replaceNamespacedDeployment({ name, namespace, body: body as V1Deployment }),
      }
    : {
        read: (namespace: string, name: string): Promise<Templated> => apps.readNamespacedStatefulSet({ name, namespace }),
        replace: (namespace: string, name: string, body: Templated): Promise<Templated> => apps.replaceNamespacedStatefulSet({ name, namespace, body: body as V1StatefulSet }),
      };
}

/**
 * Saves the workload, delivers the agent script, starts the restorer, and swaps the target
 * container for the agent: in the pod template of a Deployment or StatefulSet, or — a bare
 * Pod's spec being immutable — by starting an agent pod with the pod's labels and deleting it.
 * Returns the labels that select the workload's own pods (to see them retire).
 */
export async function replaceWithAgent(connection: ClusterConnection, target: ResolvedTarget, session: SessionIdentity, options: AgentOptions): Promise<{ podLabels: Record<string, string> }> {
  const { namespace } = target;
  const { kind, name } = target.workload;
  const labels = labelsFor(session);
  const annotations = { [EXPIRES_ANNOTATION]: session.expiresAt.toISOString() };
  const { original, agent } = sessionObjectNames(session);
  const ports = [...new Set(target.ports.map((p) => p.containerPort))];
  const what = `${kind.toLowerCase()} ${name}`;
  const claimed = (holder: string) => refuseClaimed(connection, namespace, `${kind.toLowerCase()}/${name}`, holder);

  const templated = kind === "Pod" ? undefined : templatedApi(connection, kind);
  const pod = templated ? undefined : await clusterCall(connection, `read ${what}`, () => connection.core.readNamespacedPod({ name, namespace }));
  const workload = templated ? await clusterCall(connection, `read ${what}`, () => templated.read(namespace, name)) : undefined;
  // Held by another session (of any helper): refused before anything changes.
  const holder = claimOf(pod ?? workload);
  if (holder) throw await claimed(holder);
  const saved: SavedWorkload = pod
    ? { kind, name, spec: pod.spec, metadata: { labels: pod.metadata?.labels, annotations: pod.metadata?.annotations } }
    : { kind, name, spec: workload?.spec };
  await prepareSession(connection, namespace, session, options, { "workload.json": JSON.stringify(saved) }, [
    // The workload itself: a bare pod is re-created (create cannot be limited by name).
    kind === "Pod"
      ? { apiGroups: [""], resources: ["pods"], verbs: ["create", "update"] }
      : { apiGroups: ["apps"], resources: [kind === "Deployment" ? "deployments" : "statefulsets"], resourceNames: [name], verbs: ["get", "update", "patch"] },
  ], { kind, name });

  if (!templated || !workload) {
    if (!pod) throw new Error("unreachable: a bare pod target without its pod");
    await claimPod(connection, namespace, pod, session, claimed);
    const template = agentTemplate({ metadata: pod.metadata, spec: pod.spec }, target.container, ports, session, agent, options);
    const spec = { ...template.spec!, nodeName: undefined };
    await clusterCall(connection, `start the agent pod in place of ${what}`, () =>
      connection.core.createNamespacedPod({
        namespace,
        body: {
          metadata: {
            name: sessionObjectNames(session).pod,
            labels: { ...pod.metadata?.labels, ...labels, [ROLE_LABEL]: "agent" },
            annotations: { ...pod.metadata?.annotations, ...annotations, [ORIGINAL_ANNOTATION]: original, [REPLACES_ANNOTATION]: name, [SESSION_LABEL]: session.id },
          },
          spec,
        },
      }),
    );
    await clusterCall(connection, `delete ${what} (it comes back on restore)`, () => connection.core.deleteNamespacedPod({ name, namespace }), { notFound: "null" });
    return { podLabels: { ...pod.metadata?.labels } };
  }
  // The replacement is the claim: written with the resourceVersion read, so of two connects
  // at once one wins and the other, reading again, finds it held. The controller writes the
  // workload's status meanwhile (during a rollout, often): on a conflict, read it again; if
  // its spec changed too (a rollout's new spec), that is the original now, and the Secret is
  // told before the agent goes in.
  let current = workload;
  for (let attempt = 1; ; attempt++) {
    const next: Templated = {
      ...current,
      metadata: { ...current.metadata, annotations: { ...current.metadata?.annotations, [SESSION_LABEL]: session.id, [ORIGINAL_ANNOTATION]: original } },
      spec: { ...current.spec!, template: agentTemplate(current.spec?.template ?? {}, target.container, ports, session, agent, options) },
    };
    const replaced = await clusterCall(connection, `replace ${what} with the agent`, () => templated.replace(namespace, name, next), { conflict: "null" });
    if (replaced) return { podLabels: { ...current.spec?.template.metadata?.labels } };
    if (attempt >= 5) throw new KbridgeError({ code: "workload-conflict", category: "cluster", message: `The ${what} kept changing while kbridge put the agent in (5 tries).`, hint: "Wait for its rollout to finish (kubectl rollout status), then connect again." });
    await backOff(attempt);
    current = await clusterCall(connection, `read ${what}`, () => templated.read(namespace, name));
    const taken = claimOf(current);
    if (taken && taken !== session.id) throw await claimed(taken);
    if (!isDeepStrictEqual(current.spec, saved.spec)) {
      saved.spec = current.spec;
      await clusterCall(connection, "save the workload's new spec for the restore", () =>
        connection.core.patchNamespacedSecret({ name: original, namespace, body: { stringData: { "workload.json": JSON.stringify(saved) } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch)),
      );
    }
  }
}

/** A bare pod's claim: its session's annotation, written with the resourceVersion read (two connects at once: one wins). */
async function claimPod(connection: ClusterConnection, namespace: string, read: V1Pod, session: SessionIdentity, claimed: (holder: string) => Promise<KbridgeError>): Promise<void> {
  const name = read.metadata?.name ?? "";
  let pod = read;
  for (let attempt = 1; ; attempt++) {
    const holder = claimOf(pod);
    if (holder && holder !== session.id) throw await claimed(holder);
    const body: V1Pod = { ...pod, metadata: { ...pod.metadata, annotations: { ...pod.metadata?.annotations, [SESSION_LABEL]: session.id } } };
    if (await clusterCall(connection, `claim pod ${name}`, () => connection.core.replaceNamespacedPod({ name, namespace, body }), { conflict: "null" })) return;
    if (attempt >= 5) throw new KbridgeError({ code: "workload-conflict", category: "cluster", message: `Pod ${name} kept changing while kbridge claimed it (5 tries).`, hint: "Connect again." });
    await backOff(attempt);
    pod = await clusterCall(connection, `read pod ${name}`, () => connection.core.readNamespacedPod({ name, namespace }));
  }
}
