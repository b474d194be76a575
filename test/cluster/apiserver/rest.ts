/**
 * The REST surface of every resource type: list (selectors), watch (resume by
 * resourceVersion, 410 Gone, bookmarks, timeoutSeconds), get, create, update, the four
 * patch types, delete, and the status and scale subresources.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml } from "yaml";
import { jsonPatch, mergePatch, strategicMergePatch } from "./patch.ts";
import { RESOURCE_TYPES, type ResourceType } from "./resources.ts";
import { fieldMatcher, labelMatcher } from "./selectors.ts";
import { toTable, wantsTable } from "./table.ts";
import { ApiError, badRequest, notFound } from "./status.ts";
import type { KubeObject, ObjectStore, StoredEvent } from "./store.ts";
import { queryFlag } from "./queryFlag.ts";
import { decodeProtobuf } from "./protobuf.ts";
import { servePodLog } from "./podLog.ts";

const MAX_BODY = 3 * 1024 * 1024;

/** Writes `body`; admission's `warnings` go out as `Warning: 299 - "…"` headers, which kubectl prints. */
export function sendJson(res: ServerResponse, code: number, body: unknown, warnings: string[] = []): void {
  if (res.headersSent) return void res.end();
  const headers: Record<string, string | string[]> = { "Content-Type": "application/json" };
  if (warnings.length) headers.Warning = warnings.map((warning) => `299 - ${JSON.stringify(warning)}`);
  res.writeHead(code, headers).end(JSON.stringify(body));
}

