/** Small helpers the controllers share: typed access to the store, selectors, owner references, events. */
import { createHash } from "node:crypto";
import { canonicalJson } from "../apiserver/canonicalJson.ts";
import { RESOURCE_TYPES, type ResourceType } from "../apiserver/resources.ts";
import { ApiError } from "../apiserver/status.ts";
import type { KubeObject, ObjectStore } from "../apiserver/store.ts";

export type Any = Record<string, unknown>;
export const obj = (value: unknown): Any => (value && typeof value === "object" && !Array.isArray(value) ? (value as Any) : {});
export const arr = (value: unknown): Any[] => (Array.isArray(value) ? (value as Any[]) : []);

export function kind(name: string): ResourceType {
  const type = RESOURCE_TYPES.find((t) => t.kind === name);
  if (!type) throw new Error(`no resource type ${name}`);
  return type;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** A metav1.LabelSelector; an empty one matches nothing for controllers (as Kubernetes requires a selector). */
export function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || (!selector.matchLabels && !selector.matchExpressions)) return false;
  const have = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (have[key] !== value) return false;
  for (const expression of selector.matchExpressions ?? []) {
    const value = have[expression.key];
    const values = expression.values ?? [];
    const ok =
      expression.operator === "In" ? value !== undefined && values.includes(value)
      : expression.operator === "NotIn" ? value === undefined || !values.includes(value)
      : expression.operator === "Exists" ? value !== undefined
      : expression.operator === "DoesNotExist" ? value === undefined
      : false;
    if (!ok) return false;
  }
  return true;
}

/** Equality-only selector maps (Service.spec.selector). */
export function mapMatches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

export function controllerRef(owner: KubeObject) {
  return { apiVersion: owner.apiVersion ?? "", kind: owner.kind ?? "", name: owner.metadata.name ?? "", uid: owner.metadata.uid ?? "", controller: true, blockOwnerDeletion: true };
}

export function isControlledBy(object: KubeObject, owner: KubeObject): boolean {
  return (object.metadata.ownerReferences ?? []).some((ref) => ref.controller && ref.uid === owner.metadata.uid);
}

const SAFE = "bcdfghjklmnpqrstvwxz2456789";

/**
 * A short, stable, DNS-safe hash (the pod-template-hash alphabet) of a value's content: key
 * order does not count, as the real controller hashes the template with its map keys sorted.
 */
export function safeHash(value: unknown, length = 10): string {
  const digest = createHash("sha256").update(canonicalJson(value)).digest();
  let out = "";
  for (let i = 0; i < length; i++) out += SAFE[(digest[i] as number) % SAFE.length];
  return out;
}

export function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Writes `next` when it differs from what is stored (no resourceVersion: last writer wins, like a controller's status update). */
export function save(store: ObjectStore, type: ResourceType, next: KubeObject): KubeObject {
  return store.update(type, { ...next, metadata: { ...next.metadata, resourceVersion: undefined } });
}

/** Records a Kubernetes Event about `object` (what `kubectl describe` lists). */
export function recordEvent(store: ObjectStore, object: KubeObject, type: "Normal" | "Warning", reason: string, message: string, component: string): void {
  const namespace = object.metadata.namespace ?? "default";
  const at = now();
  store.create(kind("Event"), {
    metadata: { generateName: `${object.metadata.name}.`, namespace },
    involvedObject: { kind: object.kind, namespace, name: object.metadata.name, uid: object.metadata.uid, apiVersion: object.apiVersion, resourceVersion: object.metadata.resourceVersion },
    reason,
    message,
    type,
    source: { component },
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
    reportingComponent: component,
  });
}

export function podReady(pod: KubeObject): boolean {
  return arr(obj(pod.status).conditions).some((c) => c.type === "Ready" && c.status === "True");
}

export function isTerminating(object: KubeObject): boolean {
  return object.metadata.deletionTimestamp !== undefined;
}

const backoff = new Map<string, { until: number; delayMs: number }>();

/**
 * Creates what `make` makes for `owner`, as a controller does under admission: a refusal
 * (Pod Security, quota, LimitRange) is a Warning `FailedCreate` event on the owner, and the
 * owner's next try waits a doubling back-off (0.5 s to 10 s) instead of spinning.
 */
export function createForOwner(store: ObjectStore, owner: KubeObject, component: string, make: () => KubeObject, failure: (message: string) => string): KubeObject | undefined {
  const key = owner.metadata.uid ?? "";
  const wait = backoff.get(key);
  if (wait && Date.now() < wait.until) return undefined;
  try {
    const made = make();
    backoff.delete(key);
    return made;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const delayMs = Math.min(10_000, (wait?.delayMs ?? 250) * 2);
    backoff.set(key, { until: Date.now() + delayMs, delayMs });
    recordEvent(store, owner, "Warning", "FailedCreate", failure(error.message), component);
    return undefined;
  }
}
