/**
 * RBAC's escalation check on writes of Roles, ClusterRoles and their bindings: a caller may
 * grant only what it holds itself (in that namespace, or cluster-wide for the cluster kinds),
 * unless it may `escalate` the role or `bind` the role a binding names — or is in
 * `system:masters`. Refusals are worded as `rbac/validation.ConfirmNoEscalation` words them.
 */
import type { ResourceType } from "../apiserver/resources.ts";
import { ApiError } from "../apiserver/status.ts";
import type { KubeObject } from "../apiserver/store.ts";
import type { PolicyRule } from "./builtinRoles.ts";
import { goStrings, MASTERS, type Caller } from "./identity.ts";
import { compactString, uncovered, type Rbac } from "./rbac.ts";

const RBAC = "rbac.authorization.k8s.io";

export function checkEscalation(rbac: Rbac, caller: Caller, type: ResourceType, object: KubeObject): void {
  if (type.group !== RBAC || caller.groups.includes(MASTERS)) return;
  const namespace = type.namespaced ? object.metadata.namespace : undefined;
  const name = object.metadata.name ?? "";
  const refuse = (why: string) => new ApiError(403, "Forbidden", `${type.plural}.${RBAC} "${name}" is forbidden: ${why}`, { name, group: RBAC, kind: type.plural });
  const may = (verb: string, resource: string, resourceName: string) =>
    rbac.authorize(caller, { kind: "resource", verb, group: RBAC, resource, name: resourceName, ...(namespace ? { namespace } : {}) }).allowed;
  let granted: PolicyRule[];
  if (type.kind === "Role" || type.kind === "ClusterRole") {
    if (may("escalate", type.plural, name)) return;
    granted = (object.rules as PolicyRule[] | undefined) ?? [];
  } else if (type.kind === "RoleBinding" || type.kind === "ClusterRoleBinding") {
    const roleRef = (object.roleRef ?? {}) as { kind?: string; name?: string };
    const rolePlural = roleRef.kind === "Role" ? "roles" : "clusterroles";
    if (may("bind", rolePlural, roleRef.name ?? "")) return;
    const rules = rbac.roleRules(roleRef, namespace);
    if (!rules) throw refuse(`${rolePlural}.${RBAC} "${roleRef.name}" not found`);
    granted = rules;
  } else {
    return;
  }
  const missing = uncovered(rbac.rules(caller, namespace), granted);
  if (missing.length === 0) return;
  const lines = [...new Set(missing.map(compactString))].sort();
  throw refuse(`user "${caller.user}" (groups=${goStrings(caller.groups)}) is attempting to grant RBAC permissions not currently held:\n${lines.join("\n")}`);
}
