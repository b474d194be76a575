/**
 * The validating admission a real API server runs on every write, whoever writes (a user, a
 * controller): LimitRange defaults and bounds, Pod Security (enforce refuses; enforce and
 * warn on workload templates, and warn on pods, answer warnings; audit is recorded), and
 * ResourceQuota, in the API server's order. Refusals are 403 Forbidden in the plugins' words.
 */
import { findType, type ResourceType } from "../apiserver/resources.ts";
import { canonicalJson } from "../apiserver/canonicalJson.ts";
import { ApiError } from "../apiserver/status.ts";
import type { KubeObject, ObjectStore } from "../apiserver/store.ts";
import { applyLimitRangeDefaults, limitRangeViolations } from "./limitRanges.ts";
import { policyName, policyOf, violations } from "./podSecurity.ts";
import { quotaRefusal } from "./resourceQuota.ts";
import { obj } from "../controllers/objects.ts";

const TEMPLATED = new Set(["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController"]);

export interface AuditEntry {
  kind: string;
  namespace: string;
  name: string;
  /** The `pod-security.kubernetes.io/audit-violations` audit annotation. */
  violations: string;
}

export class PolicyAdmission {
  /** Pod Security audit-mode findings, as the audit log's annotations would carry them. */
  readonly audit: AuditEntry[] = [];

  /** Admits `object` (mutating it: LimitRange defaults) or throws 403; returns the warnings to send back. */
  admit(store: ObjectStore, type: ResourceType, object: KubeObject, operation: "create" | "update", old?: KubeObject): string[] {
    const namespace = object.metadata.namespace;
    if (!type.namespaced || !namespace) return [];
    const labels = store.find(findType("", "v1", "namespaces")!, undefined, namespace)?.metadata.labels;
    const name = object.metadata.name ?? "";
    const refuse = (message: string) => new ApiError(403, "Forbidden", `${type.plural}${type.group ? `.${type.group}` : ""} "${name}" is forbidden: ${message}`, { name, kind: type.plural, ...(type.group ? { group: type.group } : {}) });
    if (type.kind === "Pod" && operation === "create") {
      const ranges = store.list(findType("", "v1", "limitranges")!, namespace);
      applyLimitRangeDefaults(object, ranges);
      const bounds = limitRangeViolations(object, ranges);
      if (bounds.length) throw refuse(bounds.length === 1 ? (bounds[0] as string) : `[${bounds.join(", ")}]`);
    }
    const warnings = this.podSecurity(type, object, old, labels, refuse);
    if (operation === "create") {
      const quotas = store.list(findType("", "v1", "resourcequotas")!, namespace);
      if (quotas.length) {
        const existing = store.all().filter(({ resource, object: o }) => resource.namespaced && o.metadata.namespace === namespace).map(({ resource, object: o }) => ({ type: resource, object: o }));
        const refusal = quotaRefusal(type, object, quotas, existing);
        if (refusal) throw refuse(refusal);
      }
    }
    return warnings;
  }

  /** Evaluated on create, and on an update only when the pod template changes (a controller's status writes are not). */
  private podSecurity(type: ResourceType, object: KubeObject, old: KubeObject | undefined, labels: Record<string, string> | undefined, refuse: (message: string) => ApiError): string[] {
    const podSpec = (o: KubeObject) => (type.kind === "Pod" ? o.spec : TEMPLATED.has(type.kind) ? obj(obj(o.spec).template).spec : undefined);
    const spec = podSpec(object);
    if (spec === undefined || (type.kind === "Pod" && old) || (old && canonicalJson(podSpec(old)) === canonicalJson(spec))) return [];
    const enforce = policyOf(labels, "enforce");
    const warn = policyOf(labels, "warn");
    const audit = policyOf(labels, "audit");
    const warnings: string[] = [];
    const enforced = violations(spec, enforce.level);
    if (enforced.length) {
      if (type.kind === "Pod") throw refuse(`violates PodSecurity ${policyName(enforce)}: ${enforced.join(", ")}`);
      warnings.push(`would violate PodSecurity ${policyName(enforce)}: ${enforced.join(", ")}`);
    }
    const warned = violations(spec, warn.level);
    if (warned.length && !(enforced.length && enforce.level === warn.level)) warnings.push(`would violate PodSecurity ${policyName(warn)}: ${warned.join(", ")}`);
    const audited = violations(spec, audit.level);
    if (audited.length) this.audit.push({ kind: type.kind, namespace: object.metadata.namespace ?? "", name: object.metadata.name ?? "", violations: `would violate PodSecurity ${policyName(audit)}: ${audited.join(", ")}` });
    return warnings;
  }
}
