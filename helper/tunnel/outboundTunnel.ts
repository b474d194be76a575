/**
 * The helper's outbound tunnel (muxTunnel.ts, on the agent's outbound port). Each dial is a
 * stream the agent connects inside the cluster (cluster DNS, the pod's network identity);
 * the stream is the connection, with half-close, resets and per-connection flow control.
 */
import type { Duplex } from "node:stream";
import type { MuxStream } from "../agent/mux.mjs";
import type { PortForwardHandlers, PortForwardSocket } from "../k8s/portForward.ts";
import type { Logger } from "../logs/logger.ts";
import { KbridgeError } from "../protocol/index.ts";
import { openMuxTunnel, type HelloCredentials, type MuxTunnelHandlers } from "./muxTunnel.ts";

const DIAL_TIMEOUT_MS = 15_000;

export interface OutboundTunnel {
  /** A connection to host:port made by the agent inside the cluster. */
  dial(host: string, port: number): Promise<Duplex>;
  /** The files under a path of the agent's container (a volume's mount path). */
  files(path: string): Promise<{ path: string; mode: number; data: string }[]>;
  /** Resolves when the tunnel closes (agent gone, port-forward dropped, or close()). */
  closed: Promise<void>;
  close(): void;
}

/** Opens the tunnel on the port-forward `open` makes to the agent's outbound port. */
export async function openOutboundTunnel(open: (handlers: PortForwardHandlers) => Promise<PortForwardSocket>, credentials: HelloCredentials, log: Logger, onNotice?: MuxTunnelHandlers["onNotice"]): Promise<OutboundTunnel> {
  const { mux, closed, closedBecause, close } = await openMuxTunnel(open, credentials, log, onNotice ? { onNotice } : {});
  const closedError = (what: string) =>
    new KbridgeError({ code: "tunnel-closed", category: "cluster", message: `Cannot reach ${what}: the tunnel to the agent is closed${closedBecause() ? ` (${closedBecause()})` : ""}.`, hint: "kbridge reopens it within seconds; try again." });
  /** A stream for `request`, once the agent answered; rejects with a KbridgeError naming `what`. */
  const openStream = (request: { host: string; port: number } | { files: string }, what: string): Promise<MuxStream> => {
    if (mux.closed) return Promise.reject(closedError(what));
    const stream = mux.open(request);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        stream.destroy();
        reject(new KbridgeError({ code: "dial-timeout", category: "cluster", message: `The agent could not connect to ${what} within ${DIAL_TIMEOUT_MS / 1000} s.`, hint: "Check that the service has ready endpoints: kubectl get endpoints" }));
      }, DIAL_TIMEOUT_MS);
    });
    return Promise.race([stream.opened(), timeout]).finally(() => clearTimeout(timer));
  };

  return {
    closed,
    close,
    async dial(host, port) {
      try {
        return await openStream({ host, port }, `${host}:${port}`);
      } catch (error) {
        if (error instanceof KbridgeError) throw error;
        const reason = (error as Error & { refused?: boolean }).refused ? (error as Error).message : `the tunnel failed: ${(error as Error).message}`;
        throw new KbridgeError({
          code: "dial-failed",
          category: "cluster",
          message: `The agent could not connect to ${host}:${port} in the cluster: ${reason}.`,
          hint: "Check the service's name, port and ready endpoints in the cluster.",
        });
      }
    },
    async files(path) {
      const failed = (reason: string) => new KbridgeError({ code: "volume-download-failed", category: "cluster", message: `The agent could not read ${path}: ${reason}.` });
      let stream: MuxStream;
      try {
        stream = await openStream({ files: path }, `the files under ${path}`);
      } catch (error) {
        throw error instanceof KbridgeError ? error : failed((error as Error).message);
      }
      const chunks: Buffer[] = [];
      stream.end();
      try {
        for await (const chunk of stream) chunks.push(chunk as Buffer);
      } catch (error) {
        throw failed(`the transfer failed: ${(error as Error).message}`);
      }
      try {
        return (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { files: { path: string; mode: number; data: string }[] }).files;
      } catch (error) {
        throw failed(`its answer is not JSON (${(error as Error).message})`);
      }
    },
  };
}
