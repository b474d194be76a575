/** Types for names.mjs (plain JavaScript: the restorer runs it on the stock node image). */
export declare const MANAGED_BY_KEY: "app.kubernetes.io/managed-by";
export declare const MANAGED_BY_VALUE: "kbridge";
export declare const MANAGED_SELECTOR: "app.kubernetes.io/managed-by=kbridge";
export declare const SESSION_LABEL: "kbridge.dev/session";
export declare const OWNER_LABEL: "kbridge.dev/owner";
export declare const OWNER_ANNOTATION: "kbridge.dev/owner";
export declare const ROLE_LABEL: "kbridge.dev/role";
export declare const EXPIRES_ANNOTATION: "kbridge.dev/expires";
export declare const ORIGINAL_ANNOTATION: "kbridge.dev/original";
export declare const HEARTBEAT_ANNOTATION: "kbridge.dev/heartbeat";
export declare const RESTORER_STATUS_ANNOTATION: "kbridge.dev/restorer-status";
export declare const REPLACES_ANNOTATION: "kbridge.dev/replaces";
export declare const ROUTING_KEY_LABEL: "kbridge.dev/routing-key";
export declare const ROUTE_FROM_LABEL: "kbridge.dev/route-from";
export declare const ROUTER_LABEL: "kbridge.dev/router";
export declare const ORIGINAL_SELECTOR_ANNOTATION: "kbridge.dev/original-selector";
export declare const ROUTER_SHARED: "kbridge-router";
export declare function savedOriginalName(sessionId: string): string;
