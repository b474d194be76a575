/**
 * Puts the agent in place of a workload's container. The original is saved in the cluster (a
 * Secret) before anything changes, so a restore never depends on the workstation (the
 * restore itself is helper/agent/restore.mjs, run by the helper and by the session's
 * restorer). A workload holds one session at a time: its claim is the session's annotation,
 * written with the replacement, and a connect to a claimed workload is refused. Every object
 * kbridge creates carries its labels and an expiry annotation, and can be found by label.
 * Past 400 lines: the pod-template transform and the waits share it; issue 18 splits them.
 */
import fs from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { PatchStrategy, setHeaderOptions, type V1Container, type V1Deployment, type V1ObjectMeta, type V1OwnerReference, type V1Pod, type V1PodTemplateSpec, type V1PolicyRule, type V1StatefulSet } from "@kubernetes/client-node";
import { KbridgeError, type ResolvedTarget } from "../protocol/index.ts";
import { claimOf, STUCK_REASONS } from "../agent/restore.mjs";
import {
  EXPIRES_ANNOTATION,
  HEARTBEAT_ANNOTATION,
  MANAGED_BY_KEY,
  MANAGED_BY_VALUE,
  MANAGED_SELECTOR,
  ORIGINAL_ANNOTATION,
  OWNER_ANNOTATION,
  OWNER_LABEL,
  REPLACES_ANNOTATION,
  RESTORER_STATUS_ANNOTATION,
  ROLE_LABEL,
  savedOriginalName,
  SESSION_LABEL,
} from "../agent/names.mjs";
import { clusterCall, type ClusterConnection } from "./clusterConnection.ts";
import { refuseClaimed } from "./workloadClaim.ts";

export { EXPIRES_ANNOTATION, HEARTBEAT_ANNOTATION, MANAGED_SELECTOR, ORIGINAL_ANNOTATION, OWNER_ANNOTATION, OWNER_LABEL, REPLACES_ANNOTATION, RESTORER_STATUS_ANNOTATION, ROLE_LABEL, savedOriginalName, SESSION_LABEL };
export const MANAGED_BY = { [MANAGED_BY_KEY]: MANAGED_BY_VALUE } as const;
/** Selects the agent pods of a session (not its restorer). */
export const agentPods = (sessionId: string) => `${SESSION_LABEL}=${sessionId},${ROLE_LABEL}=agent`;
const AGENT_MOUNT = "/opt/kbridge";
/** What the session's ConfigMap carries: the agent, and the restorer with the modules it shares with the helper. */
const SCRIPTS = ["agent.mjs", "mux.mjs", "restorer.mjs", "restore.mjs", "deadman.mjs", "names.mjs"];
/** The key of the session's secret in its Secret. */
const TOKEN_KEY = "agent-token";
/**
 * A write that conflicts (the controller wrote the workload's status, a rollout its spec) is
 * read and tried again after this, doubled each time: a rollout's burst of writes is over in
 * a second or so, and tries in quick succession would all land in it.
 */
const CONFLICT_BACKOFF_MS = 50;
const backOff = (attempt: number) => new Promise((resolve) => setTimeout(resolve, CONFLICT_BACKOFF_MS * 2 ** (attempt - 1)));

export interface SessionIdentity {
  id: string;
  /** Who runs the session (user@host), DNS-label safe once sanitised. */
  owner: string;
  expiresAt: Date;
}

export interface AgentOptions {
  image: string;
  /** The restorer puts the workload back when the helper's heartbeat is older than this. */
  deadmanSeconds: number;
  controlPort: number;
  /** The agent's port for outbound traffic (the helper's multiplexed tunnel, helper/agent/mux.mjs). */
  outboundPort: number;
  /** The session's secret: the agent reads it from the session's Secret and checks the helper has it. */
  token: string;
  keep: KeepOptions;
}

/** The workload a session replaced, as the restorer is told it ("Deployment/api"). */
type WorkloadRef = { kind: ResolvedTarget["workload"]["kind"]; name: string };

/**
 * What the agent keeps of the container it replaces (the profile's choice). Kept liveness
 * and startup probes (httpGet, tcpSocket) are answered by the agent itself; readiness is
 * always the agent's own (ready once it listens); kept lifecycle hooks run in the agent's image.
 */
