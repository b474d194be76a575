/**
 * A TCP connection to a pod port through the API server's port-forward: the WebSocket channel
 * protocol (v4.channel.k8s.io; channel 0 the port's data, channel 1 its errors, each opened
 * with the port as uint16 LE). One WebSocket is one connection to the pod port; the agent
 * tunnels (helper/tunnel/muxTunnel.ts) each run on one.
 *
 * The WebSocket is kbridge's own (RFC 6455, client side, no extensions), for what the
 * libraries lack: the API server's reason when the upgrade is refused (client-node says only
 * "Unexpected server response"), and less work per message: a message sent is written as the
 * tunnel queued it (one writev, no copy into one buffer), and a message received goes to the
 * tunnel whole, once, without a stream's machinery per TLS record in between. (Handing on
 * each 16 KiB record as it came would cost more: four writes to the workstation's socket
 * where one does, and write calls are what a relay pays for.)
 *
 * Unless the kube context names a proxy, the connection is kbridge's own too (TLS, with the
 * upgrade written and its answer read by hand) and reads into memory of its own: each read
 * lands after the last in one 256 KiB buffer, a message goes on as one view of it, and the
 * buffer is read into again once the handlers say they let go of every byte (released()),
 * else a new one is taken. Node's reads would take new memory for every TLS record, and a
 * message joined from them new memory again: the young generation's external memory then
 * fills every few dozen MiB, and each collection it forces promotes whatever is alive, until
 * full collections come every 100 ms or so. Through a proxy, client-node's agent makes the
 * connection and Node reads it.
 *
 * Back-pressure is the tunnel's: the multiplexer's windows bound what is in flight, and it
 * holds its connections' data back while buffered() is high, until drain.
 */
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import { KbridgeError } from "../protocol/index.ts";
import type { ClusterConnection } from "./clusterConnection.ts";

/** An open port-forward: messages to the pod port. */
export interface PortForwardSocket {
  /** Sends the chunks, in order, as one message to the pod port (`bytes`: their total length). */
  send(chunks: Buffer[], bytes?: number): void;
  /** Bytes sent that the connection has not written yet; handlers.drain is called once it wrote them all. */
  buffered(): number;
  /** data() is given views of memory that is read into again once handlers.released() says so (else bytes nobody writes over). */
  readonly lends?: boolean;
  close(): void;
}

export interface PortForwardHandlers {
  /** Bytes from the pod port. */
  data(payload: Buffer): void;
  /** The connection ended; with the API server's or the kubelet's reason when it failed. */
  close(error?: Error): void;
  /** Everything sent was written (after buffered() said more than a few KiB wait). */
  drain?(): void;
  /**
   * Whether every byte data() was given is let go of (written to a kernel, copied, or
   * dropped). Asked each time a read buffer is full: true lets the connection read into that
   * memory again, false (or no answer) takes new memory.
   */
  released?(): boolean;
}

const PROTOCOL = "v4.channel.k8s.io";
/** The byte that opens every message kbridge sends: the data channel of the one port. */
const DATA_CHANNEL = Buffer.of(0);
const ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** An API server that accepts the connection but does not answer the upgrade within this fails the port-forward. */
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** After kbridge's close frame, how long the API server has to close the connection. */
const CLOSE_TIMEOUT_MS = 5_000;
/** A message longer than this is handed on in parts of this size (it is held in memory until then). */
const DELIVER_BYTES = 256 * 1024;
/** kbridge's own reads go into buffers this large, and a message in one goes on as a view of it. */
const READ_BUFFER_BYTES = 256 * 1024;
/** Less room than a TLS record's left in a read buffer: the next read goes to its beginning, or to a new one. */
const READ_ROOM_MIN = 16 * 1024;
/** The longest answer to the upgrade read (its head, and a refusal's body). */
const ANSWER_LIMIT = 64 * 1024;
/** The longest error text kept from channel 1. */
const ERROR_TEXT_LIMIT = 4096;

