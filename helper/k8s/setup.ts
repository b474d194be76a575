/**
 * `kbridge setup`: the one-time, namespace-scoped identities an administrator creates so that
 * developers who hold only `edit` can connect — a ServiceAccount, Role and RoleBinding for the
 * restorer (every session's restorer pod runs as it) and for the routers. The Roles grant
 * nothing `edit` does not (no RBAC rights), so a pod running as them is no escalation.
 * Idempotent; `removeSetup` takes them away. Labelled part-of kbridge, not managed-by: a clean
 * never removes them.
 */
import type { V1PolicyRule, V1Role, V1RoleBinding, V1ServiceAccount } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { ROUTER_SHARED } from "../agent/names.mjs";
import { clusterCall, type ClusterConnection } from "./clusterConnection.ts";
import { ROLE_LABEL } from "./sessionLabels.ts";

export const SETUP_RESTORER = "kbridge-restorer";
export const SETUP_LABELS = { "app.kubernetes.io/part-of": "kbridge", [ROLE_LABEL]: "setup" };

const RESTORER_RULES: V1PolicyRule[] = [
  { apiGroups: ["apps"], resources: ["deployments", "statefulsets"], verbs: ["get", "list", "watch", "update", "patch", "delete"] },
  { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch", "create", "update", "delete"] },
  // Sessions' Secrets by name only (a shared Role cannot name them): no list, so none is found that way.
  { apiGroups: [""], resources: ["secrets"], verbs: ["get", "patch", "delete"] },
  { apiGroups: [""], resources: ["configmaps", "serviceaccounts"], verbs: ["get", "delete"] },
  { apiGroups: [""], resources: ["services"], verbs: ["get", "list", "update"] },
  { apiGroups: ["networking.k8s.io"], resources: ["ingresses", "networkpolicies"], verbs: ["list", "delete"] },
];
const ROUTER_RULES: V1PolicyRule[] = [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }];

type SetupObject = { kind: "ServiceAccount"; body: V1ServiceAccount } | { kind: "Role"; body: V1Role } | { kind: "RoleBinding"; body: V1RoleBinding };

/** The objects `kbridge setup` creates in `namespace`, as they are applied (and printed as YAML). */
export function setupObjects(namespace: string): SetupObject[] {
  return [
    [SETUP_RESTORER, RESTORER_RULES],
    [ROUTER_SHARED, ROUTER_RULES],
  ].flatMap(([name, rules]) => {
    const metadata = { name: name as string, namespace, labels: SETUP_LABELS };
    return [
      { kind: "ServiceAccount" as const, body: { apiVersion: "v1", kind: "ServiceAccount", metadata } },
      { kind: "Role" as const, body: { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata, rules: rules as V1PolicyRule[] } },
      {
        kind: "RoleBinding" as const,
        body: { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: name as string }, subjects: [{ kind: "ServiceAccount", name: name as string, namespace }] },
      },
    ];
  });
}

/** The setup as plain YAML, for administrators who apply manifests themselves. */
export const setupYaml = (namespace: string) => setupObjects(namespace).map((o) => stringify(o.body)).join("---\n");

/** Creates or updates every setup object; returns what it wrote ("Role/kbridge-restorer"). */
export async function applySetup(connection: ClusterConnection, namespace: string): Promise<string[]> {
  const written: string[] = [];
  for (const { kind, body } of setupObjects(namespace)) {
    const name = body.metadata?.name ?? "";
    const what = `${kind}/${name}`;
    if (kind === "ServiceAccount") {
      const created = await clusterCall(connection, `create ${what}`, () => connection.core.createNamespacedServiceAccount({ namespace, body }), { conflict: "null" });
      if (!created) await clusterCall(connection, `label ${what}`, () => connection.core.patchNamespacedServiceAccount({ name, namespace, body: { metadata: { labels: SETUP_LABELS } } }));
    } else if (kind === "Role") {
      const created = await clusterCall(connection, `create ${what}`, () => connection.rbac.createNamespacedRole({ namespace, body }), { conflict: "null" });
      if (!created) await clusterCall(connection, `update ${what}`, () => connection.rbac.replaceNamespacedRole({ name, namespace, body }));
    } else {
      const created = await clusterCall(connection, `create ${what}`, () => connection.rbac.createNamespacedRoleBinding({ namespace, body }), { conflict: "null" });
      if (!created) {
        await clusterCall(connection, `replace ${what}`, () => connection.rbac.deleteNamespacedRoleBinding({ name, namespace }), { notFound: "null" });
        await clusterCall(connection, `create ${what}`, () => connection.rbac.createNamespacedRoleBinding({ namespace, body }));
      }
    }
    written.push(what);
  }
  return written;
}

/** Removes the setup objects (those that exist); returns what it removed. */
export async function removeSetup(connection: ClusterConnection, namespace: string): Promise<string[]> {
  const removed: string[] = [];
  for (const { kind, body } of setupObjects(namespace).reverse()) {
    const name = body.metadata?.name ?? "";
    const call =
      kind === "ServiceAccount"
        ? () => connection.core.deleteNamespacedServiceAccount({ name, namespace })
        : kind === "Role"
          ? () => connection.rbac.deleteNamespacedRole({ name, namespace })
          : () => connection.rbac.deleteNamespacedRoleBinding({ name, namespace });
    if (await clusterCall(connection, `delete ${kind}/${name}`, call, { notFound: "null" })) removed.push(`${kind}/${name}`);
  }
  return removed;
}

/** Whether the namespace has the setup (read through its ServiceAccount, which an `edit` user may read). */
export async function setupPresent(connection: ClusterConnection, namespace: string): Promise<boolean> {
  const account = await clusterCall(connection, `read ServiceAccount ${SETUP_RESTORER}`, () => connection.core.readNamespacedServiceAccount({ name: SETUP_RESTORER, namespace }), { notFound: "null" }).catch(() => null);
  return account?.metadata?.labels?.[ROLE_LABEL] === "setup";
}