export interface KeepOptions {
  probes: boolean;
  lifecycleHooks: boolean;
}

export function labelsFor(session: SessionIdentity): Record<string, string> {
  return { ...MANAGED_BY, [SESSION_LABEL]: session.id, [OWNER_LABEL]: session.owner.replace(/[^A-Za-z0-9._-]/g, ".").slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "") };
}

export const sessionObjectNames = (session: Pick<SessionIdentity, "id">) => ({ original: savedOriginalName(session.id), agent: `kbridge-${session.id}-agent`, restorer: `kbridge-${session.id}-restorer`, pod: `kbridge-${session.id}-pod` });

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

/**
 * What every session creates before it changes anything: the Secret with what a restore
 * needs (and the heartbeat, and the agent's token), the agent scripts, and the restorer.
 * `restoreRules`: what the restorer may do beyond removing the session's own objects.
 */
export async function prepareSession(connection: ClusterConnection, namespace: string, session: SessionIdentity, options: AgentOptions, saved: Record<string, string>, restoreRules: V1PolicyRule[], workload?: WorkloadRef): Promise<void> {
  const labels = labelsFor(session);
  const annotations = { [EXPIRES_ANNOTATION]: session.expiresAt.toISOString() };
  const { original, agent } = sessionObjectNames(session);
  const secret = await clusterCall(connection, "save what a restore needs", () =>
    connection.core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: original, labels, annotations: { ...annotations, [OWNER_ANNOTATION]: session.owner, [HEARTBEAT_ANNOTATION]: "0" } },
        type: "Opaque",
        stringData: { ...saved, [TOKEN_KEY]: options.token },
      },
    }),
  );
  // Owned by the Secret: when the restorer deletes it (its last act, its own rights going with it), the cluster's garbage collector removes the rest.
  const owner = [{ apiVersion: "v1", kind: "Secret", name: original, uid: secret.metadata?.uid ?? "" }];
  await clusterCall(connection, "deliver the agent script", () =>
    connection.core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: agent, labels, annotations, ownerReferences: owner }, data: Object.fromEntries(SCRIPTS.map((file) => [file, fs.readFileSync(new URL(`../agent/${file}`, import.meta.url), "utf8")])) },
    }),
  );
  await startRestorer(connection, namespace, restoreRules, session, options, owner, workload);
}

/**
 * The restorer: its own ServiceAccount with a Role limited to a restore (the rules given,
 * and the session's own objects), and a pod that watches the helper's heartbeat.
 */
async function startRestorer(connection: ClusterConnection, namespace: string, restoreRules: V1PolicyRule[], session: SessionIdentity, options: AgentOptions, owner: V1OwnerReference[], workload?: WorkloadRef): Promise<void> {
  const labels = labelsFor(session);
  const annotations = { [EXPIRES_ANNOTATION]: session.expiresAt.toISOString() };
  const { restorer, agent, original } = sessionObjectNames(session);
  const metadata = { name: restorer, labels: { ...labels, [ROLE_LABEL]: "restorer" }, annotations, ownerReferences: owner };
  await clusterCall(connection, "create the restorer's service account", () => connection.core.createNamespacedServiceAccount({ namespace, body: { metadata } }));
  await clusterCall(connection, "create the restorer's role", () =>
    connection.rbac.createNamespacedRole({
      namespace,
      body: {
        metadata,
        rules: [
          ...restoreRules,
          { apiGroups: [""], resources: ["secrets", "configmaps", "pods", "serviceaccounts"], verbs: ["get", "list", "delete"] },
          // What it saw and did, for the helper and the Cluster page.
          { apiGroups: [""], resources: ["secrets"], resourceNames: [original], verbs: ["patch"] },
          { apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: ["list", "delete"] },
          { apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles", "rolebindings"], verbs: ["list", "delete"] },
        ],
      },
    }),
  );
  await clusterCall(connection, "bind the restorer's role", () =>
    connection.rbac.createNamespacedRoleBinding({
      namespace,
      body: { metadata, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: restorer }, subjects: [{ kind: "ServiceAccount", name: restorer, namespace }] },
    }),
  );
  await clusterCall(connection, "start the restorer", () =>
    connection.core.createNamespacedPod({
      namespace,
      body: {
        metadata,
        spec: {
          serviceAccountName: restorer,
          restartPolicy: "OnFailure",
          securityContext: { runAsNonRoot: true, runAsUser: 1000 },
          containers: [
            {
              name: "restorer",
              image: options.image,
              command: ["node", `${AGENT_MOUNT}/restorer.mjs`],
              env: [
                { name: "KBRIDGE_SESSION", value: session.id },
                { name: "KBRIDGE_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                { name: "KBRIDGE_DEADMAN_SECONDS", value: String(options.deadmanSeconds) },
                ...(workload ? [{ name: "KBRIDGE_WORKLOAD", value: `${workload.kind}/${workload.name}` }] : []),
              ],
              volumeMounts: [{ name: "kbridge-agent", mountPath: AGENT_MOUNT, readOnly: true }],
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
              resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "96Mi" } },
            },
          ],
          volumes: [{ name: "kbridge-agent", configMap: { name: agent, defaultMode: 0o444 } }],
        },
      },
    }),
  );
}

