/** A positive integer id from a route segment, or null. */
export function parseId(segment: string): number | null {
  return /^[1-9]\d{0,9}$/.test(segment) ? Number(segment) : null;
}
