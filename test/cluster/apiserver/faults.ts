/**
 * Faults a test injects into the API server, as the real world makes them: chosen requests
 * answer 403, 429, 500 or 503 with the Status body a real API server writes, or hang (no
 * answer while the fault holds; served late when it is lifted, as a slow server would); and
 * watches lag (events written late, in order, as a loaded API server's watch cache delivers
 * them). The whole server can be frozen too: see freezableFront.ts.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Caller } from "../auth/identity.ts";
import { forbidden } from "../auth/requests.ts";
import { ApiError } from "./status.ts";

export interface FaultRule {
  /** GET, PUT, POST, PATCH, DELETE; any method when absent. */
  method?: string;
  /** Matched against the request's path and query (`/api/v1/namespaces/shop/secrets/x`). */
  path: RegExp;
  /** Only requests of this caller (the helper's are "kubeconfig", the restorer's "pods"). */
  from?: Caller["from"];
  /** Answer with this status… */
  status?: 403 | 429 | 500 | 503;
  /** …or answer nothing while the fault holds. */
  hang?: true;
  /** Affect this many matching requests, then let the rest through (default: all until lifted). */
  times?: number;
}

export interface Fault {
  /** Requests the fault has answered (or is holding). */
  readonly hits: number;
  /** Ends the fault; requests it holds are served now. */
  lift(): void;
}

interface Active {
  rule: FaultRule;
  hits: number;
  held: (() => void)[];
}

export class Faults {
  private readonly active = new Set<Active>();
  private readonly lags = new Set<{ ms: number; from?: Caller["from"] }>();

  /** Watches of `from` (both when absent) deliver each event `ms` late, until lifted. */
  delayWatches(ms: number, from?: Caller["from"]): Fault {
    const lag = { ms, ...(from ? { from } : {}) };
    this.lags.add(lag);
    return {
      hits: 0,
      lift: () => void this.lags.delete(lag),
    };
  }

  /** How late this caller's watch events go out (0: on time). */
  watchDelay(caller: Caller): number {
    return Math.max(0, ...[...this.lags].filter((lag) => !lag.from || lag.from === caller.from).map((lag) => lag.ms));
  }

  inject(rule: FaultRule): Fault {
    if ((rule.status === undefined) === (rule.hang === undefined)) throw new Error("a fault either answers a status or hangs");
    const entry: Active = { rule, hits: 0, held: [] };
    this.active.add(entry);
    return {
      get hits() {
        return entry.hits;
      },
      lift: () => {
        this.active.delete(entry);
        for (const release of entry.held.splice(0)) release();
      },
    };
  }

  /** Lifts every fault (a test's cleanup). */
  clear(): void {
    this.lags.clear();
    for (const entry of [...this.active]) {
      this.active.delete(entry);
      for (const release of entry.held.splice(0)) release();
    }
  }

  /**
   * Applies the first fault matching the request: answers it (true), or holds it and calls
   * `serve` once the fault is lifted (true). False: no fault, serve it now.
   */
  intercept(req: IncomingMessage, res: ServerResponse, caller: Caller, serve: () => void): boolean {
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    for (const entry of this.active) {
      const { rule } = entry;
      if (rule.method && rule.method !== method) continue;
      if (rule.from && rule.from !== caller.from) continue;
      if (!rule.path.test(url)) continue;
      if (rule.times !== undefined && entry.hits >= rule.times) continue;
      entry.hits += 1;
      if (rule.hang) {
        entry.held.push(serve);
        return true;
      }
      const error = faultError(rule.status as NonNullable<FaultRule["status"]>, method, url, caller);
      res.writeHead(error.code, { "Content-Type": "application/json", ...(error.code === 429 ? { "Retry-After": "1" } : {}) }).end(JSON.stringify(error.toStatus()));
      return true;
    }
    return false;
  }
}

/** The Status a real API server answers for the status, worded as it words it. */
function faultError(status: NonNullable<FaultRule["status"]>, method: string, url: string, caller: Caller): ApiError {
  if (status === 403) {
    const { group, plural, name, namespace, verb } = describe(method, url);
    return forbidden(caller.user, { kind: "resource", verb, group, resource: plural, ...(name ? { name } : {}), ...(namespace ? { namespace } : {}) });
  }
  if (status === 429) return new ApiError(429, "TooManyRequests", "Too many requests, please try again later.", { retryAfterSeconds: 1 });
  if (status === 503) return new ApiError(503, "ServiceUnavailable", "the server is currently unable to handle the request");
  return new ApiError(500, "InternalError", "Internal error occurred: etcdserver: request timed out");
}

/** The resource, name, namespace and RBAC verb of a REST request path. */
function describe(method: string, url: string): { group: string; plural: string; name?: string; namespace?: string; verb: string } {
  const [pathname = "", query = ""] = url.split("?");
  const match = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?/.exec(pathname);
  const group = match?.[1] ?? "";
  const namespace = match?.[2];
  const plural = match?.[3] ?? "";
  const name = match?.[4];
  const watch = /(?:^|&)watch=(?:true|1)(?:&|$)/.test(query);
  const verb =
    method === "GET" ? (name ? "get" : watch ? "watch" : "list") : method === "POST" ? "create" : method === "PUT" ? "update" : method === "PATCH" ? "patch" : method === "DELETE" ? (name ? "delete" : "deletecollection") : method.toLowerCase();
  return { group, plural, ...(name ? { name: decodeURIComponent(name) } : {}), ...(namespace ? { namespace } : {}), verb };
}
