// The names kbridge gives its objects, labels and annotations in a cluster: one place for the
// helper (helper/k8s re-exports them) and for what runs in the cluster (the restorer reads
// them from here, shipped beside it).

export const MANAGED_BY_KEY = "app.kubernetes.io/managed-by";
export const MANAGED_BY_VALUE = "kbridge";
export const MANAGED_SELECTOR = `${MANAGED_BY_KEY}=${MANAGED_BY_VALUE}`;
/** On every object of a session; on a workload kbridge put an agent in, its claim (annotation). */
export const SESSION_LABEL = "kbridge.dev/session";
export const OWNER_LABEL = "kbridge.dev/owner";
/** Who runs a session, as they wrote it (the label is sanitised): on its Secret and its isolated agent. */
export const OWNER_ANNOTATION = "kbridge.dev/owner";
export const ROLE_LABEL = "kbridge.dev/role";
export const EXPIRES_ANNOTATION = "kbridge.dev/expires";
/** On a workload kbridge changed (and its agent pods): the Secret that holds its original. */
export const ORIGINAL_ANNOTATION = "kbridge.dev/original";
/** On a session's Secret: changed by its helper every few seconds while it lives. */
export const HEARTBEAT_ANNOTATION = "kbridge.dev/heartbeat";
/** On a session's Secret: what its restorer last saw and did (JSON: {state, at, message?, hint?}). */
export const RESTORER_STATUS_ANNOTATION = "kbridge.dev/restorer-status";
/** On an agent pod that stands in for a bare pod: the pod it replaces. */
export const REPLACES_ANNOTATION = "kbridge.dev/replaces";
/** On an isolated agent pod: its developer's routing key. */
export const ROUTING_KEY_LABEL = "kbridge.dev/routing-key";
/** On an isolated agent pod: the Service whose requests it takes when they carry its key. */
export const ROUTE_FROM_LABEL = "kbridge.dev/route-from";
/** On a router pod: the Service it routes (a routed Service's selector is this one label). */
export const ROUTER_LABEL = "kbridge.dev/router";
/** On a routed Service: its selector before kbridge changed it (JSON). */
export const ORIGINAL_SELECTOR_ANNOTATION = "kbridge.dev/original-selector";
/** The ServiceAccount, Role, RoleBinding and ConfigMap every router of a namespace shares. */
export const ROUTER_SHARED = "kbridge-router";

/** The Secret holding a session's saved original and its heartbeat. */
export const savedOriginalName = (sessionId) => `kbridge-${sessionId}-original`;
/** The ConfigMap with a session's agent and restorer scripts. */
export const agentConfigMapName = (sessionId) => `kbridge-${sessionId}-agent`;
/** A session's own restorer identity (ServiceAccount, Role, RoleBinding) and its pod. */
export const restorerName = (sessionId) => `kbridge-${sessionId}-restorer`;
