/**
 * The "may I?" and "who am I?" APIs: SelfSubjectAccessReview (`kubectl auth can-i`),
 * SelfSubjectRulesReview (`kubectl auth can-i --list`) and SelfSubjectReview
 * (`kubectl auth whoami`), answered from the caller's own RBAC rules. Nothing is stored.
 */
import { ApiError } from "../apiserver/status.ts";
import type { ResourceType } from "../apiserver/resources.ts";
import type { Caller } from "./identity.ts";
import type { Rbac } from "./rbac.ts";
import { obj, type Any } from "../controllers/objects.ts";

const text = (value: unknown) => (typeof value === "string" ? value : "");

export const REVIEW_KINDS = new Set(["SelfSubjectAccessReview", "SelfSubjectRulesReview", "SelfSubjectReview"]);

export function answerReview(rbac: Rbac, caller: Caller, type: ResourceType, body: unknown): Any {
  const spec = obj(obj(body).spec);
  const head = { kind: type.kind, apiVersion: `${type.group}/${type.version}`, metadata: { creationTimestamp: null } };
  if (type.kind === "SelfSubjectReview") return { ...head, status: { userInfo: { username: caller.user, groups: caller.groups } } };
  if (type.kind === "SelfSubjectRulesReview") {
    const namespace = text(spec.namespace);
    const rules = rbac.rules(caller, namespace || undefined);
    return {
      ...head,
      spec: { namespace },
      status: {
        resourceRules: rules.filter((r) => r.resources).map(({ verbs, apiGroups, resources, resourceNames }) => ({ verbs, apiGroups, resources, ...(resourceNames ? { resourceNames } : {}) })),
        nonResourceRules: rules.filter((r) => r.nonResourceURLs).map(({ verbs, nonResourceURLs }) => ({ verbs, nonResourceURLs })),
        incomplete: false,
      },
    };
  }
  const resource = spec.resourceAttributes === undefined ? undefined : obj(spec.resourceAttributes);
  const nonResource = spec.nonResourceAttributes === undefined ? undefined : obj(spec.nonResourceAttributes);
  if ((resource === undefined) === (nonResource === undefined)) {
    throw new ApiError(422, "Invalid", `SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified`, {
      kind: "SelfSubjectAccessReview",
      group: "authorization.k8s.io",
    });
  }
  const decision = resource
    ? rbac.authorize(caller, {
        kind: "resource",
        verb: text(resource.verb),
        group: text(resource.group),
        resource: text(resource.resource),
        ...(text(resource.subresource) ? { subresource: text(resource.subresource) } : {}),
        ...(text(resource.name) ? { name: text(resource.name) } : {}),
        ...(text(resource.namespace) ? { namespace: text(resource.namespace) } : {}),
      })
    : rbac.authorize(caller, { kind: "path", verb: text(nonResource?.verb), path: text(nonResource?.path) });
  return { ...head, spec, status: { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) } };
}