export const OPCODE = { CONTINUATION: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const;

/**
 * The frame header of a client's message of `length` bytes. Client frames must be masked,
 * with a key the server cannot predict, so that a browser's page cannot make its bytes look
 * like something else to a proxy between it and the server. Inside TLS no proxy sees the
 * bytes and no page writes them: there the key is zero, and the payload goes out as it is.
 */
export function frameHeader(opcode: number, length: number, mask: Buffer): Buffer {
  const extended = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const header = Buffer.allocUnsafe(2 + extended + 4);
  header[0] = 0x80 | opcode;
  header[1] = 0x80 | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) header.writeUInt16BE(length, 2);
  else if (extended === 8) header.writeBigUInt64BE(BigInt(length), 2);
  mask.copy(header, 2 + extended);
  return header;
}

/** XORs `payload` with the 4-byte key in place, from key byte `phase` on. */
export function applyMask(payload: Buffer, mask: Buffer, phase = 0): void {
  for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[(i + phase) & 3] as number);
}

export interface FrameHandlers {
  /** A piece of a data message's payload (a message may come in many). */
  piece(payload: Buffer): void;
  /** The data message the pieces belonged to is complete. */
  messageEnd(): void;
  /** A control frame (close, ping, pong), whole. */
  control(opcode: number, payload: Buffer): void;
}

/**
 * The server's side of the wire, parsed as it arrives: control frames whole, data messages
 * (text or binary, fragmented or not) as pieces. Throws on what RFC 6455 forbids a server to
 * send (a masked frame, reserved bits, an unknown opcode, a fragmented or long control frame).
 */
export class FrameReader {
  private header = Buffer.alloc(14);
  private headerFill = 0;
  private opcode = -1;
  private fin = false;
  private remaining = 0;
  private inMessage = false;
  private control: Buffer[] = [];

  constructor(private readonly handlers: FrameHandlers) {}

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.opcode < 0) {
        const take = Math.min(this.headerNeeds() - this.headerFill, chunk.length - offset);
        chunk.copy(this.header, this.headerFill, offset, offset + take);
        this.headerFill += take;
        offset += take;
        if (this.headerFill < this.headerNeeds()) continue;
        this.startFrame();
        if (this.remaining === 0) this.endFrame();
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - offset);
      const piece = chunk.subarray(offset, offset + take);
      offset += take;
      this.remaining -= take;
      // A control frame is kept whole before it is read: a copy, as its memory may be read into again.
      if (this.opcode >= OPCODE.CLOSE) this.control.push(Buffer.from(piece));
      else this.handlers.piece(piece);
      if (this.remaining === 0) this.endFrame();
    }
  }

  /** How many header bytes the frame in progress has: 2, then as its second byte says. */
  private headerNeeds(): number {
    if (this.headerFill < 2) return 2;
    const length = (this.header[1] as number) & 0x7f;
    return 2 + (length === 126 ? 2 : length === 127 ? 8 : 0) + ((this.header[1] as number) & 0x80 ? 4 : 0);
  }

  private startFrame(): void {
    const first = this.header[0] as number;
    const second = this.header[1] as number;
    this.headerFill = 0;
    if (second & 0x80) throw new Error("the API server sent a masked frame");
    if (first & 0x70) throw new Error("the API server set reserved bits of a frame (an extension kbridge did not ask for)");
    const opcode = first & 0x0f;
    const short = second & 0x7f;
    let length = short;
    if (short === 126) length = this.header.readUInt16BE(2);
    else if (short === 127) {
      const long = this.header.readBigUInt64BE(2);
      if (long > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error("the API server sent a frame longer than 2^53 bytes");
      length = Number(long);
    }
    this.fin = (first & 0x80) !== 0;
    if (opcode >= OPCODE.CLOSE) {
      if (opcode > OPCODE.PONG) throw new Error(`the API server sent a frame of unknown opcode ${opcode}`);
      if (!this.fin || length > 125) throw new Error("the API server sent a fragmented or long control frame");
    } else if (opcode === OPCODE.CONTINUATION) {
      if (!this.inMessage) throw new Error("the API server continued a message it had not started");
    } else if (opcode === OPCODE.TEXT || opcode === OPCODE.BINARY) {
      if (this.inMessage) throw new Error("the API server started a message inside another");
      this.inMessage = true;
    } else throw new Error(`the API server sent a frame of unknown opcode ${opcode}`);
    this.opcode = opcode;
    this.remaining = length;
  }

  private endFrame(): void {
    const opcode = this.opcode;
    this.opcode = -1;
    if (opcode >= OPCODE.CLOSE) {
      const payload = this.control.length === 1 ? (this.control[0] as Buffer) : Buffer.concat(this.control);
      this.control = [];
      return this.handlers.control(opcode, payload);
    }
    if (!this.fin) return;
    this.inMessage = false;
    this.handlers.messageEnd();
  }
}

