/**
 * The helper's end of an agent's inbound tunnel: the connections the cluster sends to the
 * workload's ports, carried to the workstation process with back-pressure both ways.
 */
import net from "node:net";
import { pipeline } from "node:stream";
import type { PortForwardHandlers, PortForwardSocket } from "../k8s/portForward.ts";
import type { Logger } from "../logs/logger.ts";
import { HttpObserver, type HttpExchange } from "./httpObserver.ts";
import { openMuxTunnel, type HelloCredentials, type MuxTunnelHandlers } from "./muxTunnel.ts";

export interface InboundTunnel {
  /** Resolves when the tunnel closes (agent gone, port-forward dropped, or close()). */
  closed: Promise<void>;
  close(): void;
}

export interface InboundRoute {
  /** Container port → workstation port. */
  workstationPort(containerPort: number): number | undefined;
  onConnection?(containerPort: number): void;
  /** Each HTTP/1 request answered on a redirected connection (the traffic log). */
  onExchange?(containerPort: number, exchange: HttpExchange): void;
}

/**
 * Serves the agent's inbound streams on a tunnel to its inbound port (muxTunnel.ts): each
 * stream is a connection the workload's port accepted in the cluster ({ port }), dialled at
 * once on 127.0.0.1:<workstation port>. Its first bytes may arrive before that connect
 * finishes; they wait in the stream. A port without a mapping, or a workstation that refuses,
 * is refused, and the agent resets the cluster's connection.
 */
export async function serveInboundTunnel(open: (handlers: PortForwardHandlers) => Promise<PortForwardSocket>, route: InboundRoute, credentials: HelloCredentials, log: Logger, onNotice?: MuxTunnelHandlers["onNotice"]): Promise<InboundTunnel> {
  const { closed, close } = await openMuxTunnel(open, credentials, log, { ...(onNotice ? { onNotice } : {}), onOpen: (stream, request) => {
    const containerPort = Number((request as { port?: unknown }).port);
    const port = route.workstationPort(containerPort);
    if (port === undefined) {
      log.warn({ containerPort }, "the agent forwarded a port with no workstation mapping");
      return stream.refuse(`no workstation port for container port ${containerPort}`);
    }
    route.onConnection?.(containerPort);
    const workstationSocket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    workstationSocket.setNoDelay(true);
    let connected = false;
    workstationSocket.once("connect", () => {
      connected = true;
      if (stream.destroyed) return void workstationSocket.destroy();
      stream.accept();
      // Taps beside the pipes (same tick: no byte flows before both are attached).
      if (route.onExchange) {
        const observer = new HttpObserver((exchange) => route.onExchange?.(containerPort, exchange));
        stream.on("data", (chunk: Buffer) => observer.request(chunk));
        workstationSocket.on("data", (chunk: Buffer) => observer.response(chunk));
      }
      pipeline(workstationSocket, stream, workstationSocket, (error) => {
        if (error && (error as NodeJS.ErrnoException).code !== "ERR_STREAM_PREMATURE_CLOSE") log.debug({ err: error.message, port }, "tunnelled connection ended with an error");
      });
    });
    workstationSocket.once("error", (error) => {
      if (connected) return; // the pipeline has it
      log.warn({ port, err: error.message }, "the workstation process refused a redirected connection");
      stream.refuse(`the workstation process on port ${port}: ${error.message}`);
    });
  } });
  return { closed, close };
}
