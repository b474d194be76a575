/**
 * `pods/{name}/portforward` over the three transports clients use:
 * - WebSocket channel protocol v4 (client-node): one WebSocket per connection, channels
 *   2i (data) and 2i+1 (error), each opened with the port as uint16 LE;
 * - SPDY/3.1 tunnelled in a WebSocket (`SPDY/3.1+portforward.k8s.io`, kubectl ≥ 1.31);
 * - plain SPDY/3.1 after `Upgrade: SPDY/3.1` (kubectl's fallback).
 * Each forwarded connection dials the pod IP; bytes flow with back-pressure both ways.
 */
import net from "node:net";
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import { RST_CANCEL, SpdySession } from "./spdy.ts";

/** Half of the outgoing buffer at which a pod connection is paused. */
const HIGH_WATER = 4 * 1024 * 1024;

export interface ForwardTarget {
  host: string;
  describe: string;
}

/** Transport A: client-node's WebSocket channel protocol (v4). */
export function forwardOverChannels(ws: WebSocket, target: ForwardTarget, ports: number[]): void {
  let open = ports.length;
  const finish = () => {
    open -= 1;
    if (open === 0 && ws.readyState === ws.OPEN) ws.close(1000);
  };
  const sockets = ports.map((port, i) => {
    const prefix = Buffer.from([port & 0xff, port >> 8]);
    ws.send(Buffer.concat([Buffer.from([2 * i]), prefix]));
    ws.send(Buffer.concat([Buffer.from([2 * i + 1]), prefix]));
    // Go (the kubelet) sets TCP_NODELAY on every connection; Node does not by default.
    const socket = net.connect({ host: target.host, port, noDelay: true });
    let pending = 0;
    socket.on("data", (chunk: Buffer) => {
      pending += chunk.length;
      if (pending > HIGH_WATER) socket.pause();
      ws.send(Buffer.concat([Buffer.from([2 * i]), chunk]), () => {
        pending -= chunk.length;
        if (pending <= HIGH_WATER / 2 && socket.isPaused()) socket.resume();
      });
    });
    socket.on("drain", () => ws.resume());
    socket.on("error", (error) => {
      if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([2 * i + 1]), Buffer.from(`error forwarding port ${port} to pod ${target.describe}: ${error.message}`)]));
    });
    socket.on("close", finish);
    return socket;
  });
  ws.on("message", (message: Buffer) => {
    if (message.length < 1) return;
    const channel = message[0] as number;
    const socket = channel % 2 === 0 ? sockets[channel / 2] : undefined;
    if (socket && message.length > 1 && !socket.write(message.subarray(1))) ws.pause();
  });
  ws.on("close", () => sockets.forEach((socket) => socket.destroy()));
}

interface StreamPair {
  error?: number;
  data?: number;
  port: number;
  socket?: net.Socket;
}

/**
 * Transports B and C: a SPDY session on a byte transport. `write` sends bytes to the
 * client; `outgoingBuffered` reports how much is still queued there; `pauseIncoming` /
 * `resumeIncoming` hold back the client while a pod connection is congested.
 */