export async function openPortForward(connection: ClusterConnection, namespace: string, pod: string, port: number, handlers: PortForwardHandlers): Promise<PortForwardSocket> {
  const failed = (reason: string, cause?: unknown) =>
    new KbridgeError(
      {
        code: "port-forward-failed",
        category: "cluster",
        message: `Cannot open a port-forward to pod ${namespace}/${pod} port ${port}: ${reason}.`,
        hint: "Check that the pod is running and that you may create pods/portforward in this namespace.",
      },
      { cause },
    );
  const cluster = connection.config.getCurrentCluster();
  if (!cluster?.server) throw failed("the kube context names no cluster server");
  const options: https.RequestOptions = {};
  try {
    await connection.config.applyToHTTPSOptions(options);
  } catch (cause) {
    throw failed(`the kube context's credentials: ${(cause as Error).message}`, cause);
  }
  const url = new URL(`${cluster.server.replace(/\/$/, "")}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/portforward?ports=${port}`);
  const secure = url.protocol === "https:";
  const key = randomBytes(16).toString("base64");
  // Through a proxy, client-node's agent makes the connection and Node reads it; else kbridge
  // makes it and reads into its own memory.
  const reads = cluster.proxyUrl ? undefined : new ReadBuffer();
  const { socket, early } = await (reads ? upgradeDirect(url, options, key, reads, failed) : upgradeWithAgent(url, options, key, failed));
  socket.setNoDelay(true);

  // Open: frames both ways.
  const zero = Buffer.alloc(4);
  const newMask = () => (secure ? zero : randomBytes(4));
  let error: Error | undefined;
  let closeSent = false;
  let closed = false;
  const write = (opcode: number, chunks: Buffer[], bytes: number) => {
    if (closeSent || closed) return;
    const mask = newMask();
    const header = frameHeader(opcode, bytes, mask);
    if (mask === zero) {
      // Inside TLS: one writev, the payload as it is.
      socket.cork();
      socket.write(header);
      for (const chunk of chunks) socket.write(chunk);
      socket.uncork();
      return;
    }
    const payload = Buffer.allocUnsafe(bytes);
    let offset = 0;
    for (const chunk of chunks) offset += chunk.copy(payload, offset);
    applyMask(payload, mask);
    socket.write(Buffer.concat([header, payload]));
  };
  const sendClose = (code: number) => {
    if (closeSent || closed) return;
    const payload = Buffer.allocUnsafe(2);
    payload.writeUInt16BE(code, 0);
    write(OPCODE.CLOSE, [payload], 2);
    closeSent = true;
    socket.end();
    setTimeout(() => socket.destroy(), CLOSE_TIMEOUT_MS).unref();
  };
  const fail = (reason: Error, code: number) => {
    error ??= reason;
    sendClose(code);
  };

  // Messages by channel: the first byte names it, and the first message of each channel
  // starts with the port (two bytes), which is no data. A message's pieces that lie side by
  // side in one buffer (kbridge's own reads: everything but the frame headers) go on as one
  // view of it; pieces of separate buffers (Node's reads, through a proxy) are joined.
  let channel = -1;
  let skip = 0;
  const opened = [false, false];
  let errorText = "";
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const deliver = () => {
    if (pendingBytes === 0) return;
    const payload = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    try {
      handlers.data(payload);
    } catch (cause) {
      // A reader that fails ends this connection, not the helper.
      fail(new Error(`port-forward to ${namespace}/${pod}:${port}: its reader failed: ${(cause as Error).message}`), 1011);
    }
  };
  const reader = new FrameReader({
    piece(payload) {
      if (channel < 0) {
        if (payload.length === 0) return;
        channel = payload[0] as number;
        payload = payload.subarray(1);
        if ((channel === 0 || channel === 1) && !opened[channel]) {
          opened[channel] = true;
          skip = 2;
        }
      }
      if (skip > 0) {
        const n = Math.min(skip, payload.length);
        skip -= n;
        payload = payload.subarray(n);
      }
      if (payload.length === 0) return;
      if (channel === 0) {
        const last = pending[pending.length - 1];
        if (last && last.buffer === payload.buffer && last.byteOffset + last.length === payload.byteOffset) pending[pending.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + payload.length);
        else pending.push(payload);
        pendingBytes += payload.length;
        if (pendingBytes >= DELIVER_BYTES) deliver();
      } else if (channel === 1 && errorText.length < ERROR_TEXT_LIMIT) errorText += payload.toString("utf8");
    },
    messageEnd() {
      deliver();
      // The kubelet's reason (it could not connect to the port, or the connection failed).
      if (channel === 1 && errorText.trim()) fail(new Error(`port-forward to ${namespace}/${pod}:${port}: ${errorText.trim()}`), 1000);
      channel = -1;
      skip = 0;
      errorText = "";
    },
    control(opcode, payload) {
      if (opcode === OPCODE.PING) return write(OPCODE.PONG, [payload], payload.length);
      if (opcode !== OPCODE.CLOSE) return;
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      if (code !== 1000 && code !== 1005) error ??= new Error(`port-forward to ${namespace}/${pod}:${port}: the API server closed it (${code}${payload.length > 2 ? `: ${payload.subarray(2).toString("utf8")}` : ""})`);
      sendClose(code === 1005 ? 1000 : code);
    },
  });
  const receive = (chunk: Buffer) => {
    try {
      reader.push(chunk);
    } catch (cause) {
      fail(new Error(`port-forward to ${namespace}/${pod}:${port}: ${(cause as Error).message}`), 1002);
      socket.destroy();
    }
  };
  socket.on("error", (cause: Error) => (error ??= cause));
  socket.on("drain", () => handlers.drain?.());
  socket.once("close", () => {
    closed = true;
    handlers.close(error);
  });
  // Bytes that came with the upgrade's answer are the first frames; they and what follows
  // are read once the caller holds this connection (its handlers may answer at once).
  setImmediate(() => {
    for (const chunk of early.splice(0)) receive(chunk);
    if (reads) {
      reads.consume = receive;
      // A buffer is read into again only once the message in it was handed on and the handlers let go of every byte.
      reads.released = () => {
        deliver();
        return handlers.released?.() ?? false;
      };
    } else socket.on("data", receive);
    socket.resume();
  });
  return {
    send(chunks, bytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0)) {
      // A closed connection has told its close handler already; what is sent after is dropped.
      write(OPCODE.BINARY, [DATA_CHANNEL, ...chunks], bytes + 1);
    },
    buffered: () => socket.writableLength,
    lends: reads !== undefined,
    close: () => sendClose(1000),
  };
}

