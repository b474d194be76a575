/**
 * A TCP connection to a pod port through the API server's port-forward: the WebSocket channel
 * protocol (v4.channel.k8s.io; channel 0 the port's data, channel 1 its errors, each opened
 * with the port as uint16 LE). One WebSocket is one connection to the pod port; the agent
 * tunnels (helper/tunnel/muxTunnel.ts) each run on one.
 *
 * The WebSocket is opened here rather than through client-node's PortForward, for what that
 * one lacks: the API server's reason when the upgrade is refused (it says only "Unexpected
 * server response"), and a message sent as it was built — its own copies per message (a
 * channel byte, then masking) were most of the helper's cost per request on a busy tunnel.
 * Back-pressure is the tunnel's: the multiplexer's windows bound what is in flight.
 */
import type https from "node:https";
import WebSocket from "ws";
import { KbridgeError } from "../protocol/index.ts";
import type { ClusterConnection } from "./clusterConnection.ts";

/** An open port-forward: messages to the pod port, with the first byte of each reserved for the channel. */
export interface PortForwardSocket {
  /** Sends `message[1..]` to the pod port (byte 0 is overwritten with the data channel). */
  send(message: Buffer): void;
  close(): void;
}

export interface PortForwardHandlers {
  /** Bytes from the pod port. */
  data(payload: Buffer): void;
  /** The connection ended; with the API server's or the kubelet's reason when it failed. */
  close(error?: Error): void;
}

/**
 * Client frames must be masked, with a key the server cannot predict, so that a browser's
 * page cannot make its bytes look like something else to a proxy between it and the server.
 * Inside TLS no proxy sees the bytes and no page writes them: there a zero key is sound, and
 * the `ws` package then skips a copy of every message.
 */
const zeroMask = (mask: Buffer) => void mask.fill(0);
/** An API server that accepts the connection but does not answer the upgrade within this fails the port-forward. */
const HANDSHAKE_TIMEOUT_MS = 30_000;

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
  const url = `${server.replace(/^http/, "ws").replace(/\/$/, "")}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/portforward?ports=${port}`;
  const ws = new WebSocket(url, ["v4.channel.k8s.io"], { ...options, perMessageDeflate: false, handshakeTimeout: HANDSHAKE_TIMEOUT_MS, ...(secure ? { generateMask: zeroMask } : {}) });
  // Listening from the start: messages can arrive in the same read as the upgrade's answer.
  // The first message on each channel carries the port number.
  const unprefixed = [true, true];
  let error: Error | undefined;
  let open = false;
  ws.on("message", (data: Buffer) => {
    const channel = data[0];
    if (channel !== 0 && channel !== 1) return;
    let payload = data.subarray(1);
    if (unprefixed[channel]) {
      unprefixed[channel] = false;
      payload = payload.subarray(2);
    }
    if (payload.length === 0) return;
    if (channel === 0) {
      try {
        return handlers.data(payload);
      } catch (cause) {
        // A reader that fails ends this connection, not the helper.
        error = new Error(`port-forward to ${namespace}/${pod}:${port}: its reader failed: ${(cause as Error).message}`);
        return void ws.terminate();
      }
    }
    // The kubelet's reason (it could not connect to the port, or the connection failed).
    error = new Error(`port-forward to ${namespace}/${pod}:${port}: ${payload.toString("utf8").trim()}`);
    ws.close();
  });
  ws.on("error", (cause) => (error ??= cause));
  ws.once("close", () => {
    if (open) handlers.close(error);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => {
      open = true;
      resolve();
    });
    ws.once("error", (cause) => reject(failed(cause.message, cause)));
    ws.once("unexpected-response", (_request, response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      response.on("end", () => {
        let reason = `the API server answered HTTP ${response.statusCode}`;
        try {
          const status = JSON.parse(body) as { message?: string };
          if (status.message) reason += `: ${status.message}`;
        } catch {
          if (body.trim()) reason += `: ${body.trim().slice(0, 200)}`;
        }
        reject(failed(reason));
        // Only now: ending the handshake sooner fails it with ws's own words before the reason is read.
        ws.terminate();
      });
      response.on("error", (cause) => reject(failed(cause.message, cause)));
    });
  });
  return {
    send(message) {
      // A closed WebSocket has told its close handler already; what is sent after is dropped.
      if (ws.readyState !== WebSocket.OPEN) return;
      message[0] = 0;
      ws.send(message, { binary: true });
    },
    close: () => ws.close(),
  };
}
