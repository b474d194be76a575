/**
 * The emulator's API server over HTTP: discovery, OpenAPI, and the REST surface of every
 * resource type — list (with selectors), watch (resume by resourceVersion, 410 Gone,
 * bookmarks, timeoutSeconds), get, create, update, patch (JSON, merge), delete — with
 * Kubernetes Status errors and the headers kubectl depends on.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { apiGroupList, apiResourceList, apiVersions, openApiDocument, openApiIndex, versionInfo } from "./discovery.ts";
import { PatchError } from "./patch.ts";
import { findType } from "./resources.ts";
import { sendJson, serveResource, type RestContext, type Target } from "./rest.ts";
import type { Caller, Faults } from "./faults.ts";
import { ApiError, notFound } from "./status.ts";
import type { ObjectStore } from "./store.ts";

export interface ApiServerOptions {
  store: ObjectStore;
  /**
   * HTTPS with authentication: a request must carry `Authorization: Bearer <token>` or a
   * client certificate signed by `ca`. Without it the server speaks plain HTTP, unauthenticated.
   * `authenticate` names the caller of a bearer token (undefined: not a token of this cluster).
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
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader("Cache-Control", "no-cache, private");
    req.socket.setNoDelay(true);
    const caller = identify(req, options.tls?.authenticate);
    const serve = () => void handle(options, watches, req, res, caller).catch((error: unknown) => sendError(res, error));
    if (caller && options.faults?.intercept(req, res, caller, serve)) return;
    serve();
  };
  const { tls } = options;
  const server: Server = tls
    ? (createTlsServer({ key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: true, rejectUnauthorized: false }, listener) as unknown as Server)
    : createServer(listener);
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://emulator");
    if (options.tls && !identify(req, options.tls.authenticate)) {
      const body = JSON.stringify(new ApiError(401, "Unauthorized", "Unauthorized").toStatus());
      return void socket.end(`HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    }
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

async function handle(options: ApiServerOptions, watches: Set<ServerResponse>, req: IncomingMessage, res: ServerResponse, caller: Caller | undefined): Promise<void> {
  const url = new URL(req.url ?? "/", "http://emulator");
  const path = url.pathname.replace(/\/+$/, "") || "/";
  // Public like a real cluster's (system:public-info-viewer): kubectl's dispatcher probes /version without credentials.
  if (["/healthz", "/livez", "/readyz"].includes(path)) return void res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
  if (path === "/version") return sendJson(res, 200, versionInfo());
  if (options.tls && !identify(req, options.tls.authenticate)) throw new ApiError(401, "Unauthorized", "Unauthorized");
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
  const watchDelayMs = caller ? options.faults?.watchDelay(caller) : undefined;
  return serveResource({ store: options.store, watches, applied: appliedIntents(options.store), podLogs: options.podLogs, ...(watchDelayMs ? { watchDelayMs } : {}) }, target, req, res, url.searchParams);
}

/** Who sent the request: a bearer token's owner, a client certificate's subject, or (plain HTTP) anyone; undefined when a TLS server cannot tell. */
function identify(req: IncomingMessage, authenticate?: (token: string) => Caller | undefined): Caller | undefined {
  if (!authenticate) return { user: "system:anonymous", from: "kubeconfig" };
  const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
  const byToken = bearer === undefined ? undefined : authenticate(bearer);
  if (byToken) return byToken;
  const socket = req.socket as TLSSocket;
  if (socket.authorized !== true) return undefined;
  const subject = socket.getPeerCertificate().subject as { CN?: string | string[] } | undefined;
  return { user: [subject?.CN ?? "unknown"].flat()[0] ?? "unknown", from: "kubeconfig" };
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