/**
 * Tells the restorer the helper is alive: `value` must differ from the last one written (the
 * restorer judges by change seen on its own clock, never by a time the workstation wrote).
 * False when the session is gone from the cluster; throws when the cluster does not answer
 * within `timeoutMs` (a renewal that waits longer is worth less than the next try).
 */
export async function renewHeartbeat(connection: ClusterConnection, namespace: string, sessionId: string, value: string, timeoutMs = connection.timeoutMs): Promise<boolean> {
  const { original } = sessionObjectNames({ id: sessionId });
  let response: { status: number; body: unknown };
  try {
    response = await connection.request("PATCH", `/api/v1/namespaces/${namespace}/secrets/${original}`, { metadata: { annotations: { [HEARTBEAT_ANNOTATION]: value } } }, { timeoutMs });
  } catch (error) {
    throw new KbridgeError({ code: "cluster-unreachable", category: "cluster", message: `Cannot reach the cluster of context "${connection.context}" to renew the session heartbeat: ${(error as Error).message}.` }, { cause: error });
  }
  if (response.status === 404) return false;
  if (response.status >= 300) {
    const message = (response.body as { message?: string } | undefined)?.message;
    throw new KbridgeError({ code: "cluster-error", category: "cluster", message: `The cluster could not renew the session heartbeat (HTTP ${response.status})${message ? `: ${message}` : ""}.` });
  }
  return true;
}

export function agentTemplate(template: V1PodTemplateSpec, containerName: string, ports: number[], session: SessionIdentity, configMap: string, options: AgentOptions): V1PodTemplateSpec {
  const copy = structuredClone(template);
  copy.metadata = { ...copy.metadata, labels: { ...copy.metadata?.labels, [SESSION_LABEL]: session.id, [ROLE_LABEL]: "agent" }, annotations: { ...copy.metadata?.annotations, [SESSION_LABEL]: session.id } };
  const spec = copy.spec!;
  spec.containers = spec.containers.map((container): V1Container => {
    if (container.name !== containerName) return container;
    const agent: V1Container = {
      ...container,
      image: options.image,
      command: ["node", `${AGENT_MOUNT}/agent.mjs`],
      args: [],
      env: [
        ...(container.env ?? []),
        { name: "KBRIDGE_PORTS", value: ports.join(",") },
        { name: "KBRIDGE_CONTROL_PORT", value: String(options.controlPort) },
        { name: "KBRIDGE_OUTBOUND_PORT", value: String(options.outboundPort) },
        { name: "KBRIDGE_SESSION", value: session.id },
        { name: "KBRIDGE_TOKEN", valueFrom: { secretKeyRef: { name: savedOriginalName(session.id), key: TOKEN_KEY } } },
      ],
      ports: [
        ...(container.ports ?? []),
        { name: "kbridge-control", containerPort: options.controlPort, protocol: "TCP" },
        { name: "kbridge-outbound", containerPort: options.outboundPort, protocol: "TCP" },
      ],
      volumeMounts: [...(container.volumeMounts ?? []), { name: "kbridge-agent", mountPath: AGENT_MOUNT, readOnly: true }],
      // Ready once the agent listens, whatever the application's own probe checked.
      readinessProbe: { tcpSocket: { port: options.controlPort }, periodSeconds: 1 },
      securityContext: { ...container.securityContext, runAsNonRoot: true, runAsUser: container.securityContext?.runAsUser ?? 1000, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
    };
    delete agent.workingDir;
    // Kept liveness and startup probes are answered by the agent itself (KBRIDGE_PROBES), so
    // the pod stays healthy whatever the workstation does; exec and gRPC probes cannot be.
    const answered: { port: number; path?: string }[] = [];
    for (const key of ["livenessProbe", "startupProbe"] as const) {
      const probe = agent[key];
      const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
      const number = typeof port === "number" || /^\d+$/.test(String(port)) ? Number(port) : container.ports?.find((p) => p.name === port)?.containerPort;
      if (!options.keep.probes || !probe || number === undefined) {
        delete agent[key];
        continue;
      }
      answered.push({ port: number, ...(probe.httpGet ? { path: probe.httpGet.path ?? "/" } : {}) });
    }
    if (answered.length > 0) agent.env = [...(agent.env ?? []), { name: "KBRIDGE_PROBES", value: JSON.stringify(answered) }];
    if (!options.keep.lifecycleHooks) delete agent.lifecycle;
    return agent;
  });
  spec.volumes = [...(spec.volumes ?? []), { name: "kbridge-agent", configMap: { name: configMap, defaultMode: 0o444 } }];
  return copy;
}

/** The metadata kbridge reads of its own objects. */
export interface Labelled {
  metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: Date | string };
}

