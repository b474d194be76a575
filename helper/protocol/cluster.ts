/** What the dashboard browses in a cluster: namespaces and services for the connect wizard, kbridge's own objects for the cluster page. */
import { z } from "zod";

export const contextRefSchema = z.object({ kubeContext: z.string().max(253, "Kube context must be at most 253 characters").min(1, "Kube context is required") }).strict();
export const namespaceRefSchema = z.object({ kubeContext: z.string().max(253, "Kube context must be at most 253 characters").min(1, "Kube context is required"), namespace: z.string().max(63, "Namespace must be at most 63 characters").min(1, "Namespace is required") }).strict();
export const removeObjectsSchema = z
  .object({
    kubeContext: z.string().max(253, "Kube context must be at most 253 characters").min(1, "Kube context is required"),
    namespace: z.string().max(63, "Namespace must be at most 63 characters").min(1, "Namespace is required"),
    /** Every object of this session (restoring its workload first), or… */
    sessionId: z.string().min(1).max(64).optional(),
    /** …one object. */
    object: z.object({ kind: z.string().min(1).max(64), name: z.string().min(1).max(253) }).strict().optional(),
  })
  .strict()
  .refine((input) => (input.sessionId === undefined) !== (input.object === undefined), "Name either a session or one object");

export interface NamespaceView {
  name: string;
  phase: string;
}

/**
 * The namespaces a picker offers. A user holding rights in a few namespaces only (`edit`
 * through a RoleBinding) may not list them: then only the context's own namespace is
 * offered, `listed` is false and `reason` says why, so the picker lets them type another.
 */
export interface NamespaceList {
  namespaces: NamespaceView[];
  listed: boolean;
  reason?: string;
}

export interface PodView {
  name: string;
  phase: string;
  ready: boolean;
  containers: string[];
}

export interface ServiceView {
  name: string;
  type: string;
  /** containerPort: the targetPort as a number (a named one resolved in the selected pods). */
  ports: { name?: string; port: number; targetPort: string; containerPort?: number; protocol: string }[];
  /** The workload behind it, when one owns its pods. */
  workload?: { kind: string; name: string };
  pods: number;
  ready: number;
  headless: boolean;
  /** Its requests pass through kbridge's routers (a teammate isolates it): workload, pods and ports are those it selected before. */
  routed?: boolean;
}

export interface KbridgeObjectView {
  kind: string;
  name: string;
  session: string;
  owner: string;
  role?: string;
  createdAt: string;
  expiresAt?: string;
  /** Its session's helper is gone (see ClusterSessionView.state), or it is past its expiry. */
  stale: boolean;
}

/**
 * A session as the cluster shows it, judged without anyone's wall clock: `live` (its
 * heartbeat changes, or it has not been watched long enough to say), `silent` (no change seen
 * for its dead-man interval), `restoring` / `restore-failed` (what its restorer published),
 * `orphaned` (a workload still runs its agent, but its saved original is gone).
 */
export interface ClusterSessionView {
  session: string;
  owner: string;
  state: "live" | "silent" | "restoring" | "restore-failed" | "orphaned";
  /** The workload it holds ("deployment/api"), when it holds one. */
  workload?: string;
  /** What is wrong, and what to do (restore-failed, orphaned). */
  message?: string;
  hint?: string;
}

/** The cluster page's view of a namespace: kbridge's objects and the sessions they belong to. */
export interface ClusterInventory {
  objects: KbridgeObjectView[];
  sessions: ClusterSessionView[];
  /** Kinds kbridge creates that this user may not list (a developer with `edit` cannot read Roles): not shown. */
  unlisted?: string[];
}

/** An isolation session as the cluster shows it (every teammate's Team page lists it). */
export interface IsolationView {
  session: string;
  namespace: string;
  owner: string;
  /** The Service whose requests carrying the key go to the developer. */
  service: string;
  routingKey: string;
  /** Personal URLs: `<key>.<ingress host>`. */
  urls: string[];
  /** The developer's agent is ready. */
  ready: boolean;
  startedAt: string;
  expiresAt?: string;
}
