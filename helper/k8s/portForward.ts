/**
 * One TCP connection to a pod port through the API server's port-forward (client-node,
 * WebSocket channel protocol), as a Duplex: what is written goes to the pod, what the pod
 * sends is read. It ends when the WebSocket closes and fails with the server's error text.
 *
 * client-node reads its input with 'data' events and writes its output ignoring the return
 * value, so neither way has back-pressure: a fast sender would fill the helper's memory.
 * This Duplex sends on the WebSocket itself (writes wait while more than SEND_QUEUE_BYTES are
 * queued there) and pauses the WebSocket while the reader is behind.
 */
import { Duplex, PassThrough, Writable } from "node:stream";
import { PortForward } from "@kubernetes/client-node";
import { KbridgeError } from "../protocol/index.ts";
import type { ClusterConnection } from "./clusterConnection.ts";

/** The parts of client-node's WebSocket (the `ws` package's) used here. */
interface PortForwardSocket {
  readyState: number;
  /** Bytes queued but not yet handed to the socket. */
  bufferedAmount: number;
  on(event: "close", listener: () => void): void;
  send(data: Buffer, callback: (error?: Error) => void): void;
  pause(): void;
  resume(): void;
  close(): void;
}

const OPEN = 1;
/** How much the WebSocket may hold unsent before writes wait for it. */
const SEND_QUEUE_BYTES = 1024 * 1024;

export async function openPodConnection(connection: ClusterConnection, namespace: string, pod: string, port: number): Promise<Duplex> {
  let socket: PortForwardSocket | undefined;
  const closed = () => new Error(`port-forward to ${namespace}/${pod}:${port} is closed`);
  const duplex = new Duplex({
    read() {
      socket?.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      if (socket?.readyState !== OPEN) return callback(closed());
      // Channel 0 is the port's data.
      const message = Buffer.allocUnsafe(chunk.length + 1);
      message[0] = 0;
      chunk.copy(message, 1);
      // Writes complete at once while the socket's queue is short (so they pipeline), else once it took this one.
      const queued = socket.bufferedAmount < SEND_QUEUE_BYTES;
      socket.send(message, (error) => {
        if (!queued) callback(error ?? null);
        else if (error) duplex.destroy(error);
      });
      if (queued) callback();
    },
    final(callback) {
      // The channel protocol has no half-close: ending the input ends the connection.
      socket?.close();
      callback();
    },
    destroy(error, callback) {
      socket?.close();
      silentInput.destroy();
      callback(error);
    },
  });
  const podToUs = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (!duplex.push(chunk)) socket?.pause();
      callback();
    },
    final(callback) {
      duplex.push(null);
      callback();
    },
  });
  const errors = new PassThrough();
  // client-node reads its input with 'data' events; this one stays silent: writes go to the socket above.
  const silentInput = new PassThrough();
  try {
    socket = (await new PortForward(connection.config, true).portForward(namespace, pod, [port], podToUs, errors, silentInput)) as unknown as PortForwardSocket;
  } catch (cause) {
    throw new KbridgeError(
      {
        code: "port-forward-failed",
        category: "cluster",
        message: `Cannot open a port-forward to pod ${namespace}/${pod} port ${port}: ${(cause as Error).message}.`,
        hint: "Check that the pod is running and that you may create pods/portforward in this namespace.",
      },
      { cause },
    );
  }
  errors.on("data", (text: Buffer) => duplex.destroy(new Error(`port-forward to ${namespace}/${pod}:${port}: ${text.toString().trim()}`)));
  socket.on("close", () => duplex.push(null));
  return duplex;
}