export interface KbridgeKind {
  kind: string;
  list(labelSelector: string): Promise<{ items: Labelled[] }>;
  read(name: string): Promise<Labelled>;
  remove(name: string): Promise<unknown>;
}

/**
 * Every kind of object kbridge creates in a namespace, in the order a removal goes: the pods
 * first, the Secret with the saved original (and the heartbeat) last.
 */
export function kbridgeKinds(connection: ClusterConnection, namespace: string): KbridgeKind[] {
  const { core, rbac, networking } = connection;
  return [
    { kind: "Pod", list: (labelSelector) => core.listNamespacedPod({ namespace, labelSelector }), read: (name) => core.readNamespacedPod({ name, namespace }), remove: (name) => core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }) },
    { kind: "RoleBinding", list: (labelSelector) => rbac.listNamespacedRoleBinding({ namespace, labelSelector }), read: (name) => rbac.readNamespacedRoleBinding({ name, namespace }), remove: (name) => rbac.deleteNamespacedRoleBinding({ name, namespace }) },
    { kind: "Role", list: (labelSelector) => rbac.listNamespacedRole({ namespace, labelSelector }), read: (name) => rbac.readNamespacedRole({ name, namespace }), remove: (name) => rbac.deleteNamespacedRole({ name, namespace }) },
    { kind: "ServiceAccount", list: (labelSelector) => core.listNamespacedServiceAccount({ namespace, labelSelector }), read: (name) => core.readNamespacedServiceAccount({ name, namespace }), remove: (name) => core.deleteNamespacedServiceAccount({ name, namespace }) },
    { kind: "ConfigMap", list: (labelSelector) => core.listNamespacedConfigMap({ namespace, labelSelector }), read: (name) => core.readNamespacedConfigMap({ name, namespace }), remove: (name) => core.deleteNamespacedConfigMap({ name, namespace }) },
    { kind: "Ingress", list: (labelSelector) => networking.listNamespacedIngress({ namespace, labelSelector }), read: (name) => networking.readNamespacedIngress({ name, namespace }), remove: (name) => networking.deleteNamespacedIngress({ name, namespace }) },
    { kind: "Secret", list: (labelSelector) => core.listNamespacedSecret({ namespace, labelSelector }), read: (name) => core.readNamespacedSecret({ name, namespace }), remove: (name) => core.deleteNamespacedSecret({ name, namespace }) },
  ];
}


