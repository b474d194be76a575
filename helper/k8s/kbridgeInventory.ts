/**
 * Every kind of object kbridge creates in a namespace, and every such object, found by label.
 */
import { KbridgeError } from "../protocol/index.ts";
import { clusterCall, type ClusterConnection } from "./clusterConnection.ts";
import { MANAGED_SELECTOR, SESSION_LABEL } from "./sessionLabels.ts";

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

export interface KbridgeObjects {
  found: { kind: KbridgeKind; item: Labelled }[];
  /** Kinds the user may not list (`edit` cannot read Roles and RoleBindings): their objects, if any, are not in `found`. */
  unlisted: string[];
}

/** Every object of kbridge's in the namespace (optionally of one session), with its kind. */
export async function kbridgeObjects(connection: ClusterConnection, namespace: string, sessionId?: string): Promise<KbridgeObjects> {
  const labelSelector = sessionId ? `${SESSION_LABEL}=${sessionId},${MANAGED_SELECTOR}` : MANAGED_SELECTOR;
  const lists = await Promise.all(
    kbridgeKinds(connection, namespace).map((kind) =>
      clusterCall(connection, `list kbridge's ${kind.kind} objects`, () => kind.list(labelSelector)).then(
        (list) => list.items.map((item) => ({ kind, item })),
        (error: unknown) => {
          if (error instanceof KbridgeError && error.info.code === "cluster-forbidden") return kind.kind;
          throw error;
        },
      ),
    ),
  );
  return { found: lists.flatMap((list) => (typeof list === "string" ? [] : list)), unlisted: lists.filter((list) => typeof list === "string") };
}
