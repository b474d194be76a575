/**
 * The emulator's API server over HTTP: discovery, OpenAPI, and the REST surface of every
 * resource type — list (with selectors), watch (resume by resourceVersion, 410 Gone,
 * bookmarks, timeoutSeconds), get, create, update, patch (JSON, merge), delete — with
 * Kubernetes Status errors and the headers kubectl depends on.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { apiGroupList, apiResourceList, apiVersions, openApiDocument, openApiIndex, versionInfo } from "./discovery.ts";
import { jsonPatch, mergePatch, PatchError } from "./patch.ts";
import { findType, RESOURCE_TYPES, type ResourceType } from "./resources.ts";
import { fieldMatcher, labelMatcher } from "./selectors.ts";
import { ApiError, badRequest, notFound } from "./status.ts";
import type { KubeObject, ObjectStore, StoredEvent } from "./store.ts";

export interface ApiServerOptions {
  store: ObjectStore;
  /**
   * HTTPS with authentication: a request must carry `Authorization: Bearer <token>` or a
   * client certificate signed by `ca`. Without it the server speaks plain HTTP, unauthenticated.
   */
  tls?: { key: string; cert: string; ca: string; token: string };
  host?: string;
  port?: number;
}

export interface ApiServer {
  server: Server;
  url: string;
  /** Ends every open watch cleanly, as an API server does when a watch times out or it restarts. */
  endWatches(): void;
  close(): Promise<void>;
}

const MAX_BODY = 3 * 1024 * 1024;

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const watches = new Set<ServerResponse>();
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader("Cache-Control", "no-cache, private");
    handle(options, watches, req, res).catch((error: unknown) => sendError(res, error));
  };
  const { tls } = options;
  const server: Server = tls
    ? (createTlsServer({ key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: true, rejectUnauthorized: false }, listener) as unknown as Server)
    : createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    server,
    url: `${tls ? "https" : "http"}://${address}:${port}`,
    endWatches: () => watches.forEach((res) => res.end()),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  res.writeHead(code, { "Content-Type": "application/json" }).end(JSON.stringify(body));
}

function sendError(res: ServerResponse, error: unknown): void {
  const apiError =
    error instanceof ApiError ? error : error instanceof PatchError ? new ApiError(422, "Invalid", error.message) : new ApiError(500, "InternalError", String(error));
  sendJson(res, apiError.code, apiError.toStatus());
}

async function handle(options: ApiServerOptions, watches: Set<ServerResponse>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://emulator");
  const path = url.pathname.replace(/\/+$/, "") || "/";
  // Public like a real cluster's (system:public-info-viewer): kubectl's dispatcher probes /version without credentials.
  if (["/healthz", "/livez", "/readyz"].includes(path)) return void res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
  if (path === "/version") return sendJson(res, 200, versionInfo());
  if (options.tls && !authenticated(req, options.tls.token)) throw new ApiError(401, "Unauthorized", "Unauthorized");
  if (path === "/api") return sendJson(res, 200, apiVersions());
  if (path === "/apis") return sendJson(res, 200, apiGroupList());
  if (path === "/openapi/v3") return sendJson(res, 200, openApiIndex());
  const openapi = /^\/openapi\/v3\/(?:api\/([^/]+)|apis\/([^/]+)\/([^/]+))$/.exec(path);
  if (openapi) {
    const doc = openapi[1] ? openApiDocument("", openapi[1]) : openApiDocument(openapi[2] ?? "", openapi[3] ?? "");
    return doc ? sendJson(res, 200, doc) : sendJson(res, 404, notFound("openapi", path).toStatus());
  }
  const gv = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))(\/.*)?$/.exec(path);
  if (!gv) throw new ApiError(404, "NotFound", `the server could not find the requested resource (${path})`);
  const group = gv[1] ? "" : (gv[2] ?? "");
  const version = gv[1] ?? gv[3] ?? "";
  const rest = (gv[4] ?? "").split("/").filter(Boolean).map(decodeURIComponent);
  if (rest.length === 0) {
    const list = apiResourceList(group, version);
    return list ? sendJson(res, 200, list) : sendJson(res, 404, notFound("groupversion", `${group}/${version}`).toStatus());
  }
  const target = resolveTarget(group, version, rest);
  return serveResource(options.store, watches, target, req, res, url.searchParams);
}

function authenticated(req: IncomingMessage, token: string): boolean {
  return req.headers.authorization === `Bearer ${token}` || (req.socket as TLSSocket).authorized === true;
}

