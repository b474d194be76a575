/**
 * Kubernetes resource quantities ("100m", "0.5", "1Gi", "512M", "1e3") as whole milli-units,
 * and back to the canonical text the API server prints (cores for cpu, binary suffixes for
 * byte counts where they divide evenly).
 */
const SUFFIX: Record<string, number> = { "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50 };

/** Milli-units of `text` (a number is taken as is); undefined when it is not a quantity. */
export function parseQuantity(text: unknown): number | undefined {
  if (typeof text === "number") return Number.isFinite(text) ? Math.round(text * 1000) : undefined;
  if (typeof text !== "string") return undefined;
  const match = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)|[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]) * (match[3] !== undefined ? 10 ** Number(match[3]) : (SUFFIX[match[2] ?? ""] as number));
  return Math.ceil(Math.round(value * 1e6) / 1e3);
}

/** `1`, `500m` for cpu-like resources; `1Gi`, `512Mi`, `1000` for the others. */
export function formatQuantity(resource: string, millis: number): string {
  if (resource === "cpu" || resource.endsWith(".cpu")) return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
  if (millis % 1000 !== 0) return `${millis}m`;
  const units = millis / 1000;
  for (const [suffix, size] of [["Pi", 2 ** 50], ["Ti", 2 ** 40], ["Gi", 2 ** 30], ["Mi", 2 ** 20], ["Ki", 2 ** 10]] as const) {
    if (units !== 0 && units % size === 0) return `${units / size}${suffix}`;
  }
  return String(units);
}
