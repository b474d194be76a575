/**
 * The LimitRanger admission plugin for containers: a namespace's LimitRanges fill in
 * missing requests and limits (`defaultRequest`, `default`, which default to `default` and
 * `max`), note what they set in the `kubernetes.io/limit-ranger` annotation, and refuse a
 * container outside `min`/`max`, in the plugin's words.
 */
import type { KubeObject } from "../apiserver/store.ts";
import { formatQuantity, parseQuantity } from "./quantity.ts";
import { arr, obj } from "../controllers/objects.ts";

type Resources = Record<string, string>;

const containerLimits = (ranges: KubeObject[]) => ranges.flatMap((range) => arr(obj(range.spec).limits).filter((limit) => (limit.type ?? "Container") === "Container"));

/** Sets defaults on the pod's containers (mutating `pod`). */
export function applyLimitRangeDefaults(pod: KubeObject, ranges: KubeObject[]): void {
  const set: { requests: string[]; limits: string[]; container: string }[] = [];
  for (const limit of containerLimits(ranges)) {
    const defaults = { ...(obj(limit.max) as Resources), ...(obj(limit.default) as Resources) };
    const defaultRequests = { ...defaults, ...(obj(limit.defaultRequest) as Resources) };
    for (const container of arr(obj(pod.spec).containers)) {
      const resources = obj(container.resources);
      const limits = { ...(obj(resources.limits) as Resources) };
      const requests = { ...(obj(resources.requests) as Resources) };
      const entry = { requests: [] as string[], limits: [] as string[], container: String(container.name) };
      for (const [name, value] of Object.entries(defaultRequests)) {
        if (requests[name] !== undefined || limits[name] !== undefined) continue;
        requests[name] = value;
        entry.requests.push(name);
      }
      for (const [name, value] of Object.entries(defaults)) {
        if (limits[name] !== undefined) continue;
        limits[name] = value;
        entry.limits.push(name);
      }
      if (!entry.requests.length && !entry.limits.length) continue;
      container.resources = { ...resources, ...(Object.keys(limits).length ? { limits } : {}), ...(Object.keys(requests).length ? { requests } : {}) };
      set.push(entry);
    }
  }
  if (!set.length) return;
  const note = set.flatMap((e) => [...(e.requests.length ? [`${e.requests.join(", ")} request for container ${e.container}`] : []), ...(e.limits.length ? [`${e.limits.join(", ")} limit for container ${e.container}`] : [])]);
  pod.metadata.annotations = { ...pod.metadata.annotations, "kubernetes.io/limit-ranger": `LimitRanger plugin set: ${note.join("; ")}` };
}

/** Why the pod's containers break the ranges' min/max (empty: they do not). */
export function limitRangeViolations(pod: KubeObject, ranges: KubeObject[]): string[] {
  const errors: string[] = [];
  for (const limit of containerLimits(ranges)) {
    for (const container of arr(obj(pod.spec).containers)) {
      const resources = obj(container.resources);
      const requests = obj(resources.requests) as Resources;
      const limits = obj(resources.limits) as Resources;
      for (const [name, min] of Object.entries(obj(limit.min) as Resources)) {
        const request = parseQuantity(requests[name]);
        if (request === undefined) errors.push(`minimum ${name} usage per Container is ${min}.  No request is specified`);
        else if (request < (parseQuantity(min) ?? 0)) errors.push(`minimum ${name} usage per Container is ${min}, but request is ${formatQuantity(name, request)}`);
      }
      for (const [name, max] of Object.entries(obj(limit.max) as Resources)) {
        const value = parseQuantity(limits[name]);
        if (value === undefined) errors.push(`maximum ${name} usage per Container is ${max}.  No limit is specified`);
        else if (value > (parseQuantity(max) ?? Infinity)) errors.push(`maximum ${name} usage per Container is ${max}, but limit is ${formatQuantity(name, value)}`);
      }
    }
  }
  return errors;
}