/** An upgraded connection: the bytes that came after the answer's head go first to the frames. */
interface Upgraded {
  socket: net.Socket;
  early: Buffer[];
}

type Failed = (reason: string, cause?: unknown) => KbridgeError;

/**
 * Reads into memory of kbridge's own (a socket's `onread`): each read lands after the last in
 * one buffer and goes to `consume` as a view of it, with no new memory per read. Once less
 * than a TLS record's room is left, reads start again at the buffer's beginning if
 * `released()` says nothing of it is held any more, else in a new buffer (the old one stays
 * with whoever holds it).
 */
class ReadBuffer {
  private buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  private offset = 0;
  consume: (chunk: Buffer) => void = () => undefined;
  released: () => boolean = () => false;
  readonly onread: net.OnReadOpts = {
    buffer: () => this.buffer.subarray(this.offset),
    callback: (length) => {
      const chunk = this.buffer.subarray(this.offset, this.offset + length);
      this.offset += length;
      this.consume(chunk);
      if (this.buffer.length - this.offset < READ_ROOM_MIN) {
        if (!this.released()) this.buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
        this.offset = 0;
      }
      return true;
    },
  };
}

/** The upgrade's own headers, both ways of making it send. */
const upgradeHeaders = (key: string): Record<string, string> => ({ Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": key, "Sec-WebSocket-Protocol": PROTOCOL });
const HANDSHAKE_TIMEOUT = `the API server did not answer the upgrade within ${HANDSHAKE_TIMEOUT_MS / 1000} s`;

/** Whether the answer to the upgrade is one: the key's accept value and the subprotocol asked for. */
function upgradeProblem(key: string, accept: unknown, protocol: unknown): string | undefined {
  if (accept !== createHash("sha1").update(key + ACCEPT_GUID).digest("base64")) return "its answer to the WebSocket upgrade does not match the key (Sec-WebSocket-Accept)";
  if (protocol !== PROTOCOL) return `it chose the subprotocol ${JSON.stringify(protocol ?? "none")} instead of ${PROTOCOL}`;
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
function upgradeWithAgent(url: URL, options: https.RequestOptions, key: string, failed: Failed): Promise<Upgraded> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === "https:" ? https : http).request(url, {
      ...options,
      headers: { ...options.headers, ...upgradeHeaders(key) },
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
      const problem = upgradeProblem(key, response.headers["sec-websocket-accept"], response.headers["sec-websocket-protocol"]);
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
function upgradeDirect(url: URL, options: https.RequestOptions, key: string, reads: ReadBuffer, failed: Failed): Promise<Upgraded> {
  return new Promise((resolve, reject) => {
    let request: string;
    try {
      request = upgradeRequest(url, options, key);
    } catch (cause) {
      return reject(failed(`the kube context's credentials: ${(cause as Error).message}`, cause));
    }
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const port = Number(url.port) || (url.protocol === "https:" ? 443 : 80);
    const { ca, cert, key: privateKey, pfx, passphrase, rejectUnauthorized } = options;
    const servername = options.servername ?? (net.isIP(host) ? undefined : host);
    const tlsOptions: tls.ConnectionOptions & { onread: net.OnReadOpts } = { host, port, ca, cert, key: privateKey, pfx, passphrase, ALPNProtocols: ["http/1.1"], onread: reads.onread, ...(servername ? { servername } : {}), ...(rejectUnauthorized === undefined ? {} : { rejectUnauthorized }) };
    const socket = url.protocol === "https:" ? tls.connect(tlsOptions) : net.connect({ host, port, onread: reads.onread });
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
        reject(failed(reason, cause));
      });
    const timer = setTimeout(() => refuse(HANDSHAKE_TIMEOUT), HANDSHAKE_TIMEOUT_MS);
    socket.once("error", (cause: Error) => refuse(cause.message, cause));
    socket.write(request);

    // The answer, copied as it comes (the read buffer is read into again).
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
          const problem = upgradeProblem(key, headers.get("sec-websocket-accept"), headers.get("sec-websocket-protocol"));
          if (problem) return refuse(problem);
          // Upgraded: what came after the head, and whatever is read before the frames' reader is in place, waits for it.
          const early = answer.length > head.end ? [answer.subarray(head.end)] : [];
          reads.consume = (more) => early.push(Buffer.from(more));
          socket.pause();
          return settle(() => resolve({ socket, early }));
        }
      }
      const body = refusalBody(false);
      if (body !== undefined) refuse(refusalReason(head.status, body));
    };
    socket.once("end", () => {
      if (!head) return refuse("the API server closed the connection before it answered the upgrade");
      refuse(refusalReason(head.status, refusalBody(true) ?? ""));
    });
  });
}

/** The upgrade request, with the kube context's headers (its credentials). */
function upgradeRequest(url: URL, options: https.RequestOptions, key: string): string {
  const headers: [string, string][] = [["Host", url.host], ...Object.entries(upgradeHeaders(key))];
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
