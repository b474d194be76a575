/**
 * An API server in memory for restore.mjs's unit tests: objects by REST path, lists by label
 * selector, optimistic concurrency on PUT, and injected failures per request — enough to
 * drive every branch of a restore without a cluster. (The test cluster proves the same code
 * against the real wire; this proves each branch quickly.)
 */
import type { ApiRequest } from "./restore.mjs";

// Objects as the API returns them: plain JSON.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface FakeFault {
  method?: string;
  path: RegExp;
  /** Answer this status… */
  status?: number;
  /** …or reject as a transport failure (a timeout). */
  reject?: string;
  times?: number;
}

export class FakeApi {
  readonly objects = new Map<string, Json>();
  readonly calls: string[] = [];
  private faults: (FakeFault & { hits: number })[] = [];
  private revision = 1;
  /** Runs after every successful write (a controller's reaction). */
  afterWrite: (method: string, path: string, object: Json) => void = () => undefined;

  put(path: string, object: Json): Json {
    const stored = structuredClone(object);
    stored.metadata = { ...stored.metadata, resourceVersion: String(++this.revision), generation: stored.metadata?.generation ?? 1 };
    this.objects.set(path, stored);
    return stored;
  }

  get(path: string): Json {
    return this.objects.get(path);
  }

  fail(fault: FakeFault): void {
    this.faults.push({ ...fault, hits: 0 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  readonly request: ApiRequest = async (method, path, sent) => {
    const body = sent as Json;
    this.calls.push(`${method} ${path}`);
    const fault = this.faults.find((f) => (!f.method || f.method === method) && f.path.test(path) && (f.times === undefined || f.hits < f.times));
    if (fault) {
      fault.hits += 1;
      if (fault.reject) throw new Error(fault.reject);
      return { status: fault.status ?? 500, body: { kind: "Status", code: fault.status, message: `injected ${fault.status}` } };
    }
    const [pathname = "", query = ""] = path.split("?");
    const params = new URLSearchParams(query);
    const current = this.objects.get(pathname);
    switch (method) {
      case "GET":
        if (current) return { status: 200, body: structuredClone(current) };
        if (this.isCollection(pathname)) return { status: 200, body: { items: this.list(pathname, params.get("labelSelector") ?? "") } };
        return notFound(pathname);
      case "PUT": {
        if (!current) return notFound(pathname);
        if (body.metadata?.resourceVersion !== current.metadata.resourceVersion) return { status: 409, body: { message: "the object has been modified" } };
        const changed = JSON.stringify(body.spec) !== JSON.stringify(current.spec);
        const stored = this.put(pathname, { ...body, metadata: { ...body.metadata, generation: (current.metadata.generation ?? 1) + (changed ? 1 : 0) } });
        this.afterWrite(method, pathname, stored);
        return { status: 200, body: structuredClone(stored) };
      }
      case "POST": {
        const target = `${pathname}/${body.metadata.name}`;
        if (this.objects.has(target)) return { status: 409, body: { message: "already exists" } };
        const stored = this.put(target, body);
        this.afterWrite(method, target, stored);
        return { status: 201, body: structuredClone(stored) };
      }
      case "DELETE":
        if (!current) return notFound(pathname);
        this.objects.delete(pathname);
        this.afterWrite(method, pathname, current);
        return { status: 200, body: {} };
      default:
        return { status: 405, body: {} };
    }
  };

  private isCollection(pathname: string): boolean {
    return [...this.objects.keys()].some((key) => key.startsWith(`${pathname}/`) && !key.slice(pathname.length + 1).includes("/")) || /\/(pods|services|secrets|configmaps|ingresses|deployments|statefulsets|serviceaccounts|roles|rolebindings)$/.test(pathname);
  }

  private list(collection: string, selector: string): Json[] {
    const terms = decodeURIComponent(selector).split(",").filter(Boolean);
    const matches = (object: Json) =>
      terms.every((term) => {
        const [key = "", value] = term.split("=");
        const labels = object.metadata?.labels ?? {};
        return value === undefined ? key in labels : labels[key] === value;
      });
    return [...this.objects.entries()].filter(([key, object]) => key.startsWith(`${collection}/`) && !key.slice(collection.length + 1).includes("/") && matches(object)).map(([, object]) => structuredClone(object));
  }
}

function notFound(path: string) {
  return { status: 404, body: { kind: "Status", code: 404, message: `${path} not found` } };
}
