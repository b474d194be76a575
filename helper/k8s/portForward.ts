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
 * Back-pressure is the tunnel's: the multiplexer's windows bound what is in flight, and it
 * holds its connections' data back while buffered() is high, until drain.
 */
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { Duplex } from "node:stream";
import { KbridgeError } from "../protocol/index.ts";
import type { ClusterConnection } from "./clusterConnection.ts";

/** An open port-forward: messages to the pod port. */
export interface PortForwardSocket {
  /** Sends the chunks, in order, as one message to the pod port (`bytes`: their total length). */
  send(chunks: Buffer[], bytes?: number): void;
  /** Bytes sent that the connection has not written yet; handlers.drain is called once it wrote them all. */
  buffered(): number;
  close(): void;
}

export interface PortForwardHandlers {
  /** Bytes from the pod port. */
  data(payload: Buffer): void;
  /** The connection ended; with the API server's or the kubelet's reason when it failed. */
  close(error?: Error): void;
  /** Everything sent was written (after buffered() said more than a few KiB wait). */
  drain?(): void;
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
      if (this.opcode >= OPCODE.CLOSE) this.control.push(piece);
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
  const server = connection.config.getCurrentCluster()?.server;
  if (!server) throw failed("the kube context names no cluster server");
  const options: https.RequestOptions = {};
  try {
    await connection.config.applyToHTTPSOptions(options);
  } catch (cause) {
    throw failed(`the kube context's credentials: ${(cause as Error).message}`, cause);
  }
  const secure = server.startsWith("https:");
  const url = `${server.replace(/\/$/, "")}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/portforward?ports=${port}`;
  const key = randomBytes(16).toString("base64");
  const { socket, head } = await new Promise<{ socket: Duplex; head: Buffer }>((resolve, reject) => {
    const request = (secure ? https : http).request(url, {
      ...options,
      headers: { ...options.headers, Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": key, "Sec-WebSocket-Protocol": PROTOCOL },
    });
    const timer = setTimeout(() => request.destroy(new Error(`the API server did not answer the upgrade within ${HANDSHAKE_TIMEOUT_MS / 1000} s`)), HANDSHAKE_TIMEOUT_MS);
    request.once("error", (cause) => {
      clearTimeout(timer);
      reject(failed(cause.message, cause));
    });
    request.once("response", (response) => {
      clearTimeout(timer);
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      response.once("error", (cause) => reject(failed(cause.message, cause)));
      response.once("end", () => {
        let reason = `the API server answered HTTP ${response.statusCode}`;
        try {
          const status = JSON.parse(body) as { message?: string };
          if (status.message) reason += `: ${status.message}`;
        } catch {
          if (body.trim()) reason += `: ${body.trim().slice(0, 200)}`;
        }
        reject(failed(reason));
      });
    });
    request.once("upgrade", (response, upgraded, head) => {
      clearTimeout(timer);
      const accept = createHash("sha1").update(key + ACCEPT_GUID).digest("base64");
      const problem =
        response.headers["sec-websocket-accept"] !== accept
          ? "its answer to the WebSocket upgrade does not match the key (Sec-WebSocket-Accept)"
          : response.headers["sec-websocket-protocol"] !== PROTOCOL
            ? `it chose the subprotocol ${JSON.stringify(response.headers["sec-websocket-protocol"] ?? "none")} instead of ${PROTOCOL}`
            : undefined;
      if (problem) {
        upgraded.destroy();
        return reject(failed(problem));
      }
      // Nothing is read until the tunnel's handlers are in place (below).
      upgraded.pause();
      if (upgraded instanceof net.Socket) upgraded.setNoDelay(true);
      resolve({ socket: upgraded, head });
    });
    request.end();
  });

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
  // starts with the port (two bytes), which is no data.
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
        pending.push(payload);
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
  socket.on("data", receive);
  socket.on("error", (cause: Error) => (error ??= cause));
  socket.on("drain", () => handlers.drain?.());
  socket.once("close", () => {
    closed = true;
    handlers.close(error);
  });
  // Bytes that came with the upgrade's answer are the first frames; they and what follows
  // are read once the caller holds this connection (its handlers may answer at once).
  setImmediate(() => {
    if (head.length > 0) receive(head);
    socket.resume();
  });
  return {
    send(chunks, bytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0)) {
      // A closed connection has told its close handler already; what is sent after is dropped.
      write(OPCODE.BINARY, [DATA_CHANNEL, ...chunks], bytes + 1);
    },
    buffered: () => socket.writableLength,
    close: () => sendClose(1000),
  };
}
