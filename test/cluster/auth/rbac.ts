/**
 * The RBAC authorizer: which rules a caller holds in a namespace (ClusterRoleBindings
 * everywhere, RoleBindings in their own namespace), whether they allow a request, and
 * whether one set of rules covers another (the escalation check), with rule matching as
 * `k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac` does it.
 */
import { findType } from "../apiserver/resources.ts";
import type { KubeObject, ObjectStore } from "../apiserver/store.ts";
import type { PolicyRule } from "./builtinRoles.ts";
import { goStrings, serviceAccountUser, type Caller } from "./identity.ts";

export type Attributes =
  | { kind: "resource"; verb: string; group: string; resource: string; subresource?: string; name?: string; namespace?: string }
  | { kind: "path"; verb: string; path: string };

export interface Decision {
  allowed: boolean;
  /** Which binding allowed it, worded as the real authorizer words it; empty when denied. */
  reason: string;
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

interface HeldRule {
  rule: PolicyRule;
  /** `RoleBinding "name/ns" of ClusterRole "edit" to Group "developers"`. */
  source: string;
}

const RBAC = "rbac.authorization.k8s.io";
const type = (plural: string) => findType(RBAC, "v1", plural)!;

const anyOf = (list: string[] | undefined, value: string) => (list ?? []).some((item) => item === "*" || item === value);

export class Rbac {
  constructor(private readonly store: ObjectStore) {}

  authorize(caller: Caller, attributes: Attributes): Decision {
    const namespace = attributes.kind === "resource" ? attributes.namespace : undefined;
    for (const held of this.held(caller, namespace)) {
      if (ruleAllows(held.rule, attributes)) return { allowed: true, reason: `RBAC: allowed by ${held.source}` };
    }
    return { allowed: false, reason: "" };
  }

  /** The rules `caller` holds in `namespace` (cluster-wide ones only when absent). */
  rules(caller: Caller, namespace?: string): PolicyRule[] {
    return [...this.held(caller, namespace)].map(({ rule }) => rule);
  }

  /** The rules a binding's roleRef names; undefined when that role does not exist. */
  roleRules(roleRef: { kind?: string; name?: string }, namespace: string | undefined): PolicyRule[] | undefined {
    const role = roleRef.kind === "Role" ? this.store.find(type("roles"), namespace, roleRef.name ?? "") : this.store.find(type("clusterroles"), undefined, roleRef.name ?? "");
    return role ? ((role.rules as PolicyRule[] | undefined) ?? []) : undefined;
  }

  /** Lazily, binding by binding: most requests are allowed by the first (an administrator's cluster-admin). */
  private *held(caller: Caller, namespace: string | undefined): Generator<HeldRule> {
    const bindings: { binding: KubeObject; kind: string }[] = this.store.list(type("clusterrolebindings")).map((binding) => ({ binding, kind: "ClusterRoleBinding" }));
    if (namespace) bindings.push(...this.store.list(type("rolebindings"), namespace).map((binding) => ({ binding, kind: "RoleBinding" })));
    for (const { binding, kind } of bindings) {
      const bindingNamespace = binding.metadata.namespace;
      const subject = ((binding.subjects as Subject[] | undefined) ?? []).find((s) => appliesTo(s, caller, bindingNamespace));
      if (!subject) continue;
      const roleRef = (binding.roleRef ?? {}) as { kind?: string; name?: string };
      const rules = this.roleRules(roleRef, bindingNamespace) ?? [];
      const bindingName = bindingNamespace ? `${binding.metadata.name}/${bindingNamespace}` : binding.metadata.name;
      const subjectName = subject.kind === "ServiceAccount" ? `${subject.name}/${subject.namespace ?? bindingNamespace}` : subject.name;
      const source = `${kind} "${bindingName}" of ${roleRef.kind} "${roleRef.name}" to ${subject.kind} "${subjectName}"`;
      for (const rule of rules) yield { rule, source };
    }
  }
}

function appliesTo(subject: Subject, caller: Caller, bindingNamespace: string | undefined): boolean {
  if (subject.kind === "User") return subject.name === caller.user;
  if (subject.kind === "Group") return caller.groups.includes(subject.name);
  if (subject.kind === "ServiceAccount") return serviceAccountUser(subject.namespace ?? bindingNamespace ?? "", subject.name) === caller.user;
  return false;
}

export function ruleAllows(rule: PolicyRule, attributes: Attributes): boolean {
  if (!anyOf(rule.verbs, attributes.verb)) return false;
  if (attributes.kind === "path") return (rule.nonResourceURLs ?? []).some((url) => url === "*" || url === attributes.path || (url.endsWith("*") && attributes.path.startsWith(url.slice(0, -1))));
  if (!anyOf(rule.apiGroups, attributes.group)) return false;
  const combined = attributes.subresource ? `${attributes.resource}/${attributes.subresource}` : attributes.resource;
  const resourceMatches = (rule.resources ?? []).some((r) => r === "*" || r === combined || (attributes.subresource !== undefined && r === `*/${attributes.subresource}`));
  if (!resourceMatches) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (attributes.name !== undefined && names.includes(attributes.name));
}

/** One verb, one group, one resource, at most one name: the units the escalation check compares. */
function breakdown(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const verb of rule.verbs ?? []) {
    for (const url of rule.nonResourceURLs ?? []) out.push({ verbs: [verb], nonResourceURLs: [url] });
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        const names = rule.resourceNames?.length ? rule.resourceNames : [undefined];
        for (const name of names) out.push({ verbs: [verb], apiGroups: [group], resources: [resource], ...(name !== undefined ? { resourceNames: [name] } : {}) });
      }
    }
  }
  return out;
}

