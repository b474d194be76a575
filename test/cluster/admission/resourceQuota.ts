/**
 * The ResourceQuota admission plugin: object counts (`pods`, `services`, `secrets`,
 * `configmaps`, `count/<resource>.<group>`) and compute (`requests.*`, `limits.*`, and
 * `cpu`/`memory` as requests) against each quota of the namespace, with the plugin's
 * messages; and the usage the quota controller publishes in `status.used`.
 */
import type { ResourceType } from "../apiserver/resources.ts";
import type { KubeObject } from "../apiserver/store.ts";
import { formatQuantity, parseQuantity } from "./quantity.ts";
import { arr, obj, type Any } from "../controllers/objects.ts";

const COUNTED: Record<string, string> = { Pod: "pods", Service: "services", Secret: "secrets", ConfigMap: "configmaps", PersistentVolumeClaim: "persistentvolumeclaims" };
const COMPUTE = ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "cpu", "memory"];

/** The quota resource names one object of `type` uses, with their amounts (milli-units). */
export function usageOf(type: ResourceType, object: KubeObject): Map<string, number> {
  const usage = new Map<string, number>([[`count/${type.plural}${type.group ? `.${type.group}` : ""}`, 1000]]);
  const counted = COUNTED[type.kind];
  if (counted) usage.set(counted, 1000);
  if (type.kind === "Pod") for (const [name, amount] of podCompute(object)) usage.set(name, amount);
  return usage;
}

/** A pod's compute: the sum over its containers (an init container counts when larger), requests defaulting to limits. */
function podCompute(pod: KubeObject): Map<string, number> {
  const spec = obj(pod.spec);
  const total = new Map<string, number>();
  const of = (container: Any, kind: "requests" | "limits", resource: string) => {
    const resources = obj(container.resources);
    return parseQuantity(obj(resources[kind])[resource] ?? (kind === "requests" ? obj(resources.limits)[resource] : undefined));
  };
  for (const kind of ["requests", "limits"] as const) {
    for (const resource of ["cpu", "memory"]) {
      const sum = arr(spec.containers).reduce((acc, c) => acc + (of(c, kind, resource) ?? 0), 0);
      const init = Math.max(0, ...arr(spec.initContainers).map((c) => of(c, kind, resource) ?? 0));
      total.set(`${kind}.${resource}`, Math.max(sum, init));
      if (kind === "requests") total.set(resource, Math.max(sum, init));
    }
  }
  return total;
}

/** Containers lacking what a quota on `resource` requires them to state. */
function unstated(pod: KubeObject, resource: string): string[] {
  const [kind, name] = resource.includes(".") ? (resource.split(".") as [string, string]) : ["requests", resource];
  return arr(obj(pod.spec).containers)
    .filter((c) => {
      const resources = obj(c.resources);
      return obj(resources[kind])[name] === undefined && (kind !== "requests" || obj(resources.limits)[name] === undefined);
    })
    .map((c) => String(c.name));
}

const isTerminal = (pod: KubeObject) => ["Succeeded", "Failed"].includes(String(obj(pod.status).phase));

/** What the namespace's objects use of each resource the quota names. */
export function usedBy(quota: KubeObject, objects: { type: ResourceType; object: KubeObject }[]): Record<string, string> {
  const hard = obj(obj(quota.spec).hard) as Record<string, string>;
  const used = new Map(Object.keys(hard).map((name) => [name, 0]));
  for (const { type, object } of objects) {
    if (type.kind === "Pod" && isTerminal(object)) continue;
    for (const [name, amount] of usageOf(type, object)) if (used.has(name)) used.set(name, (used.get(name) ?? 0) + amount);
  }
  return Object.fromEntries([...used].map(([name, amount]) => [name, formatQuantity(name, amount)]));
}

/** Why creating `object` would break one of the quotas (undefined: it fits them all). */
export function quotaRefusal(type: ResourceType, object: KubeObject, quotas: KubeObject[], existing: { type: ResourceType; object: KubeObject }[]): string | undefined {
  const usage = usageOf(type, object);
  for (const quota of quotas) {
    const hard = obj(obj(quota.spec).hard) as Record<string, string>;
    const name = quota.metadata.name;
    if (type.kind === "Pod") {
      const missing = Object.keys(hard).filter((r) => COMPUTE.includes(r)).map((r) => ({ r, containers: unstated(object, r) })).filter((m) => m.containers.length);
      if (missing.length) return `failed quota: ${name}: must specify ${missing.map((m) => `${m.r} for: ${m.containers.join(",")}`).join("; ")}`;
    }
    const used = usedBy(quota, existing);
    const over = Object.keys(hard).filter((r) => usage.has(r) && (parseQuantity(used[r]) ?? 0) + (usage.get(r) ?? 0) > (parseQuantity(hard[r]) ?? Infinity)).sort();
    if (over.length) {
      const list = (values: (r: string) => string) => over.map((r) => `${r}=${values(r)}`).join(",");
      return `exceeded quota: ${name}, requested: ${list((r) => formatQuantity(r, usage.get(r) ?? 0))}, used: ${list((r) => used[r] ?? "0")}, limited: ${list((r) => hard[r] ?? "")}`;
    }
  }
  return undefined;
}
