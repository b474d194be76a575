/**
 * Watches an HTTP/1.x connection go by, without changing a byte, and reports each exchange
 * (method, path, status, time to the response's head) for the traffic log. It follows
 * message framing (Content-Length, chunked, HEAD, 1xx/204/304) so keep-alive connections
 * report every request; anything that is not HTTP/1, an upgrade (WebSocket) or a body that
 * runs to the close ends the watching for that connection.
 */

export interface HttpExchange {
  method: string;
  path: string;
  status: number;
  /** From the request's head to the response's head. */
  ms: number;
  /** The request's routing key (isolation): its kubernetes-route-as header, or that member of its W3C baggage. */
  routeAs?: string;
}

/** The routing key a request carries: the kubernetes-route-as header, else the W3C baggage member (as the router reads it). */
export function routingKeyOf(headers: Map<string, string>): string | undefined {
  const header = headers.get("kubernetes-route-as");
  if (header) return header.split(",")[0]?.trim();
  for (const member of (headers.get("baggage") ?? "").split(",")) {
    const [pair = ""] = member.split(";");
    const at = pair.indexOf("=");
    if (at > 0 && pair.slice(0, at).trim() === "kubernetes-route-as") return decodeURIComponent(pair.slice(at + 1).trim());
  }
  return undefined;
}

type Framing = { kind: "none" } | { kind: "length"; left: number } | { kind: "chunked" } | { kind: "close" };

const MAX_HEAD = 64 * 1024;
const REQUEST_LINE = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})/;

/** Parses one direction: heads, then skips bodies by their framing. */
class MessageReader {
  private buffer: Buffer = Buffer.alloc(0);
  private body: Framing = { kind: "none" };
  private chunkLeft = -1; // chunked: bytes of the current chunk left (+2 for its CRLF); -1: reading a size line
  private trailers = false;
  stopped = false;

  constructor(private readonly onHead: (startLine: string, headers: Map<string, string>) => Framing | null) {}

  push(data: Buffer): void {
    if (this.stopped) return;
    this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
    while (!this.stopped && this.buffer.length > 0) {
      if (this.body.kind === "close") return void (this.buffer = Buffer.alloc(0));
      if (this.body.kind === "length") {
        const take = Math.min(this.body.left, this.buffer.length);
        this.body.left -= take;
        this.buffer = this.buffer.subarray(take);
        if (this.body.left === 0) this.body = { kind: "none" };
        continue;
      }
      if (this.body.kind === "chunked") {
        if (!this.readChunked()) return;
        continue;
      }
      const end = this.buffer.indexOf("\r\n\r\n");
      if (end < 0) {
        if (this.buffer.length > MAX_HEAD) this.stopped = true;
        return;
      }
      const [startLine = "", ...lines] = this.buffer.subarray(0, end).toString("latin1").split("\r\n");
      this.buffer = this.buffer.subarray(end + 4);
      const headers = new Map<string, string>();
      for (const line of lines) {
        const colon = line.indexOf(":");
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      const framing = this.onHead(startLine, headers);
      if (!framing) {
        this.stopped = true;
        return;
      }
      this.body = framing;
    }
  }

  /** Consumes chunked body bytes; false when more data is needed. */
  private readChunked(): boolean {
    if (this.chunkLeft >= 0) {
      const take = Math.min(this.chunkLeft, this.buffer.length);
      this.chunkLeft -= take;
      this.buffer = this.buffer.subarray(take);
      if (this.chunkLeft > 0) return false;
      this.chunkLeft = -1;
      return true;
    }
    const end = this.buffer.indexOf("\r\n");
    if (end < 0) return false;
    const line = this.buffer.subarray(0, end).toString("latin1");
    this.buffer = this.buffer.subarray(end + 2);
    if (this.trailers) {
      if (line === "") {
        this.trailers = false;
        this.body = { kind: "none" };
      }
      return true;
    }
    const size = Number.parseInt(line.split(";")[0] ?? "", 16);
    if (Number.isNaN(size)) {
      this.stopped = true;
      return false;
    }
    if (size === 0) this.trailers = true;
    else this.chunkLeft = size + 2;
    return true;
  }
}

function framingOf(headers: Map<string, string>): Framing {
  if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) return { kind: "chunked" };
  const length = headers.get("content-length");
  if (length !== undefined) return Number(length) > 0 ? { kind: "length", left: Number(length) } : { kind: "none" };
  return { kind: "none" };
}

/** Feed it both directions of one connection; `onExchange` gets each answered request. */
export class HttpObserver {
  private readonly pending: { method: string; path: string; at: number; routeAs?: string }[] = [];
  private readonly requests: MessageReader;
  private readonly responses: MessageReader;

  constructor(onExchange: (exchange: HttpExchange) => void) {
    this.requests = new MessageReader((startLine, headers) => {
      const match = REQUEST_LINE.exec(startLine);
      if (!match) return null;
      const routeAs = routingKeyOf(headers);
      this.pending.push({ method: match[1] as string, path: match[2] as string, at: Date.now(), ...(routeAs ? { routeAs } : {}) });
      return framingOf(headers);
    });
    this.responses = new MessageReader((startLine, headers) => {
      const match = STATUS_LINE.exec(startLine);
      if (!match) return null;
      const status = Number(match[1]);
      if (status >= 100 && status < 200 && status !== 101) return { kind: "none" }; // interim: the real answer follows
      const request = this.pending.shift();
      if (request) onExchange({ method: request.method, path: request.path, status, ms: Date.now() - request.at, ...(request.routeAs ? { routeAs: request.routeAs } : {}) });
      if (status === 101) {
        this.requests.stopped = true; // an upgrade: no HTTP/1 from here on
        return null;
      }
      if (request?.method === "HEAD" || status === 204 || status === 304) return { kind: "none" };
      const framing = framingOf(headers);
      return framing.kind === "none" && !headers.has("content-length") ? { kind: "close" } : framing;
    });
  }

  /** Bytes from the client (the cluster side). */
  request(data: Buffer): void {
    this.requests.push(data);
  }

  /** Bytes from the server (the workstation process). */
  response(data: Buffer): void {
    this.responses.push(data);
  }
}
