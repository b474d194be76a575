/**
 * The helper's end of an agent tunnel: an HTTP/2 server on the port-forwarded control
 * connection. Each CONNECT stream the agent opens is one connection the cluster accepted
 * on `workstation:<container port>`; it is dialled at once on 127.0.0.1:<workstation port>
 * and piped both ways with back-pressure (HTTP/2 flow control on the tunnel side).
 */
import http2 from "node:http2";
import net from "node:net";
import { pipeline, type Duplex } from "node:stream";
import type { Logger } from "../logging/logger.ts";
import { HttpObserver, type HttpExchange } from "./httpObserver.ts";

/** Generous: many concurrent large bodies must not trip NGHTTP2_ENHANCE_YOUR_CALM. */
const SESSION_MEMORY_MB = 256;
/** Large windows: fewer WINDOW_UPDATE round trips through the API server's port-forward. */
const STREAM_WINDOW = 4 * 1024 * 1024;
const SESSION_WINDOW = 32 * 1024 * 1024;

export interface InboundTunnel {
  /** Resolves when the tunnel closes (agent gone, port-forward dropped, or close()). */
  closed: Promise<void>;
  close(): void;
}

/** The agent asks this path to check it talks to its own helper (the answer carries the session token). */
export const HELLO_PATH = "/kbridge/hello";
export const TOKEN_HEADER = "kbridge-token";

export interface InboundRoute {
  /** Container port → workstation port. */
  workstationPort(containerPort: number): number | undefined;
  onConnection?(containerPort: number): void;
  /** Each HTTP/1 request answered on a redirected connection (the traffic log). */
  onExchange?(containerPort: number, exchange: HttpExchange): void;
}

/**
 * Serves the agent's inbound streams on `agentToHelper`. `token` proves to the agent that
 * this is its session's helper: an agent adopts a control connection only once the answer
 * to its hello carries it, so nothing else in the cluster can take its traffic.
 */
export function serveInboundTunnel(agentToHelper: Duplex, route: InboundRoute, token: string, log: Logger): InboundTunnel {
  const server = http2.createServer({ maxSessionMemory: SESSION_MEMORY_MB, settings: { initialWindowSize: STREAM_WINDOW } });
  let session: http2.ServerHttp2Session | undefined;
  const closed = new Promise<void>((resolve) => {
    server.on("session", (s) => {
      session = s;
      s.setLocalWindowSize(SESSION_WINDOW);
      s.on("close", () => resolve());
      s.on("error", (error) => log.warn({ err: error.message }, "tunnel session error"));
    });
    agentToHelper.on("close", () => resolve());
  });
  server.on("stream", (stream, headers) => {
    if (headers[":method"] === "GET" && headers[":path"] === HELLO_PATH) {
      stream.respond({ ":status": 200, [TOKEN_HEADER]: token }, { endStream: true });
      return;
    }
    if (headers[":method"] !== "CONNECT") {
      stream.respond({ ":status": 405 });
      return void stream.end();
    }
    const containerPort = Number(String(headers[":authority"] ?? "").split(":").pop());
    const port = route.workstationPort(containerPort);
    if (port === undefined) {
      log.warn({ containerPort }, "the agent forwarded a port with no workstation mapping");
      stream.respond({ ":status": 404 });
      return void stream.end();
    }
    route.onConnection?.(containerPort);
    const workstationSocket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    workstationSocket.setNoDelay(true);
    workstationSocket.once("connect", () => {
      stream.respond({ ":status": 200 });
      pipeline(workstationSocket, stream, workstationSocket, (error) => {
        if (error && (error as NodeJS.ErrnoException).code !== "ERR_STREAM_PREMATURE_CLOSE") log.debug({ err: error.message, port }, "tunnelled connection ended with an error");
      });
      // Taps beside the pipes (same tick: no byte flows before both are attached).
      if (route.onExchange) {
        const observer = new HttpObserver((exchange) => route.onExchange?.(containerPort, exchange));
        stream.on("data", (chunk: Buffer) => observer.request(chunk));
        workstationSocket.on("data", (chunk: Buffer) => observer.response(chunk));
      }
    });
    workstationSocket.once("error", (error) => {
      if (stream.headersSent) return void stream.close(http2.constants.NGHTTP2_CONNECT_ERROR);
      log.warn({ port, err: error.message }, "the workstation process refused a redirected connection");
      stream.respond({ ":status": 502 });
      stream.end();
    });
  });
  server.emit("connection", agentToHelper);
  return {
    closed,
    close() {
      session?.close();
      agentToHelper.destroy();
    },
  };
}
