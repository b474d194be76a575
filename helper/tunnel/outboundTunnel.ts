/**
 * The helper's outbound tunnel: an HTTP/2 client on a port-forwarded connection to the
 * agent's outbound port. Each dial is one CONNECT stream that the agent connects inside the
 * cluster (cluster DNS, the pod's network identity); the stream is the connection, with
 * HTTP/2's flow control end to end.
 *
 * Next to it, a few port-forward streams to the same port are kept open and idle: a dial
 * takes one of them when one is ready (a direct line, framedDial.ts), which carries bulk
 * transfers at the port-forward's own speed, and opens a replacement; with none ready it
 * uses the HTTP/2 session, which opens streams without a round trip to the API server.
 */
import http2 from "node:http2";
import type { Duplex } from "node:stream";
import { dialFramed, DialRefused } from "./framedDial.ts";
import { KbridgeError } from "../protocol/index.ts";
import type { Logger } from "../logging/logger.ts";
import { TOKEN_HEADER } from "./inboundTunnel.ts";

const SESSION_MEMORY_MB = 256;
const STREAM_WINDOW = 4 * 1024 * 1024;
const SESSION_WINDOW = 32 * 1024 * 1024;
const DIAL_TIMEOUT_MS = 15_000;
/** Idle port-forward streams kept ready for direct lines. */
const SPARE_LINES = 2;
const SPARE_RETRY_MS = 5_000;

export interface OutboundTunnel {
  /** A connection to host:port made by the agent inside the cluster. */
  dial(host: string, port: number): Promise<Duplex>;
  /** The files under a path of the agent's container (a volume's mount path). */
  files(path: string): Promise<{ path: string; mode: number; data: string }[]>;
  /** Resolves when the tunnel closes (agent gone, port-forward dropped, or close()). */
  closed: Promise<void>;
  close(): void;
}

/**
 * `openLine` opens one more port-forward stream to the agent's outbound port (for direct
 * lines); without it every dial goes through the HTTP/2 session.
 */
export function openOutboundTunnel(helperToAgent: Duplex, token: string, log: Logger, openLine?: () => Promise<Duplex>): OutboundTunnel {
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

  const spares: Duplex[] = [];
  let opening = 0;
  let retryAt = 0;
  const refill = () => {
    if (!openLine || session.closed || session.destroyed || Date.now() < retryAt) return;
    while (spares.length + opening < SPARE_LINES) {
      opening++;
      openLine().then(
        (line) => {
          opening--;
          if (session.closed || session.destroyed) return void line.destroy();
          line.on("error", () => undefined);
          line.once("close", () => {
            const at = spares.indexOf(line);
            if (at >= 0) spares.splice(at, 1);
          });
          spares.push(line);
        },
        (error: Error) => {
          opening--;
          retryAt = Date.now() + SPARE_RETRY_MS;
          log.debug({ err: error.message }, "could not open a spare port-forward stream; dials use the HTTP/2 tunnel");
        },
      );
    }
  };
  refill();
  void closed.then(() => {
    for (const line of spares.splice(0)) line.destroy();
  });

  const dialHttp2 = (host: string, port: number): Promise<Duplex> =>
    new Promise((resolve, reject) => {
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
        reject(dialFailed(host, port, String(headers["kbridge-error"] ?? `HTTP ${headers[":status"]}`)));
      });
      stream.once("error", (error) => {
        clearTimeout(timer);
        reject(new KbridgeError({ code: "dial-failed", category: "cluster", message: `The tunnel stream to ${host}:${port} failed: ${error.message}.` }));
      });
    });

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
    async dial(host, port) {
      const line = spares.shift();
      refill();
      if (!line) return dialHttp2(host, port);
      try {
        return await dialFramed(line, { token, host, port }, DIAL_TIMEOUT_MS);
      } catch (error) {
        // The agent's own answer is final; a line that broke before it falls back to HTTP/2.
        if (error instanceof DialRefused) throw dialFailed(host, port, error.message);
        log.debug({ err: (error as Error).message }, "a spare port-forward stream failed; dialling through the HTTP/2 tunnel");
        return dialHttp2(host, port);
      }
    },
  };
}

function dialFailed(host: string, port: number, reason: string): KbridgeError {
  return new KbridgeError({
    code: "dial-failed",
    category: "cluster",
    message: `The agent could not connect to ${host}:${port} in the cluster: ${reason}.`,
    hint: "Check the service's name, port and ready endpoints in the cluster.",
  });
}
