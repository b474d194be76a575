/**
 * JSON with every object's keys sorted (undefined members dropped, as JSON.stringify does):
 * two objects with the same content give the same text, whatever order a client wrote them
 * in — as the real API server, which decodes into Go structs, never sees an order at all.
 */
export function canonicalJson(value: unknown): string {
  return (
    JSON.stringify(value, (_key, inner: unknown) =>
      inner !== null && typeof inner === "object" && !Array.isArray(inner) ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : inner,
    ) ?? "undefined"
  );
}
