/**
 * The ClusterRoles and ClusterRoleBindings a fresh cluster has: the user-facing `view`,
 * `edit`, `admin` and `cluster-admin` (their rules as the aggregated v1.32 roles hold them,
 * for the resources this cluster serves and the common ones it does not), and the discovery,
 * basic-user and public-info roles every authenticated caller is bound to.
 */
import type { KubeObject } from "../apiserver/store.ts";
import { AUTHENTICATED, MASTERS } from "./identity.ts";

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

const READ = ["get", "list", "watch"];
const WRITE = ["create", "delete", "deletecollection", "patch", "update"];

const VIEW: PolicyRule[] = [
  {
    apiGroups: [""],
    resources: [
      "configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods", "replicationcontrollers", "replicationcontrollers/scale",
      "serviceaccounts", "services", "services/status", "bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
      "replicationcontrollers/status", "resourcequotas", "resourcequotas/status", "namespaces",
    ],
    verbs: READ,
  },
  {
    apiGroups: ["apps"],
    resources: [
      "controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status", "replicasets", "replicasets/scale",
      "replicasets/status", "statefulsets", "statefulsets/scale", "statefulsets/status",
    ],
    verbs: READ,
  },
  { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers", "horizontalpodautoscalers/status"], verbs: READ },
  { apiGroups: ["batch"], resources: ["cronjobs", "cronjobs/status", "jobs", "jobs/status"], verbs: READ },
  { apiGroups: ["policy"], resources: ["poddisruptionbudgets", "poddisruptionbudgets/status"], verbs: READ },
  { apiGroups: ["networking.k8s.io"], resources: ["ingresses", "ingresses/status", "networkpolicies"], verbs: READ },
  { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: READ },
];

const EDIT: PolicyRule[] = [
  ...VIEW,
  { apiGroups: [""], resources: ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"], verbs: READ },
  { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["impersonate"] },
  { apiGroups: [""], resources: ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"], verbs: WRITE },
  { apiGroups: [""], resources: ["pods/eviction"], verbs: ["create"] },
  {
    apiGroups: [""],
    resources: ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers", "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"],
    verbs: WRITE,
  },
  { apiGroups: [""], resources: ["serviceaccounts/token"], verbs: ["create"] },
  { apiGroups: ["apps"], resources: ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets", "replicasets/scale", "statefulsets", "statefulsets/scale"], verbs: WRITE },
  { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers"], verbs: WRITE },
  { apiGroups: ["batch"], resources: ["cronjobs", "jobs"], verbs: WRITE },
  { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: WRITE },
  { apiGroups: ["networking.k8s.io"], resources: ["ingresses", "networkpolicies"], verbs: WRITE },
];

const ADMIN: PolicyRule[] = [
  ...EDIT,
  { apiGroups: ["authorization.k8s.io"], resources: ["localsubjectaccessreviews"], verbs: ["create"] },
  { apiGroups: ["rbac.authorization.k8s.io"], resources: ["rolebindings", "roles"], verbs: [...WRITE, ...READ] },
];

const ROLES: Record<string, PolicyRule[]> = {
  "cluster-admin": [
    { apiGroups: ["*"], resources: ["*"], verbs: ["*"] },
    { nonResourceURLs: ["*"], verbs: ["*"] },
  ],
  admin: ADMIN,
  edit: EDIT,
  view: VIEW,
  "system:discovery": [{ nonResourceURLs: ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"], verbs: ["get"] }],
  "system:public-info-viewer": [{ nonResourceURLs: ["/healthz", "/livez", "/readyz", "/version", "/version/"], verbs: ["get"] }],
  "system:basic-user": [
    { apiGroups: ["authorization.k8s.io"], resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], verbs: ["create"] },
    { apiGroups: ["authentication.k8s.io"], resources: ["selfsubjectreviews"], verbs: ["create"] },
  ],
};

const BINDINGS: { name: string; role: string; group: string }[] = [
  { name: "cluster-admin", role: "cluster-admin", group: MASTERS },
  { name: "system:discovery", role: "system:discovery", group: AUTHENTICATED },
  { name: "system:basic-user", role: "system:basic-user", group: AUTHENTICATED },
  { name: "system:public-info-viewer", role: "system:public-info-viewer", group: AUTHENTICATED },
];

const BOOTSTRAP = { "kubernetes.io/bootstrapping": "rbac-defaults" };

export function builtinClusterRoles(): KubeObject[] {
  return Object.entries(ROLES).map(([name, rules]) => ({
    metadata: {
      name,
      labels: BOOTSTRAP,
      annotations: { "rbac.authorization.kubernetes.io/autoupdate": "true" },
    },
    rules: structuredClone(rules),
  }));
}

export function builtinClusterRoleBindings(): KubeObject[] {
  return BINDINGS.map(({ name, role, group }) => ({
    metadata: { name, labels: BOOTSTRAP, annotations: { "rbac.authorization.kubernetes.io/autoupdate": "true" } },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: group }],
  }));
}
