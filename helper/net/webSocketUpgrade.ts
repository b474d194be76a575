/**
 * The client's WebSocket upgrade (RFC 6455) to a Kubernetes API server, two ways: on a
 * connection of kbridge's own that reads into a ReadBuffer (request written and answer read by
 * hand), or by Node's HTTP client on the kube context's agent when it names a proxy. A refusal
 * is read whole, so the error says the API server's reason.
 */
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import type { KbridgeError } from "../protocol/index.ts";
import type { ReadBuffer } from "./readBuffer.ts";

const ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** An API server that accepts the connection but does not answer the upgrade within this fails it. */
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** The longest answer to the upgrade read (its head, and a refusal's body). */
const ANSWER_LIMIT = 64 * 1024;

/** An upgraded connection: the bytes that came after the answer's head go first to the frames. */
export interface Upgraded {
  socket: net.Socket;
  early: Buffer[];
}

export type Failed = (reason: string, cause?: unknown) => KbridgeError;

export interface UpgradeRequest {
  url: URL;
  /** The kube context's TLS options and headers (its credentials). */
  options: https.RequestOptions;
  /** The subprotocol asked for (Sec-WebSocket-Protocol). */
  protocol: string;
  /** The error for a reason the upgrade failed. */
  failed: Failed;
}

interface Ask extends UpgradeRequest {
  key: string;
}

/** Upgrades on a connection of kbridge's own reading into `reads`, or, without `reads`, by Node's HTTP client (a proxy). */
export function upgradeWebSocket(request: UpgradeRequest, reads?: ReadBuffer): Promise<Upgraded> {
  const ask = { ...request, key: randomBytes(16).toString("base64") };
  return reads ? upgradeDirect(ask, reads) : upgradeWithAgent(ask);
}

/** The upgrade's own headers, both ways of making it send. */
const upgradeHeaders = (key: string, protocol: string): Record<string, string> => ({ Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": key, "Sec-WebSocket-Protocol": protocol });
const HANDSHAKE_TIMEOUT = `the API server did not answer the upgrade within ${HANDSHAKE_TIMEOUT_MS / 1000} s`;

/** Whether the answer to the upgrade is one: the key's accept value and the subprotocol asked for. */
function upgradeProblem(ask: Ask, accept: unknown, protocol: unknown): string | undefined {
  if (accept !== createHash("sha1").update(ask.key + ACCEPT_GUID).digest("base64")) return "its answer to the WebSocket upgrade does not match the key (Sec-WebSocket-Accept)";
  if (protocol !== ask.protocol) return `it chose the subprotocol ${JSON.stringify(protocol ?? "none")} instead of ${ask.protocol}`;
  return undefined;
}

/** What a refused upgrade says: the status and the Status object's message (or the body's first words). */
function refusalReason(status: number | undefined, body: string): string {
  let reason = `the API server answered HTTP ${status}`;
  try {
    const parsed = JSON.parse(body) as { message?: string };
    if (parsed.message) reason += `: ${parsed.message}`;
  } catch {
    if (body.trim()) reason += `: ${body.trim().slice(0, 200)}`;
  }
  return reason;
}

/** The upgrade by Node's HTTP client on client-node's agent (the kube context's proxy-url). */
function upgradeWithAgent(ask: Ask): Promise<Upgraded> {
  const { url, options, failed } = ask;
  return new Promise((resolve, reject) => {
    const request = (url.protocol === "https:" ? https : http).request(url, {
      ...options,
      headers: { ...options.headers, ...upgradeHeaders(ask.key, ask.protocol) },
    });
    const timer = setTimeout(() => request.destroy(new Error(HANDSHAKE_TIMEOUT)), HANDSHAKE_TIMEOUT_MS);
    request.once("error", (cause) => {
      clearTimeout(timer);
      reject(failed(cause.message, cause));
    });
    request.once("response", (response) => {
      clearTimeout(timer);
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      response.once("error", (cause) => reject(failed(cause.message, cause)));
      response.once("end", () => reject(failed(refusalReason(response.statusCode, body))));
    });
    request.once("upgrade", (response, upgraded, head) => {
      clearTimeout(timer);
      const problem = upgradeProblem(ask, response.headers["sec-websocket-accept"], response.headers["sec-websocket-protocol"]);
      if (problem) {
        upgraded.destroy();
        return reject(failed(problem));
      }
      // Nothing is read until the tunnel's handlers are in place.
      upgraded.pause();
      resolve({ socket: upgraded, early: head.length > 0 ? [head] : [] });
    });
    request.end();
  });
}

/**
 * The upgrade on a connection of kbridge's own (TLS, or TCP for an http: server), reading
 * into `reads`: the request written by hand, the answer read by hand — its head, and for a
 * refusal its body as its framing says (Content-Length, chunked, or to the close).
 */
function upgradeDirect(ask: Ask, reads: ReadBuffer): Promise<Upgraded> {
  return new Promise((resolve, reject) => {
    let request: string;
    try {
      request = upgradeRequest(ask);
    } catch (cause) {
      return reject(ask.failed(`the kube context's credentials: ${(cause as Error).message}`, cause));
    }
    const socket = connectDirect(ask.url, ask.options, reads);
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    const refuse = (reason: string, cause?: unknown) =>
      settle(() => {
        socket.destroy();
        reject(ask.failed(reason, cause));
      });
    const timer = setTimeout(() => refuse(HANDSHAKE_TIMEOUT), HANDSHAKE_TIMEOUT_MS);
    socket.once("error", (cause: Error) => refuse(cause.message, cause));
    socket.write(request);
    const answer = answerReader(ask, reads, refuse, (early) => {
      socket.pause();
      settle(() => resolve({ socket, early }));
    });
    socket.once("end", answer.ended);
  });
}

/** A TLS connection (TCP for an http: server) with the kube context's TLS options, reading into `reads`. */
function connectDirect(url: URL, options: https.RequestOptions, reads: ReadBuffer): net.Socket {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(url.port) || (url.protocol === "https:" ? 443 : 80);
  if (url.protocol !== "https:") return net.connect({ host, port, onread: reads.onread });
  const { ca, cert, key, pfx, passphrase, rejectUnauthorized } = options;
  const servername = options.servername ?? (net.isIP(host) ? undefined : host);
  return tls.connect({ host, port, ca, cert, key, pfx, passphrase, ALPNProtocols: ["http/1.1"], onread: reads.onread, ...(servername ? { servername } : {}), ...(rejectUnauthorized === undefined ? {} : { rejectUnauthorized }) } as tls.ConnectionOptions & { onread: net.OnReadOpts });
}

/**
 * Reads the answer to the upgrade from `reads`, copied as it comes (the read buffer is read
 * into again): a 101 whose accept and subprotocol match calls `upgraded` with the bytes after
 * its head; anything else `refuse`s with the reason, once the body is whole or the connection ended.
 */
function answerReader(ask: Ask, reads: ReadBuffer, refuse: (reason: string) => void, upgraded: (early: Buffer[]) => void): { ended(): void } {
  let answer = Buffer.alloc(0);
  let head: { status: number; headers: Map<string, string>; end: number } | undefined;
  /** A refusal's body once its framing says it is whole (or the connection ended, or the limit is reached); `undefined` until then. */
  const refusalBody = (ended: boolean): string | undefined => {
    const { headers, end } = head as NonNullable<typeof head>;
    const body = answer.subarray(end);
    const length = Number(headers.get("content-length"));
    if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) {
      const whole = dechunk(body);
      if (whole) return whole.toString("utf8");
    } else if (body.length >= Math.min(length, ANSWER_LIMIT)) return body.subarray(0, length).toString("utf8");
    return ended || answer.length >= ANSWER_LIMIT ? body.toString("utf8") : undefined;
  };
  reads.consume = (chunk) => {
    answer = Buffer.concat([answer, chunk]);
    if (!head) {
      const end = answer.indexOf("\r\n\r\n");
      if (end < 0) {
        if (answer.length > ANSWER_LIMIT) refuse(`its answer to the upgrade has no end of head within ${ANSWER_LIMIT / 1024} KiB`);
        return;
      }
      const [statusLine = "", ...lines] = answer.subarray(0, end).toString("latin1").split("\r\n");
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
      if (!status) return refuse(`it answered the upgrade with ${JSON.stringify(statusLine.slice(0, 80))}, not HTTP/1.1`);
      const headers = new Map<string, string>();
      for (const line of lines) {
        const colon = line.indexOf(":");
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      head = { status, headers, end: end + 4 };
      if (status === 101) {
        const problem = upgradeProblem(ask, headers.get("sec-websocket-accept"), headers.get("sec-websocket-protocol"));
        if (problem) return refuse(problem);
        // Upgraded: what came after the head, and whatever is read before the frames' reader is in place, waits for it.
        const early = answer.length > head.end ? [answer.subarray(head.end)] : [];
        reads.consume = (more) => early.push(Buffer.from(more));
        return upgraded(early);
      }
    }
    const body = refusalBody(false);
    if (body !== undefined) refuse(refusalReason(head.status, body));
  };
  return {
    ended() {
      if (!head) return refuse("the API server closed the connection before it answered the upgrade");
      refuse(refusalReason(head.status, refusalBody(true) ?? ""));
    },
  };
}

/** The upgrade request, with the kube context's headers (its credentials). */
function upgradeRequest({ url, options, key, protocol }: Ask): string {
  const headers: [string, string][] = [["Host", url.host], ...Object.entries(upgradeHeaders(key, protocol))];
  const given = options.headers ?? {};
  const pairs: [string, unknown][] = Array.isArray(given) ? [] : Object.entries(given);
  if (Array.isArray(given)) for (let i = 0; i + 1 < given.length; i += 2) pairs.push([given[i] as string, given[i + 1]]);
  for (const [name, value] of pairs) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.push([name, String(one)]);
  }
  if (options.auth && !headers.some(([name]) => name.toLowerCase() === "authorization")) headers.push(["Authorization", `Basic ${Buffer.from(options.auth).toString("base64")}`]);
  let text = `GET ${url.pathname}${url.search} HTTP/1.1\r\n`;
  for (const [name, value] of headers) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new Error(`its header ${name} holds a line break`);
    text += `${name}: ${value}\r\n`;
  }
  return `${text}\r\n`;
}

/** A chunked body's bytes once its last chunk came; `undefined` until then. */
function dechunk(bytes: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = bytes.indexOf("\r\n", offset);
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(bytes.subarray(offset, lineEnd).toString("latin1"), 16);
    if (Number.isNaN(size) || size === 0) return Buffer.concat(parts);
    const start = lineEnd + 2;
    if (bytes.length < start + size + 2) return undefined;
    parts.push(bytes.subarray(start, start + size));
    offset = start + size + 2;
  }
}
