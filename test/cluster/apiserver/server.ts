/**
 * The emulator's API server over HTTP: authentication (tokens, client certificates) and RBAC
 * on every request, discovery, OpenAPI, and the REST surface of every resource type — list
 * (with selectors), watch (resume by resourceVersion, 410 Gone, bookmarks, timeoutSeconds),
 * get, create, update, patch (JSON, merge), delete — with Kubernetes Status errors and the
 * headers kubectl depends on.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { apiGroupList, apiResourceList, apiVersions, openApiDocument, openApiIndex, versionInfo } from "./discovery.ts";
import { PatchError } from "./patch.ts";
import { findType } from "./resources.ts";
import { readJsonBody, sendJson, serveResource, type RestContext, type Target } from "./rest.ts";
import type { Faults } from "./faults.ts";
import { answerReview, REVIEW_KINDS } from "../auth/reviews.ts";
import { checkEscalation } from "../auth/escalation.ts";
import { AUTHENTICATED, MASTERS, userCaller, type Caller } from "../auth/identity.ts";
import { Rbac, type Attributes } from "../auth/rbac.ts";
import { forbidden, resourceAttributes } from "../auth/requests.ts";
import { ApiError, notFound } from "./status.ts";
import type { KubeObject, ObjectStore } from "./store.ts";

export interface ApiServerOptions {
  store: ObjectStore;
  /**
   * HTTPS with authentication: a request must carry `Authorization: Bearer <token>` or a
   * client certificate signed by `ca` (CN the user, O its groups). Without it the server
   * speaks plain HTTP, where every caller is `system:unsecured` in `system:masters`, as on
   * the API server's old insecure port. `authenticate` names the caller of a bearer token
   * (undefined: not a token of this cluster).
   */
  tls?: { key: string; cert: string; ca: string; authenticate(token: string): Caller | undefined };
  /** Faults a test injects (answered before the request is served). */
  faults?: Faults;
  podLogs?: RestContext["podLogs"];
  /** `exec` / `portforward` upgrades (after authentication). */
  upgrades?(req: IncomingMessage, socket: Duplex, head: Buffer, path: string, query: URLSearchParams): void;
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


export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const watches = new Set<ServerResponse>();
  const rbac = new Rbac(options.store);
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader("Cache-Control", "no-cache, private");
    req.socket.setNoDelay(true);
    const caller = identify(req, options.tls?.authenticate);
    const serve = () => void handle(options, rbac, watches, req, res, caller).catch((error: unknown) => sendError(res, error));
    if (caller && options.faults?.intercept(req, res, caller, serve)) return;
    serve();
  };
  const { tls } = options;
  const server: Server = tls
    ? (createTlsServer({ key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: true, rejectUnauthorized: false }, listener) as unknown as Server)
    : createServer(listener);
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://emulator");
    const caller = identify(req, options.tls?.authenticate);
    const refuse = (error: ApiError) => {
      const body = JSON.stringify(error.toStatus());
      socket.end(`HTTP/1.1 ${error.code} ${error.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    };
    if (!caller) return refuse(new ApiError(401, "Unauthorized", "Unauthorized"));
    // exec, attach and portforward over WebSocket need `create` on the subresource (v1.31+).
    const attributes = upgradeAttributes(url.pathname);
    if (attributes && !rbac.authorize(caller, attributes).allowed) return refuse(forbidden(caller.user, attributes));
    if (!options.upgrades) return void socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    socket.on("error", () => socket.destroy());
    (socket as unknown as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    options.upgrades(req, socket, head, url.pathname, url.searchParams);
  });
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


function sendError(res: ServerResponse, error: unknown): void {
  const apiError =
    error instanceof ApiError ? error : error instanceof PatchError ? new ApiError(422, "Invalid", error.message) : new ApiError(500, "InternalError", String(error));
  sendJson(res, apiError.code, apiError.toStatus());
}

async function handle(options: ApiServerOptions, rbac: Rbac, watches: Set<ServerResponse>, req: IncomingMessage, res: ServerResponse, caller: Caller | undefined): Promise<void> {
  const url = new URL(req.url ?? "/", "http://emulator");
  const path = url.pathname.replace(/\/+$/, "") || "/";
  // Public like a real cluster's (system:public-info-viewer): kubectl's dispatcher probes /version without credentials.
  if (["/healthz", "/livez", "/readyz"].includes(path)) return void res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
  if (path === "/version") return sendJson(res, 200, versionInfo());
  if (!caller) throw new ApiError(401, "Unauthorized", "Unauthorized");
  const method = req.method ?? "GET";
  const authorize = (attributes: Attributes) => {
    const decision = rbac.authorize(caller, attributes);
    if (!decision.allowed) throw forbidden(caller.user, attributes, decision.reason);
  };
  // Discovery and OpenAPI are non-resource paths (system:discovery grants them to every authenticated caller).
  if (!/^\/(?:api\/v1|apis\/[^/]+\/[^/]+)\/./.test(path)) authorize({ kind: "path", verb: method.toLowerCase(), path });
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
  authorize(resourceAttributes(method, target, url.searchParams));
  if (REVIEW_KINDS.has(target.type.kind)) {
    if (method !== "POST" || target.name !== undefined) throw new ApiError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`);
    return sendJson(res, 201, answerReview(rbac, caller, target.type, await readJsonBody(req)));
  }
  const watchDelayMs = caller ? options.faults?.watchDelay(caller) : undefined;
  const guard = (type: Target["type"], object: KubeObject) => checkEscalation(rbac, caller, type, object);
  return serveResource({ store: options.store, watches, applied: appliedIntents(options.store), podLogs: options.podLogs, guard, ...(watchDelayMs ? { watchDelayMs } : {}) }, target, req, res, url.searchParams);
}

/** Who sent the request: a bearer token's owner, a client certificate's subject, or (plain HTTP) anyone; undefined when a TLS server cannot tell. */
function identify(req: IncomingMessage, authenticate?: (token: string) => Caller | undefined): Caller | undefined {
  if (!authenticate) return { user: "system:unsecured", groups: [MASTERS, AUTHENTICATED], from: "kubeconfig" };
  const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
  const byToken = bearer === undefined ? undefined : authenticate(bearer);
  if (byToken) return byToken;
  const socket = req.socket as TLSSocket;
  if (socket.authorized !== true) return undefined;
  const subject = socket.getPeerCertificate().subject as { CN?: string | string[]; O?: string | string[] } | undefined;
  return userCaller([subject?.CN ?? "unknown"].flat()[0] ?? "unknown", [subject?.O ?? []].flat());
}

/** `/api/v1/namespaces/NS/pods/NAME/exec` → create pods/exec in NS. */
function upgradeAttributes(path: string): Attributes | undefined {
  const match = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach|portforward)$/.exec(path);
  if (!match) return undefined;
  const [, namespace, name, subresource] = match.map((part) => decodeURIComponent(part)) as [string, string, string, string];
  return { kind: "resource", verb: "create", group: "", resource: "pods", subresource, name, namespace };
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

const intents = new WeakMap<ObjectStore, Map<string, unknown>>();

/** What each field manager last applied (server-side apply), per store. */
function appliedIntents(store: ObjectStore): Map<string, unknown> {
  let map = intents.get(store);
  if (!map) intents.set(store, (map = new Map()));
  return map;
}
