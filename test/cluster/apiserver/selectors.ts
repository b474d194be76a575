/** Label selectors (equality and set-based) and field selectors, as `?labelSelector=` / `?fieldSelector=`. */
import { badRequest } from "./status.ts";
import type { KubeObject } from "./store.ts";

type Matcher = (object: KubeObject) => boolean;

/** Splits on commas that are not inside parentheses ("a in (x,y),b=c" → two terms). */
function terms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = "";
  for (const char of selector) {
    if (char === "(") depth++;
    if (char === ")") depth--;
    if (char === "," && depth === 0) {
      out.push(current.trim());
      current = "";
    } else current += char;
  }
  if (current.trim() !== "") out.push(current.trim());
  return out;
}

export function labelMatcher(selector: string | null): Matcher {
  if (!selector) return () => true;
  const checks = terms(selector).map((term): Matcher => {
    const labels = (o: KubeObject) => o.metadata.labels ?? {};
    let m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m) {
      const [, key, op, list] = m as unknown as [string, string, string, string];
      const values = list.split(",").map((v) => v.trim());
      return op === "in" ? (o) => values.includes(labels(o)[key] ?? "\0") : (o) => !values.includes(labels(o)[key] ?? "\0");
    }
    m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(term);
    if (m) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      return op === "!=" ? (o) => labels(o)[key] !== value : (o) => labels(o)[key] === value;
    }
    m = /^(!?)([\w./-]+)$/.exec(term);
    if (m) {
      const [, not, key] = m as unknown as [string, string, string];
      return not ? (o) => !(key in labels(o)) : (o) => key in labels(o);
    }
    throw badRequest(`unable to parse requirement: ${term}`);
  });
  return (object) => checks.every((check) => check(object));
}

export function fieldMatcher(selector: string | null): Matcher {
  if (!selector) return () => true;
  const checks = terms(selector).map((term): Matcher => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid field selector: ${term}`);
    const [, path, op, value] = m as unknown as [string, string, string, string];
    const read = (o: KubeObject) => {
      let at: unknown = o;
      for (const part of path.split(".")) at = at && typeof at === "object" ? (at as Record<string, unknown>)[part] : undefined;
      return at === undefined || at === null ? "" : String(at);
    };
    return op === "!=" ? (o) => read(o) !== value : (o) => read(o) === value;
  });
  return (object) => checks.every((check) => check(object));
}