/** Every object of kbridge's in the namespace (optionally of one session), with its kind. */
export async function kbridgeObjects(connection: ClusterConnection, namespace: string, sessionId?: string): Promise<{ kind: KbridgeKind; item: Labelled }[]> {
  const labelSelector = sessionId ? `${SESSION_LABEL}=${sessionId},${MANAGED_SELECTOR}` : MANAGED_SELECTOR;
  const lists = await Promise.all(kbridgeKinds(connection, namespace).map((kind) => clusterCall(connection, `list kbridge's ${kind.kind} objects`, () => kind.list(labelSelector)).then((list) => list.items.map((item) => ({ kind, item })))));
  return lists.flat();
}

/** The session's agent pods that are ready and not on their way out. */
export async function readyAgentPods(connection: ClusterConnection, namespace: string, sessionId: string): Promise<string[]> {
  const pods = await clusterCall(connection, "list the agent pods", () => connection.core.listNamespacedPod({ namespace, labelSelector: agentPods(sessionId) }));
  return pods.items.filter((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).map((p) => p.metadata?.name ?? "");
}

/**
 * Waits until `replicas` agent pods of the session are ready; fails fast, naming the pod and
 * the reason, on a pull failure, a config error or a crash loop, and names what it waited
 * for when the timeout passes.
 */
export async function waitForAgentPods(connection: ClusterConnection, namespace: string, sessionId: string, replicas: number, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pods: V1Pod[] = (await clusterCall(connection, "list the agent pods", () => connection.core.listNamespacedPod({ namespace, labelSelector: agentPods(sessionId) }))).items.filter((p) => !p.metadata?.deletionTimestamp);
    const ready = pods.filter((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
    if (ready.length >= replicas) return ready.map((p) => p.metadata?.name ?? "");
    for (const pod of pods) {
      for (const status of pod.status?.containerStatuses ?? []) {
        const reason = status.state?.waiting?.reason;
        if (reason && STUCK_REASONS.has(reason)) {
          throw new KbridgeError({
            code: "agent-failed",
            category: "cluster",
            message: `The agent pod ${pod.metadata?.name} cannot start: ${reason}${status.state?.waiting?.message ? ` (${status.state.waiting.message})` : ""}.`,
            hint: reason.includes("Image") ? "If your cluster cannot pull this image, name one it can pull (with Node.js ≥ 18): the profile's Agent image, or kbridge connect --agent-image." : "See the agent's log: kubectl logs " + pod.metadata?.name + ` -n ${namespace}`,
          });
        }
      }
    }
    if (Date.now() > deadline) {
      const states = pods.map((p) => `${p.metadata?.name} is ${p.status?.phase ?? "not scheduled"}`).join("; ") || "no agent pod was created (an admission webhook or quota may have refused it)";
      throw new KbridgeError({
        code: "agent-timeout",
        category: "cluster",
        message: `Timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${replicas} agent pod(s) to be ready: ${ready.length} ready; ${states}.`,
        hint: `Look at the events: kubectl get events -n ${namespace} --sort-by=.lastTimestamp`,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Waits until none of the workload's own pods serves any more (the rollout to the agent has
 * retired them, or the bare pod is terminating), so that "connected" means every request
 * reaches the workstation.
 */
export async function waitForOriginalsRetired(connection: ClusterConnection, namespace: string, podLabels: Record<string, string>, sessionId: string, timeoutMs: number): Promise<void> {
  const labelSelector = Object.entries(podLabels).map(([key, value]) => `${key}=${value}`).join(",");
  if (!labelSelector) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pods = await clusterCall(connection, "list the workload's pods", () => connection.core.listNamespacedPod({ namespace, labelSelector }));
    const serving = pods.items.filter((p) => !p.metadata?.deletionTimestamp && p.metadata?.labels?.[SESSION_LABEL] !== sessionId).map((p) => p.metadata?.name ?? "");
    if (serving.length === 0) return;
    if (Date.now() > deadline) {
      throw new KbridgeError({
        code: "originals-still-serving",
        category: "cluster",
        message: `Timed out after ${Math.round(timeoutMs / 1000)} s waiting for the workload's own pods to make way for the agent: ${serving.join(", ")} still serving.`,
        hint: `A paused rollout, a PodDisruptionBudget or a stuck controller can hold them: kubectl describe pod ${serving[0]} -n ${namespace}`,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
