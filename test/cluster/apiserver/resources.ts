/**
 * The resource types the emulator serves, with what discovery and kubectl need to know of
 * each (plural, kind, scope, short names, verbs, subresources).
 */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  /** Subresources beyond the object itself ("status", "scale", "log", …). */
  subresources: string[];
  /** In `kubectl get all`. */
  categories: string[];
  /** What discovery says may be done (the reviews are create-only). */
  verbs: string[];
}

const VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

function type(
  group: string,
  version: string,
  plural: string,
  kind: string,
  namespaced: boolean,
  extra: { shortNames?: string[]; subresources?: string[]; all?: boolean; verbs?: string[] } = {},
): ResourceType {
  return {
    group,
    version,
    plural,
    singular: kind.toLowerCase(),
    kind,
    namespaced,
    shortNames: extra.shortNames ?? [],
    subresources: extra.subresources ?? [],
    categories: extra.all ? ["all"] : [],
    verbs: extra.verbs ?? VERBS,
  };
}

export const RESOURCE_TYPES: ResourceType[] = [
  type("", "v1", "namespaces", "Namespace", false, { shortNames: ["ns"], subresources: ["status"] }),
  type("", "v1", "pods", "Pod", true, { shortNames: ["po"], subresources: ["status", "log", "exec", "portforward", "attach"], all: true }),
  type("", "v1", "services", "Service", true, { shortNames: ["svc"], subresources: ["status"], all: true }),
  type("", "v1", "endpoints", "Endpoints", true, { shortNames: ["ep"] }),
  type("", "v1", "configmaps", "ConfigMap", true, { shortNames: ["cm"] }),
  type("", "v1", "secrets", "Secret", true),
  type("", "v1", "serviceaccounts", "ServiceAccount", true, { shortNames: ["sa"] }),
  type("", "v1", "events", "Event", true, { shortNames: ["ev"] }),
  type("", "v1", "nodes", "Node", false, { shortNames: ["no"], subresources: ["status"] }),
  type("apps", "v1", "deployments", "Deployment", true, { shortNames: ["deploy"], subresources: ["status", "scale"], all: true }),
  type("apps", "v1", "replicasets", "ReplicaSet", true, { shortNames: ["rs"], subresources: ["status", "scale"], all: true }),
  type("apps", "v1", "statefulsets", "StatefulSet", true, { shortNames: ["sts"], subresources: ["status", "scale"], all: true }),
  type("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true),
  type("networking.k8s.io", "v1", "ingresses", "Ingress", true, { shortNames: ["ing"], subresources: ["status"] }),
  type("", "v1", "resourcequotas", "ResourceQuota", true, { shortNames: ["quota"], subresources: ["status"] }),
  type("", "v1", "limitranges", "LimitRange", true, { shortNames: ["limits"] }),
  type("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true, { shortNames: ["netpol"] }),
  type("rbac.authorization.k8s.io", "v1", "roles", "Role", true),
  type("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true),
  type("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false),
  type("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false),
  // Answered, never stored (auth/reviews.ts).
  type("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", false, { verbs: ["create"] }),
  type("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", false, { verbs: ["create"] }),
  type("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", false, { verbs: ["create"] }),
];

export function apiVersionOf(type: ResourceType): string {
  return type.group === "" ? type.version : `${type.group}/${type.version}`;
}

export function findType(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.plural === plural);
}

export function typeOfKind(apiVersion: string, kind: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => apiVersionOf(t) === apiVersion && t.kind === kind);
}

/** The group/versions served, in discovery order ("" is the legacy core group). */
export function groupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const t of RESOURCE_TYPES) seen.set(`${t.group}/${t.version}`, { group: t.group, version: t.version });
  return [...seen.values()];
}
