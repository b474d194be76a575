/**
 * The helper's outbound tunnel: an HTTP/2 client on a port-forwarded connection to the
 * agent's outbound port. Each dial is one CONNECT stream that the agent connects inside the
 * cluster (cluster DNS, the pod's network identity); the stream is the connection, with
 * HTTP/2's flow control end to end.
 */
import http2 from "node:http2";
import type { Duplex } from "node:stream";
import { KbridgeError } from "../protocol/index.ts";
import type { Logger } from "../logging/logger.ts";
import { TOKEN_HEADER } from "./inboundTunnel.ts";

const SESSION_MEMORY_MB = 256;
const STREAM_WINDOW = 4 * 1024 * 1024;
const SESSION_WINDOW = 32 * 1024 * 1024;
const DIAL_TIMEOUT_MS = 15_000;

export interface OutboundTunnel {
  /** A connection to host:port made by the agent inside the cluster. */
  dial(host: string, port: number): Promise<http2.ClientHttp2Stream>;
  /** The files under a path of the agent's container (a volume's mount path). */
  files(path: string): Promise<{ path: string; mode: number; data: string }[]>;
  /** Resolves when the tunnel closes (agent gone, port-forward dropped, or close()). */
  closed: Promise<void>;
  close(): void;
}

export function openOutboundTunnel(helperToAgent: Duplex, token: string, log: Logger): OutboundTunnel {
  const session = http2.connect("http://kbridge-agent", {
    createConnection: () => helperToAgent,
    maxSessionMemory: SESSION_MEMORY_MB,
    settings: { initialWindowSize: STREAM_WINDOW },
  });
  session.on("connect", () => session.setLocalWindowSize(SESSION_WINDOW));
  session.on("error", (error) => log.warn({ err: error.message }, "outbound tunnel error"));
  const closed = new Promise<void>((resolve) => session.once("close", () => resolve()));
  // Keep it alive through idle proxies and notice a dead peer.
  const ping = setInterval(() => {
    if (!session.closed && !session.destroyed) session.ping(() => {});
  }, 10_000);
  ping.unref();
  void closed.then(() => clearInterval(ping));
  return {
    closed,
    close() {
      session.close();
      helperToAgent.destroy();
    },
    files(path) {
      return new Promise((resolve, reject) => {
        const stream = session.request({ ":method": "GET", ":path": `/kbridge/files?path=${encodeURIComponent(path)}`, [TOKEN_HEADER]: token });
        const chunks: Buffer[] = [];
        let status = 0;
        let reason = "";
        stream.on("response", (headers) => {
          status = Number(headers[":status"]);
          reason = String(headers["kbridge-error"] ?? "");
        });
        stream.on("data", (chunk: Buffer) => chunks.push(chunk));
        stream.on("end", () => {
          if (status !== 200) {
            reject(new KbridgeError({ code: "volume-download-failed", category: "cluster", message: `The agent could not read ${path}: ${reason || `HTTP ${status}`}.` }));
            return;
          }
          resolve((JSON.parse(Buffer.concat(chunks).toString("utf8")) as { files: { path: string; mode: number; data: string }[] }).files);
        });
        stream.on("error", (error) => reject(new KbridgeError({ code: "volume-download-failed", category: "cluster", message: `Reading ${path} through the tunnel failed: ${error.message}.` })));
        stream.end();
      });
    },
    dial(host, port) {
      return new Promise((resolve, reject) => {
        if (session.closed || session.destroyed) {
          reject(new KbridgeError({ code: "tunnel-closed", category: "cluster", message: `Cannot reach ${host}:${port}: the tunnel to the agent is closed.`, hint: "kbridge reopens it within seconds; try again." }));
          return;
        }
        const stream = session.request({ ":method": "CONNECT", ":authority": `${host.includes(":") ? `[${host}]` : host}:${port}`, [TOKEN_HEADER]: token });
        const timer = setTimeout(() => {
          stream.close(http2.constants.NGHTTP2_CANCEL);
          reject(new KbridgeError({ code: "dial-timeout", category: "cluster", message: `The agent could not connect to ${host}:${port} within ${DIAL_TIMEOUT_MS / 1000} s.`, hint: "Check that the service has ready endpoints: kubectl get endpoints" }));
        }, DIAL_TIMEOUT_MS);
        stream.once("response", (headers) => {
          clearTimeout(timer);
          if (headers[":status"] === 200) return resolve(stream);
          stream.close();
          reject(
            new KbridgeError({
              code: "dial-failed",
              category: "cluster",
              message: `The agent could not connect to ${host}:${port} in the cluster: ${String(headers["kbridge-error"] ?? `HTTP ${headers[":status"]}`)}.`,
              hint: "Check the service's name, port and ready endpoints in the cluster.",
            }),
          );
        });
        stream.once("error", (error) => {
          clearTimeout(timer);
          reject(new KbridgeError({ code: "dial-failed", category: "cluster", message: `The tunnel stream to ${host}:${port} failed: ${error.message}.` }));
        });
      });
    },
  };
}
