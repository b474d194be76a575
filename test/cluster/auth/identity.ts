/**
 * Who sent a request, as the API server's authenticators name them: a user name and its
 * groups (every authenticated caller is in `system:authenticated`), and where the credential
 * came from (the faults a test injects pick callers by it).
 */
export interface Caller {
  user: string;
  groups: string[];
  /** "kubeconfig": a user's token or certificate; "pods": a pod's service-account token. */
  from: "kubeconfig" | "pods";
}

export const AUTHENTICATED = "system:authenticated";
export const MASTERS = "system:masters";

export function userCaller(user: string, groups: string[] = []): Caller {
  return { user, groups: [...new Set([...groups, AUTHENTICATED])], from: "kubeconfig" };
}

/** A ServiceAccount token's user, with the groups the token authenticator gives it. */
export function serviceAccountCaller(namespace: string, name: string): Caller {
  return { user: serviceAccountUser(namespace, name), groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, AUTHENTICATED], from: "pods" };
}

export const serviceAccountUser = (namespace: string, name: string) => `system:serviceaccount:${namespace}:${name}`;

/** `groups=["a" "b"]`, as Go's %q of a string slice prints in RBAC's messages. */
export const goStrings = (values: string[]) => `[${values.map((v) => JSON.stringify(v)).join(" ")}]`;
