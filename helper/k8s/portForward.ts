/**
 * A TCP connection to a pod port through the API server's port-forward: the WebSocket channel
 * protocol (v4.channel.k8s.io; channel 0 the port's data, channel 1 its errors, each opened
 * with the port as uint16 LE). One WebSocket is one connection to the pod port; the agent
 * tunnels (helper/tunnel/muxTunnel.ts) each run on one. Why the WebSocket and its reads are
 * kbridge's own: docs/tunnel.md.
 */
import { randomBytes } from "node:crypto";
import type https from "node:https";
import type net from "node:net";
import { applyMask, FrameReader, frameHeader, OPCODE } from "../net/webSocketFrames.ts";
import { ReadBuffer } from "../net/readBuffer.ts";
import { upgradeWebSocket } from "../net/webSocketUpgrade.ts";
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
/** After kbridge's close frame, how long the API server has to close the connection. */
const CLOSE_TIMEOUT_MS = 5_000;
/** A message longer than this is handed on in parts of this size (it is held in memory until then). */
const DELIVER_BYTES = 256 * 1024;
/** The longest error text kept from channel 1. */
const ERROR_TEXT_LIMIT = 4096;

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
  // Through a proxy, client-node's agent makes the connection and Node reads it; else kbridge
  // makes it and reads into its own memory.
  const reads = cluster.proxyUrl ? undefined : new ReadBuffer();
  const { socket, early } = await upgradeWebSocket({ url, options, protocol: PROTOCOL, failed }, reads);
  socket.setNoDelay(true);

  const writer = frameWriter(socket, url.protocol === "https:");
  const where = `port-forward to ${namespace}/${pod}:${port}`;
  const channels = channelReader(where, handlers, writer);
  socket.on("error", (cause: Error) => writer.failedWith(cause));
  socket.on("drain", () => handlers.drain?.());
  socket.once("close", () => {
    writer.closed = true;
    handlers.close(writer.error);
  });
  // Bytes that came with the upgrade's answer are the first frames; they and what follows
  // are read once the caller holds this connection (its handlers may answer at once).
  setImmediate(() => {
    for (const chunk of early.splice(0)) channels.receive(chunk);
    if (reads) {
      reads.consume = channels.receive;
      // A buffer is read into again only once the message in it was handed on and the handlers let go of every byte.
      reads.released = () => {
        channels.deliver();
        return handlers.released?.() ?? false;
      };
    } else socket.on("data", channels.receive);
    socket.resume();
  });
  return {
    send(chunks, bytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0)) {
      // A closed connection has told its close handler already; what is sent after is dropped.
      writer.write(OPCODE.BINARY, [DATA_CHANNEL, ...chunks], bytes + 1);
    },
    buffered: () => socket.writableLength,
    lends: reads !== undefined,
    close: () => writer.sendClose(1000),
  };
}

interface FrameWriter {
  write(opcode: number, chunks: Buffer[], bytes: number): void;
  sendClose(code: number): void;
  /** Keeps the first reason the connection failed, and closes it with `code`. */
  fail(reason: Error, code: number): void;
  failedWith(reason: Error): void;
  destroy(): void;
  error: Error | undefined;
  closed: boolean;
}

/** kbridge's frames on `socket`; inside TLS unmasked and written as they are (see frameHeader). */
function frameWriter(socket: net.Socket, secure: boolean): FrameWriter {
  const zero = Buffer.alloc(4);
  let closeSent = false;
  const writer: FrameWriter = {
    error: undefined,
    closed: false,
    write(opcode, chunks, bytes) {
      if (closeSent || writer.closed) return;
      const mask = secure ? zero : randomBytes(4);
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
    },
    sendClose(code) {
      if (closeSent || writer.closed) return;
      const payload = Buffer.allocUnsafe(2);
      payload.writeUInt16BE(code, 0);
      writer.write(OPCODE.CLOSE, [payload], 2);
      closeSent = true;
      socket.end();
      setTimeout(() => socket.destroy(), CLOSE_TIMEOUT_MS).unref();
    },
    fail(reason, code) {
      writer.failedWith(reason);
      writer.sendClose(code);
    },
    failedWith(reason) {
      writer.error ??= reason;
    },
    destroy: () => socket.destroy(),
  };
  return writer;
}

/**
 * Messages by channel: the first byte names it, and the first message of each channel
 * starts with the port (two bytes), which is no data. A message's pieces that lie side by
 * side in one buffer (kbridge's own reads: everything but the frame headers) go on as one
 * view of it; pieces of separate buffers (Node's reads, through a proxy) are joined.
 */
function channelReader(where: string, handlers: PortForwardHandlers, writer: FrameWriter): { receive(chunk: Buffer): void; deliver(): void } {
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
      writer.fail(new Error(`${where}: its reader failed: ${(cause as Error).message}`), 1011);
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
      if (channel === 1 && errorText.trim()) writer.fail(new Error(`${where}: ${errorText.trim()}`), 1000);
      channel = -1;
      skip = 0;
      errorText = "";
    },
    control(opcode, payload) {
      if (opcode === OPCODE.PING) return writer.write(OPCODE.PONG, [payload], payload.length);
      if (opcode !== OPCODE.CLOSE) return;
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      if (code !== 1000 && code !== 1005) writer.failedWith(new Error(`${where}: the API server closed it (${code}${payload.length > 2 ? `: ${payload.subarray(2).toString("utf8")}` : ""})`));
      writer.sendClose(code === 1005 ? 1000 : code);
    },
  });
  return {
    deliver,
    receive(chunk) {
      try {
        reader.push(chunk);
      } catch (cause) {
        writer.fail(new Error(`${where}: ${(cause as Error).message}`), 1002);
        writer.destroy();
      }
    },
  };
}