function ownerCovers(owner: PolicyRule, unit: PolicyRule): boolean {
  const verb = unit.verbs[0] as string;
  if (!anyOf(owner.verbs, verb)) return false;
  if (unit.nonResourceURLs) {
    const url = unit.nonResourceURLs[0] as string;
    return (owner.nonResourceURLs ?? []).some((o) => o === "*" || o === url || (o.endsWith("*") && url.startsWith(o.slice(0, -1))));
  }
  const group = unit.apiGroups?.[0] as string;
  const resource = unit.resources?.[0] as string;
  if (!(owner.apiGroups ?? []).some((g) => g === "*" || g === group)) return false;
  const sub = resource.includes("/") ? resource.slice(resource.indexOf("/")) : undefined;
  if (!(owner.resources ?? []).some((r) => r === "*" || r === resource || (sub !== undefined && r === `*${sub}`))) return false;
  const names = owner.resourceNames ?? [];
  return names.length === 0 || (unit.resourceNames !== undefined && names.includes(unit.resourceNames[0] as string));
}

/** The parts of `requested` that `owned` does not cover, compacted (verbs merged per resource), as RBAC lists them. */
export function uncovered(owned: PolicyRule[], requested: PolicyRule[]): PolicyRule[] {
  const missing = requested.flatMap(breakdown).filter((unit) => !owned.some((owner) => ownerCovers(owner, unit)));
  const merged = new Map<string, PolicyRule>();
  for (const unit of missing) {
    const { verbs, ...rest } = unit;
    const key = JSON.stringify(rest);
    const entry = merged.get(key);
    if (entry) entry.verbs.push(...verbs);
    else merged.set(key, { ...rest, verbs: [...verbs] });
  }
  return [...merged.values()];
}

/** `{APIGroups:["apps"], Resources:["deployments"], Verbs:["create" "delete"]}` (rbacv1helpers.CompactString). */
export function compactString(rule: PolicyRule): string {
  const q = goStrings;
  const parts: string[] = [];
  if (rule.apiGroups?.length) parts.push(`APIGroups:${q(rule.apiGroups)}`);
  if (rule.resources?.length) parts.push(`Resources:${q(rule.resources)}`);
  if (rule.nonResourceURLs?.length) parts.push(`NonResourceURLs:${q(rule.nonResourceURLs)}`);
  if (rule.resourceNames?.length) parts.push(`ResourceNames:${q(rule.resourceNames)}`);
  parts.push(`Verbs:${q(rule.verbs)}`);
  return `{${parts.join(", ")}}`;
}
