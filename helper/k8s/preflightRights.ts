/**
 * The rights each connect mode uses, as access reviews the cluster answers for the user:
 * what a plain session needs (its Secret, scripts and restorer pod, the workload's update,
 * port-forward to the agent, reading its pods, events and environment), what isolation adds
 * (routers, Services, personal Ingresses, NetworkPolicies for the routers), and — without `kbridge setup` — what a session needs
 * to make its own restorer identity.
 */
import type { ResolvedTarget } from "../protocol/index.ts";
import type { ClusterConnection } from "./clusterConnection.ts";

export interface Right {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  name?: string;
  /** Needed only to make a session's own restorer identity. */
  forRestorer?: boolean;
}

const core = (resource: string, verbs: string[], extra: Partial<Right> = {}): Right[] => verbs.map((verb) => ({ verb, group: "", resource, ...extra }));

export function requiredRights(target: ResolvedTarget, isolate: boolean, hasSetup: boolean): Right[] {
  const { kind, name } = target.workload;
  const rights: Right[] = [
    ...core("secrets", ["create", "get", "delete"]),
    ...core("configmaps", ["create", "get", "delete"]),
    ...core("pods", ["create", "get", "list", "watch", "delete"]),
    ...core("pods", ["create"], { subresource: "portforward" }),
    ...core("services", ["get", "list"]),
    ...core("events", ["list"]),
  ];
  if (kind === "Pod") rights.push(...core("pods", ["update"]));
  else rights.push(...["get", "update", "patch"].map((verb) => ({ verb, group: "apps", resource: kind === "Deployment" ? "deployments" : "statefulsets", name })));
  if (isolate) {
    rights.push(...["create", "get", "list", "delete"].map((verb) => ({ verb, group: "apps", resource: "deployments" })));
    rights.push(...core("services", ["update"]));
    rights.push(...["create", "list", "delete"].map((verb) => ({ verb, group: "networking.k8s.io", resource: "ingresses" })));
    rights.push(...["create", "list"].map((verb) => ({ verb, group: "networking.k8s.io", resource: "networkpolicies" })));
  }
  if (!hasSetup) {
    rights.push(...core("serviceaccounts", ["create"], { forRestorer: true }));
    rights.push(...["create", "delete"].flatMap((verb) => ["roles", "rolebindings"].map((resource) => ({ verb, group: "rbac.authorization.k8s.io", resource, forRestorer: true }))));
  }
  return rights;
}

const describe = (r: Right) => `${r.verb} ${r.resource}${r.subresource ? `/${r.subresource}` : ""}${r.group ? `.${r.group}` : ""}${r.name ? ` "${r.name}"` : ""}`;

/** Asks the cluster about every right (SelfSubjectAccessReview, in parallel); what it refuses, worded for the user. */
export async function accessChecks(connection: ClusterConnection, namespace: string, rights: Right[]): Promise<{ checked: number; missing: { text: string; forRestorer: boolean }[] }> {
  const answers = await Promise.all(
    rights.map(async (right) => {
      const spec = { resourceAttributes: { namespace, verb: right.verb, group: right.group, resource: right.resource, ...(right.subresource ? { subresource: right.subresource } : {}), ...(right.name ? { name: right.name } : {}) } };
      const response = await connection.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", spec });
      const allowed = response.status < 300 && (response.body as { status?: { allowed?: boolean } } | undefined)?.status?.allowed === true;
      return { right, allowed };
    }),
  );
  return { checked: rights.length, missing: answers.filter((a) => !a.allowed).map((a) => ({ text: describe(a.right), forRestorer: a.right.forRestorer === true })) };
}
