/**
 * Requests and limits for the pods kbridge itself runs (the restorer, the isolation routers):
 * small defaults, overridable per profile for namespaces whose LimitRanges or quotas want
 * others. The agent keeps the replaced container's own.
 */
import { z } from "zod";

const CPU = /^(\d+(\.\d+)?|\.\d+)m?$/;
const MEMORY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;

const quantity = (what: string, pattern: RegExp, example: string) =>
  z.string().trim().max(32, `${what} must be at most 32 characters`).regex(new RegExp(`^$|${pattern.source}`), `${what} must be a Kubernetes quantity such as ${example}`).default("");

export const podResourcesSchema = z
  .object({
    cpuRequest: quantity("CPU request", CPU, "50m or 0.5"),
    cpuLimit: quantity("CPU limit", CPU, "200m or 1"),
    memoryRequest: quantity("Memory request", MEMORY, "64Mi"),
    memoryLimit: quantity("Memory limit", MEMORY, "256Mi"),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.cpuRequest && r.cpuLimit && cpuMillis(r.cpuRequest) > cpuMillis(r.cpuLimit)) ctx.addIssue({ code: "custom", path: ["cpuRequest"], message: "CPU request must not exceed the CPU limit" });
    if (r.memoryRequest && r.memoryLimit && memoryBytes(r.memoryRequest) > memoryBytes(r.memoryLimit)) ctx.addIssue({ code: "custom", path: ["memoryRequest"], message: "Memory request must not exceed the memory limit" });
  });
export type PodResources = z.output<typeof podResourcesSchema>;

/** Requests and limits as a pod spec has them. */
export interface ResourceRequirements {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

export function cpuMillis(value: string): number {
  return value.endsWith("m") ? Number(value.slice(0, -1)) : Number(value) * 1000;
}

const MEMORY_UNITS: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

export function memoryBytes(value: string): number {
  const [, number = "0", unit = ""] = /^([\d.]+)(\D*)$/.exec(value) ?? [];
  return Number(number) * (MEMORY_UNITS[unit] ?? 1);
}

/**
 * `defaults` with the profile's values over them. A limit set below a default request lowers
 * that request to it (the API server refuses a request above its limit); likewise a request
 * set above a default limit raises the limit.
 */
export function withResourceOverrides(defaults: ResourceRequirements, override: Partial<PodResources> | undefined): ResourceRequirements {
  const pick = (own: string | undefined, fallback: string) => (own && own !== "" ? own : fallback);
  const pair = (request: string | undefined, limit: string | undefined, defaultRequest: string, defaultLimit: string, size: (q: string) => number) => {
    let r = pick(request, defaultRequest);
    let l = pick(limit, defaultLimit);
    if (size(r) > size(l)) {
      if (limit) r = l;
      else l = r;
    }
    return [r, l] as const;
  };
  const [cpuRequest, cpuLimit] = pair(override?.cpuRequest, override?.cpuLimit, defaults.requests.cpu, defaults.limits.cpu, cpuMillis);
  const [memoryRequest, memoryLimit] = pair(override?.memoryRequest, override?.memoryLimit, defaults.requests.memory, defaults.limits.memory, memoryBytes);
  return { requests: { cpu: cpuRequest, memory: memoryRequest }, limits: { cpu: cpuLimit, memory: memoryLimit } };
}
