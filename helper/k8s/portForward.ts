/**
 * One TCP connection to a pod port through the API server's port-forward (client-node,
 * WebSocket channel protocol), as a Duplex: what is written goes to the pod, what the pod
 * sends is read. It ends when the WebSocket closes and fails with the server's error text.
 */
import { PassThrough, Duplex } from "node:stream";
import { PortForward } from "@kubernetes/client-node";
import { KbridgeError } from "../protocol/index.ts";
import type { ClusterConnection } from "./clusterConnection.ts";

export async function openPodConnection(connection: ClusterConnection, namespace: string, pod: string, port: number): Promise<Duplex> {
  const podToUs = new PassThrough();
  const usToPod = new PassThrough();
  const errors = new PassThrough();
  let socket: { on(event: "close", listener: () => void): void; close(): void };
  try {
    socket = (await new PortForward(connection.config, true).portForward(namespace, pod, [port], podToUs, errors, usToPod)) as unknown as typeof socket;
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
  const duplex = Duplex.from({ readable: podToUs, writable: usToPod });
  errors.on("data", (text: Buffer) => duplex.destroy(new Error(`port-forward to ${namespace}/${pod}:${port}: ${text.toString().trim()}`)));
  socket.on("close", () => podToUs.end());
  duplex.on("close", () => socket.close());
  return duplex;
}