export interface Target {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export interface PodLogSource {
  file: string;
  /** True while the container run writing `file` goes on (follow ends when it does). */
  active(): boolean;
}

export interface RestContext {
  store: ObjectStore;
  /** The node's container logs (absent: `pods/log` answers that no kubelet runs). */
  podLogs?(namespace: string, pod: string, container: string, previous: boolean): PodLogSource | { error: string };
  watches: Set<ServerResponse>;
  /** Server-side apply: the last intent per object and field manager. */
  applied: Map<string, unknown>;
  /** An injected lag: this watch's events are written this much later (in order), as a loaded API server's watch cache does. */
  watchDelayMs?: number;
  /** Refuses a write the caller may not make whatever its verb allows (RBAC's escalation check); runs before every create and update. */
  guard?(type: ResourceType, object: KubeObject): void;
}

/** The request's JSON (or apply YAML) body; an empty body is `{}`. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const contentType = (req.headers["content-type"] ?? "application/json").split(";")[0]?.trim() ?? "";
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new ApiError(413, "BadRequest", "request entity too large");
    chunks.push(chunk);
  }
  if (contentType === "application/vnd.kubernetes.protobuf") return decodeProtobuf(Buffer.concat(chunks));
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  try {
    // Server-side apply bodies may be YAML (JSON is YAML too).
    return contentType === "application/apply-patch+yaml" ? parseYaml(text) : JSON.parse(text);
  } catch {
    throw badRequest(`the request body is not valid ${contentType === "application/apply-patch+yaml" ? "YAML" : "JSON"} (content type ${contentType})`);
  }
}

export async function serveResource(ctx: RestContext, target: Target, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const { store } = ctx;
  const { type, namespace, name } = target;
  const dryRun = query.get("dryRun") === "All";
  const method = req.method ?? "GET";
  if (target.subresource === "scale") return serveScale(store, target, req, res, dryRun);
  if (target.subresource === "log") return servePodLog(ctx, target, req, res, query);
  if (target.subresource && target.subresource !== "status") {
    throw new ApiError(405, "MethodNotAllowed", `${type.plural}/${target.subresource} is not served by this emulator yet`);
  }
  if (name === undefined) {
    if (method === "GET") return queryFlag(query, "watch") ? serveWatch(ctx, target, req, res, query) : serveList(store, target, req, res, query);
    if (method === "POST") {
      const object = withNamespace((await readJsonBody(req)) as KubeObject, target);
      requireNamespace(store, type, object.metadata.namespace);
      ctx.guard?.(type, object);
      const warnings: string[] = [];
      return sendJson(res, 201, store.create(type, object, { dryRun, warnings }), warnings);
    }
    throw new ApiError(405, "MethodNotAllowed", `${method} is not allowed on a collection`);
  }
  switch (method) {
    case "GET": {
      const object = store.get(type, namespace, name);
      return sendJson(res, 200, wantsTable(req.headers.accept) ? toTable(type.kind, [object], object.metadata.resourceVersion, query.get("includeObject")) : object);
    }
    case "PUT": {
      const body = withNamespace((await readJsonBody(req)) as KubeObject, target);
      if (body.metadata.name !== name) throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
      const current = store.get(type, namespace, name);
      ctx.guard?.(type, body);
      const warnings: string[] = [];
      return sendJson(res, 200, store.update(type, onlyTheSubresource(target, current, body, body.metadata.resourceVersion), { dryRun, warnings }), warnings);
    }
    case "PATCH":
      return servePatch(ctx, target, name, req, res, query, dryRun);
    case "DELETE": {
      const options = (await readJsonBody(req)) as DeleteOptions;
      // Checked before anything goes: a refused delete deletes nothing.
      const policy = propagationPolicy(options, query);
      if (type.kind === "Pod" && !dryRun) {
        const grace = gracePeriod(options, query, store.get(type, namespace, name));
        if (grace > 0) return sendJson(res, 200, store.beginDeletion(type, namespace, name, grace));
      }
      if (type.kind === "Namespace" && !dryRun) deleteNamespaceContents(store, name);
      for (const key of [...ctx.applied.keys()]) if (key.startsWith(intentPrefix(target, name))) ctx.applied.delete(key);
      if (policy === "Foreground" && !dryRun) return sendJson(res, 200, store.deleteForeground(type, namespace, name, (pod) => gracePeriod({}, new URLSearchParams(), pod)));
      if (policy === "Orphan" && !dryRun) return sendJson(res, 200, store.deleteOrphaning(type, namespace, name));
      return sendJson(res, 200, store.delete(type, namespace, name, { dryRun }));
    }
    default:
      throw new ApiError(405, "MethodNotAllowed", `${method} is not allowed`);
  }
}

interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
  orphanDependents?: boolean;
}

/** DeleteOptions.gracePeriodSeconds (query or body), else the pod's terminationGracePeriodSeconds; unbound pods go at once. */
function gracePeriod(options: DeleteOptions, query: URLSearchParams, pod: KubeObject): number {
  if (!(pod.spec as { nodeName?: string } | undefined)?.nodeName) return 0;
  const fromQuery = query.get("gracePeriodSeconds");
  if (fromQuery !== null) return Number(fromQuery);
  if (typeof options.gracePeriodSeconds === "number") return options.gracePeriodSeconds;
  return Number((pod.spec as { terminationGracePeriodSeconds?: number }).terminationGracePeriodSeconds ?? 30);
}

/** How a delete reaches the object's dependents (query or DeleteOptions; the deprecated orphanDependents too); Background by default. */
function propagationPolicy(options: DeleteOptions, query: URLSearchParams): "Foreground" | "Background" | "Orphan" {
  const policy = query.get("propagationPolicy") ?? options.propagationPolicy ?? (options.orphanDependents === true || query.get("orphanDependents") === "true" ? "Orphan" : "Background");
  if (policy !== "Foreground" && policy !== "Background" && policy !== "Orphan") {
    throw new ApiError(422, "Invalid", `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`, { kind: "DeleteOptions", group: "meta.k8s.io" });
  }
  return policy;
}

/** The main resource ignores status; `/status` writes only status. */
function onlyTheSubresource(target: Target, current: KubeObject, next: KubeObject, resourceVersion: string | undefined): KubeObject {
  const merged = target.subresource === "status" ? { ...current, status: next.status } : { ...next, status: current.status };
  return { ...merged, metadata: { ...(target.subresource === "status" ? current.metadata : next.metadata), resourceVersion } } as KubeObject;
}

const intentPrefix = (target: Target, name: string) => `${target.type.group}/${target.type.plural}/${target.namespace ?? ""}/${name}/`;

async function servePatch(ctx: RestContext, target: Target, name: string, req: IncomingMessage, res: ServerResponse, query: URLSearchParams, dryRun: boolean): Promise<void> {
  const { store } = ctx;
  const { type, namespace } = target;
  const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim() ?? "";
  const body = await readJsonBody(req);
  const warnings: string[] = [];
  if (contentType === "application/apply-patch+yaml") {
    const manager = query.get("fieldManager");
    if (!manager) throw new ApiError(422, "Invalid", `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch`);
    const intent = withNamespace(body as KubeObject, target);
    const key = intentPrefix(target, name) + manager;
    const current = store.find(type, namespace, name);
    let result: KubeObject;
    if (!current) {
      requireNamespace(store, type, namespace);
      const created = { ...intent, metadata: { ...intent.metadata, name } };
      ctx.guard?.(type, created);
      result = store.create(type, created, { dryRun, warnings });
    } else {
      const previous = ctx.applied.get(key);
      const merged = strategicMergePatch(previous ? pruneUnapplied(current, previous, intent) : current, intent) as KubeObject;
      ctx.guard?.(type, merged);
      result = store.update(type, onlyTheSubresource(target, current, merged, undefined), { dryRun, warnings });
    }
    if (!dryRun) ctx.applied.set(key, intent);
    return sendJson(res, current ? 200 : 201, result, warnings);
  }
  const current = store.get(type, namespace, name);
  const patched = applyPatch(current, body, contentType);
  // A patch may carry a resourceVersion (optimistic concurrency); otherwise it applies to the latest.
  const requested = patched.metadata?.resourceVersion;
  const resourceVersion = requested && requested !== current.metadata.resourceVersion ? requested : undefined;
  const next = { ...patched, metadata: { ...patched.metadata, name, namespace } } as KubeObject;
  ctx.guard?.(type, next);
  return sendJson(res, 200, store.update(type, onlyTheSubresource(target, current, next, resourceVersion), { dryRun, warnings }), warnings);
}

function applyPatch(current: KubeObject, patch: unknown, contentType: string): KubeObject {
  if (contentType === "application/json-patch+json") return jsonPatch(current, patch) as KubeObject;
  if (contentType === "application/merge-patch+json") return mergePatch(current, patch) as KubeObject;
  if (contentType === "application/strategic-merge-patch+json") return strategicMergePatch(current, patch) as KubeObject;
  throw new ApiError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`);
}

/** Server-side apply: fields this manager applied before but no longer applies are removed from the live object. */
function pruneUnapplied(live: unknown, previous: unknown, next: unknown): unknown {
  if (!isObject(live) || !isObject(previous)) return live;
  const result: Record<string, unknown> = { ...live };
  const nextObject = isObject(next) ? next : {};
  for (const [key, value] of Object.entries(previous)) {
    if (!(key in nextObject)) delete result[key];
    else if (isObject(value)) result[key] = pruneUnapplied(result[key], value, nextObject[key]);
  }
  return result;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/** `deployments/scale`, `replicasets/scale`: an autoscaling/v1 Scale view of spec.replicas. */
async function serveScale(store: ObjectStore, target: Target, req: IncomingMessage, res: ServerResponse, dryRun: boolean): Promise<void> {
  const current = store.get(target.type, target.namespace, target.name ?? "");
  const spec = (current.spec ?? {}) as { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
  const status = (current.status ?? {}) as { replicas?: number };
  const scale = {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: { name: current.metadata.name, namespace: current.metadata.namespace, uid: current.metadata.uid, resourceVersion: current.metadata.resourceVersion, creationTimestamp: current.metadata.creationTimestamp },
    spec: { replicas: spec.replicas ?? 1 },
    status: { replicas: status.replicas ?? 0, selector: Object.entries(spec.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(",") },
  };
  if (req.method === "GET") return sendJson(res, 200, scale);
  if (req.method !== "PUT" && req.method !== "PATCH") throw new ApiError(405, "MethodNotAllowed", `${req.method} is not allowed on scale`);
  const body = await readJsonBody(req);
  const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim() ?? "";
  const next = (req.method === "PUT" ? body : applyPatch(scale as unknown as KubeObject, body, contentType)) as { spec?: { replicas?: unknown }; metadata?: { resourceVersion?: string } };
  const replicas = next.spec?.replicas;
  if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0) throw new ApiError(422, "Invalid", `Scale.autoscaling "${current.metadata.name}" is invalid: spec.replicas: Invalid value: must be greater than or equal to 0`);
  const resourceVersion = req.method === "PUT" ? next.metadata?.resourceVersion : undefined;
  const updated = store.update(target.type, { ...current, spec: { ...(current.spec as object), replicas }, metadata: { ...current.metadata, resourceVersion } }, { dryRun });
  return sendJson(res, 200, { ...scale, metadata: { ...scale.metadata, resourceVersion: updated.metadata.resourceVersion }, spec: { replicas } });
}

function withNamespace(object: KubeObject, target: Target): KubeObject {
  if (!object || typeof object !== "object" || !object.metadata || typeof object.metadata !== "object") throw badRequest("the object has no metadata");
  if (!target.type.namespaced) return { ...object, metadata: { ...object.metadata, namespace: undefined } };
  const namespace = target.namespace ?? object.metadata.namespace;
  if (object.metadata.namespace && target.namespace && object.metadata.namespace !== target.namespace) {
    throw badRequest(`the namespace of the provided object does not match the namespace sent on the request`);
  }
  return { ...object, metadata: { ...object.metadata, namespace } };
}

function requireNamespace(store: ObjectStore, type: ResourceType, namespace: string | undefined): void {
  if (!type.namespaced) return;
  const nsType = RESOURCE_TYPES.find((t) => t.kind === "Namespace") as ResourceType;
  if (!namespace || !store.find(nsType, undefined, namespace)) throw notFound("namespaces", namespace ?? "");
}

function deleteNamespaceContents(store: ObjectStore, namespace: string): void {
  for (const { resource, object } of store.all()) {
    if (resource.namespaced && object.metadata.namespace === namespace) store.delete(resource, namespace, object.metadata.name ?? "");
  }
}

function serveList(store: ObjectStore, target: Target, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
  const byLabel = labelMatcher(query.get("labelSelector"));
  const byField = fieldMatcher(query.get("fieldSelector"));
  const items = store.list(target.type, target.namespace).filter((o) => byLabel(o) && byField(o));
  if (wantsTable(req.headers.accept)) return sendJson(res, 200, toTable(target.type.kind, items, store.resourceVersion, query.get("includeObject")));
  sendJson(res, 200, { kind: `${target.type.kind}List`, apiVersion: target.type.group ? `${target.type.group}/${target.type.version}` : target.type.version, metadata: { resourceVersion: store.resourceVersion }, items });
}

function serveWatch(ctx: RestContext, target: Target, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
  const { store, watches } = ctx;
  const byLabel = labelMatcher(query.get("labelSelector"));
  const byField = fieldMatcher(query.get("fieldSelector"));
  const matches = (event: StoredEvent) =>
    event.resource === target.type && (target.namespace === undefined || event.object.metadata.namespace === target.namespace) && byLabel(event.object) && byField(event.object);
  const rv = query.get("resourceVersion");
  let since = Number(rv);
  if (rv === null || rv === "" || rv === "0") {
    since = Number(store.resourceVersion);
  } else if (!Number.isInteger(since)) {
    throw badRequest(`invalid resourceVersion ${rv}`);
  }
  res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
  res.flushHeaders();
  // With a Table Accept (kubectl get -w), each event carries a one-row Table.
  const table = wantsTable(req.headers.accept);
  const write = (type: string, object: unknown) => {
    const kubeObject = object as KubeObject;
    const body = table && type !== "ERROR" && type !== "BOOKMARK" ? toTable(target.type.kind, [kubeObject], kubeObject.metadata.resourceVersion, query.get("includeObject")) : object;
    if (!res.writableEnded) res.write(JSON.stringify({ type, object: body }) + "\n");
  };
  const lag = ctx.watchDelayMs ?? 0;
  const send = lag > 0 ? (type: string, object: unknown) => void setTimeout(() => write(type, object), lag) : write;
  if (rv === null || rv === "" || rv === "0") {
    for (const object of store.list(target.type, target.namespace).filter((o) => byLabel(o) && byField(o))) send("ADDED", object);
  }
  let unsubscribe: () => void;
  try {
    unsubscribe = store.watch(since, (event) => {
      if (matches(event)) send(event.type, event.object);
    });
  } catch (error) {
    if (error instanceof ApiError) send("ERROR", error.toStatus());
    return void res.end();
  }
  const timers: NodeJS.Timeout[] = [];
  if (queryFlag(query, "allowWatchBookmarks")) {
    timers.push(
      setInterval(() => send("BOOKMARK", { kind: target.type.kind, apiVersion: target.type.group ? `${target.type.group}/${target.type.version}` : target.type.version, metadata: { resourceVersion: store.resourceVersion } }), 5000),
    );
  }
  const timeout = Number(query.get("timeoutSeconds"));
  if (timeout > 0) timers.push(setTimeout(() => res.end(), timeout * 1000));
  watches.add(res);
  const stop = () => {
    watches.delete(res);
    unsubscribe();
    timers.forEach(clearTimeout);
  };
  req.on("close", stop);
  res.on("close", stop);
}
