/**
 * A session's own objects, made before anything of the user's changes: the Secret with what a
 * restore needs (its anchor: every other object is owned by it), the agent scripts, and the
 * restorer with the rights a restore needs; and the heartbeat on that Secret.
 */
import fs from "node:fs";
import type { V1ObjectMeta, V1OwnerReference, V1PolicyRule } from "@kubernetes/client-node";
import { KbridgeError, type ResolvedTarget } from "../protocol/index.ts";
import { AGENT_MOUNT, type AgentOptions } from "./agentTemplate.ts";
import { clusterCall, type ClusterConnection } from "./clusterConnection.ts";
import { OWN_CONTAINER_SECURITY, ownPodSecurity, restorerResources } from "./podSecurity.ts";
import { EXPIRES_ANNOTATION, HEARTBEAT_ANNOTATION, labelsFor, OWNER_ANNOTATION, ROLE_LABEL, sessionObjectNames, type SessionIdentity } from "./sessionLabels.ts";

/** What the session's ConfigMap carries: the agent, and the restorer with the modules it shares with the helper. */
const SCRIPTS = ["agent.mjs", "helloProof.mjs", "volumeFiles.mjs", "mux.mjs", "muxWire.mjs", "muxStream.mjs", "readInto.mjs", "restorer.mjs", "restore.mjs", "deadman.mjs", "names.mjs"];

/** The workload a session replaced, as the restorer is told it ("Deployment/api"). */
export type WorkloadRef = { kind: ResolvedTarget["workload"]["kind"]; name: string };

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
        stringData: saved,
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
 * The restorer: a pod that watches the helper's heartbeat, running as the namespace's
 * `kbridge setup` account, or else as its own ServiceAccount with a Role limited to a restore
 * (the rules given, and the session's own objects).
 */
async function startRestorer(connection: ClusterConnection, namespace: string, restoreRules: V1PolicyRule[], session: SessionIdentity, options: AgentOptions, owner: V1OwnerReference[], workload?: WorkloadRef): Promise<void> {
  const labels = labelsFor(session);
  const annotations = { [EXPIRES_ANNOTATION]: session.expiresAt.toISOString() };
  const { restorer, agent, original } = sessionObjectNames(session);
  const metadata = { name: restorer, labels: { ...labels, [ROLE_LABEL]: "restorer" }, annotations, ownerReferences: owner };
  if (!options.restorerAccount) await createRestorerIdentity(connection, namespace, restoreRules, metadata, { original, agent });
  await clusterCall(connection, "start the restorer", () =>
    connection.core.createNamespacedPod({
      namespace,
      body: {
        metadata,
        spec: {
          serviceAccountName: options.restorerAccount ?? restorer,
          restartPolicy: "OnFailure",
          securityContext: ownPodSecurity(options.assignsUsers === true),
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
              securityContext: OWN_CONTAINER_SECURITY,
              resources: restorerResources(options.podResources),
            },
          ],
          volumes: [{ name: "kbridge-agent", configMap: { name: agent, defaultMode: 0o444 } }],
        },
      },
    }),
  );
}

/** The session's own restorer identity: a ServiceAccount, a Role limited to this restore, and the binding. */
/**
 * The session's own restorer identity: a ServiceAccount, and a Role with what the restore
 * uses — the session's own objects by name (never another Secret of the namespace), pods,
 * the session's ingresses — and `restoreRules`.
 */
async function createRestorerIdentity(connection: ClusterConnection, namespace: string, restoreRules: V1PolicyRule[], metadata: V1ObjectMeta & { name: string }, names: { original: string; agent: string }): Promise<void> {
  await clusterCall(connection, "create the restorer's service account", () => connection.core.createNamespacedServiceAccount({ namespace, body: { metadata } }));
  await clusterCall(connection, "create the restorer's role", () =>
    connection.rbac.createNamespacedRole({
      namespace,
      body: {
        metadata,
        rules: [
          ...restoreRules,
          { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "delete"] },
          // The saved original (read; patched with what it saw and did; deleted last), its scripts and its own identity.
          { apiGroups: [""], resources: ["secrets"], resourceNames: [names.original], verbs: ["get", "patch", "delete"] },
          { apiGroups: [""], resources: ["configmaps"], resourceNames: [names.agent], verbs: ["get", "delete"] },
          { apiGroups: [""], resources: ["serviceaccounts"], resourceNames: [metadata.name], verbs: ["get", "delete"] },
          { apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles", "rolebindings"], resourceNames: [metadata.name], verbs: ["get", "delete"] },
          { apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: ["list", "delete"] },
        ],
      },
    }),
  );
  await clusterCall(connection, "bind the restorer's role", () =>
    connection.rbac.createNamespacedRoleBinding({
      namespace,
      body: { metadata, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: metadata.name }, subjects: [{ kind: "ServiceAccount", name: metadata.name, namespace }] },
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