interface Target {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** `[namespaces/NS/]plural[/name[/sub]]`, where `namespaces/NS` alone is the Namespace object. */
function resolveTarget(group: string, version: string, rest: string[]): Target {
  let namespace: string | undefined;
  let parts = rest;
  if (parts[0] === "namespaces" && parts.length >= 3 && findType(group, version, parts[2] as string)?.namespaced) {
    namespace = parts[1];
    parts = parts.slice(2);
  }
  const type = findType(group, version, parts[0] as string);
  if (!type || parts.length > 3) throw new ApiError(404, "NotFound", `the server could not find the requested resource`);
  if (type.namespaced && namespace === undefined && parts.length > 1) throw new ApiError(404, "NotFound", `the server could not find the requested resource`);
  const subresource = parts[2];
  if (subresource !== undefined && !type.subresources.includes(subresource)) throw new ApiError(404, "NotFound", `the server could not find the requested resource`);
  return { type, namespace, name: parts[1], subresource };
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const contentType = (req.headers["content-type"] ?? "application/json").split(";")[0]?.trim() ?? "";
  if (contentType === "application/vnd.kubernetes.protobuf") {
    throw new ApiError(415, "UnsupportedMediaType", "the kbridge test cluster does not decode protobuf request bodies; send JSON (kubectl apply -f / create -f do)");
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new ApiError(413, "BadRequest", "request entity too large");
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest(`the request body is not valid JSON (content type ${contentType})`);
  }
}

async function serveResource(store: ObjectStore, watches: Set<ServerResponse>, target: Target, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const { type, namespace, name } = target;
  const dryRun = query.get("dryRun") === "All";
  const method = req.method ?? "GET";
  if (target.subresource && target.subresource !== "status") {
    throw new ApiError(405, "MethodNotAllowed", `${type.plural}/${target.subresource} is not served by this emulator yet`);
  }
  if (name === undefined) {
    if (method === "GET") return query.get("watch") === "true" || query.get("watch") === "1" ? serveWatch(store, watches, target, req, res, query) : serveList(store, target, res, query);
    if (method === "POST") {
      const body = (await readBody(req)) as KubeObject;
      const object = withNamespace(body, target);
      requireNamespace(store, type, object.metadata.namespace);
      return sendJson(res, 201, store.create(type, object, { dryRun }));
    }
    throw new ApiError(405, "MethodNotAllowed", `${method} is not allowed on a collection`);
  }
  switch (method) {
    case "GET":
      return sendJson(res, 200, store.get(type, namespace, name));
    case "PUT": {
      const body = withNamespace((await readBody(req)) as KubeObject, target);
      if (body.metadata.name !== name) throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
      const current = store.get(type, namespace, name);
      // The main resource ignores status; /status writes only status.
      const next = target.subresource === "status" ? { ...current, status: body.status, metadata: { ...current.metadata, resourceVersion: body.metadata.resourceVersion } } : { ...body, status: current.status };
      return sendJson(res, 200, store.update(type, next as KubeObject, { dryRun }));
    }
    case "PATCH": {
      const current = store.get(type, namespace, name);
      const patched = applyPatch(current, await readBody(req), req.headers["content-type"] ?? "");
      patched.metadata = { ...patched.metadata, name, namespace, resourceVersion: (patched.metadata?.resourceVersion as string | undefined) === current.metadata.resourceVersion ? undefined : patched.metadata?.resourceVersion };
      const next = target.subresource === "status" ? { ...current, status: patched.status } : { ...patched, status: current.status };
      return sendJson(res, 200, store.update(type, next as KubeObject, { dryRun }));
    }
    case "DELETE":
      if (type.kind === "Namespace" && !dryRun) deleteNamespaceContents(store, name);
      return sendJson(res, 200, store.delete(type, namespace, name, { dryRun }));
    default:
      throw new ApiError(405, "MethodNotAllowed", `${method} is not allowed`);
  }
}

function applyPatch(current: KubeObject, patch: unknown, contentType: string): KubeObject {
  const kind = contentType.split(";")[0]?.trim();
  if (kind === "application/json-patch+json") return jsonPatch(current, patch) as KubeObject;
  if (kind === "application/merge-patch+json") return mergePatch(current, patch) as KubeObject;
  throw new ApiError(415, "UnsupportedMediaType", `the kbridge test cluster does not support patch type ${kind} yet`);
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

function serveList(store: ObjectStore, target: Target, res: ServerResponse, query: URLSearchParams): void {
  const byLabel = labelMatcher(query.get("labelSelector"));
  const byField = fieldMatcher(query.get("fieldSelector"));
  const items = store.list(target.type, target.namespace).filter((o) => byLabel(o) && byField(o));
  sendJson(res, 200, { kind: `${target.type.kind}List`, apiVersion: target.type.group ? `${target.type.group}/${target.type.version}` : target.type.version, metadata: { resourceVersion: store.resourceVersion }, items });
}

function serveWatch(store: ObjectStore, watches: Set<ServerResponse>, target: Target, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
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
  const send = (type: string, object: unknown) => res.write(JSON.stringify({ type, object }) + "\n");
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
  if (query.get("allowWatchBookmarks") === "true") {
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