export function forwardOverSpdy(transport: {
  write(bytes: Buffer): void;
  outgoingBuffered(): number;
  onOutgoingDrained(listener: () => void): void;
  pauseIncoming(): void;
  resumeIncoming(): void;
  close(): void;
}, target: ForwardTarget): SpdySession {
  const pairs = new Map<string, StreamPair>();
  const byStream = new Map<number, string>();
  const paused = new Set<net.Socket>();
  transport.onOutgoingDrained(() => {
    for (const socket of paused) socket.resume();
    paused.clear();
  });

  const session = new SpdySession((frame) => transport.write(frame), {
    onSynStream(streamId, headers) {
      const port = Number(headers.port);
      const type = headers.streamtype;
      if (!(port >= 1 && port <= 65535) || (type !== "error" && type !== "data")) return session.reset(streamId, 1);
      session.reply(streamId);
      // Pair by requestid; clients without one pair error stream n with data stream n+2.
      const key = headers.requestid ?? String(type === "error" ? streamId : streamId - 2);
      const pair = pairs.get(key) ?? { port };
      pair[type] = streamId;
      pairs.set(key, pair);
      byStream.set(streamId, key);
      if (pair.error !== undefined && pair.data !== undefined) connect(pair);
    },
    onData(streamId, data, fin) {
      const pair = pairs.get(byStream.get(streamId) ?? "");
      if (!pair || streamId !== pair.data || !pair.socket) return;
      if (data.length > 0 && !pair.socket.write(data)) {
        transport.pauseIncoming();
        pair.socket.once("drain", () => transport.resumeIncoming());
      }
      if (fin) pair.socket.end();
    },
    onReset(streamId) {
      const key = byStream.get(streamId);
      const pair = pairs.get(key ?? "");
      if (pair && streamId === pair.data) pair.socket?.destroy();
    },
    onGoaway() {
      for (const pair of pairs.values()) pair.socket?.destroy();
      transport.close();
    },
    onError() {
      for (const pair of pairs.values()) pair.socket?.destroy();
      transport.close();
    },
  });

  function connect(pair: StreamPair): void {
    const socket = net.connect({ host: target.host, port: pair.port, noDelay: true });
    pair.socket = socket;
    const dataStream = pair.data as number;
    const errorStream = pair.error as number;
    socket.on("data", (chunk: Buffer) => {
      session.data(dataStream, chunk);
      if (transport.outgoingBuffered() > HIGH_WATER) {
        socket.pause();
        paused.add(socket);
      }
    });
    let failed = false;
    socket.on("error", (error) => {
      failed = true;
      session.data(errorStream, Buffer.from(`error forwarding port ${pair.port} to pod ${target.describe}: ${error.message}`));
    });
    socket.on("close", () => {
      // Always FIN both streams when done, as the kubelet does.
      session.data(dataStream, Buffer.alloc(0), true);
      session.data(errorStream, Buffer.alloc(0), true);
      if (failed) session.reset(dataStream, RST_CANCEL);
    });
  }

  return session;
}

/** Transport C: after our 101, the raw socket carries SPDY. */
export function acceptPlainSpdy(socket: Duplex, head: Buffer, target: ForwardTarget): void {
  (socket as net.Socket).setNoDelay?.(true);
  socket.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n");
  const net_ = socket as net.Socket;
  const session = forwardOverSpdy(
    {
      write: (bytes) => void socket.write(bytes),
      outgoingBuffered: () => net_.writableLength,
      onOutgoingDrained: (listener) => socket.on("drain", listener),
      pauseIncoming: () => socket.pause(),
      resumeIncoming: () => socket.resume(),
      close: () => socket.destroy(),
    },
    target,
  );
  if (head.length > 0) session.feed(head);
  socket.on("data", (chunk: Buffer) => session.feed(chunk));
  socket.on("close", () => session.close());
  socket.on("error", () => socket.destroy());
}

/** Transport B: SPDY bytes in binary WebSocket messages. */
export function acceptTunnelledSpdy(ws: WebSocket, target: ForwardTarget): void {
  let queued = 0;
  const drained: (() => void)[] = [];
  const session = forwardOverSpdy(
    {
      write: (bytes) => {
        queued += bytes.length;
        ws.send(bytes, { binary: true }, () => {
          queued -= bytes.length;
          if (queued <= HIGH_WATER / 2) drained.forEach((listener) => listener());
        });
      },
      outgoingBuffered: () => queued,
      onOutgoingDrained: (listener) => drained.push(listener),
      pauseIncoming: () => ws.pause(),
      resumeIncoming: () => ws.resume(),
      close: () => ws.close(1000),
    },
    target,
  );
  ws.on("message", (message: Buffer) => session.feed(message));
  ws.on("close", () => session.close());
}
