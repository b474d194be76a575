/**
 * The helper's outbound tunnel: one port-forward stream to the agent's outbound port,
 * multiplexed (helper/agent/mux.mjs, the same file the agent runs). Each dial is a stream
 * the agent connects inside the cluster (cluster DNS, the pod's network identity); the
 * stream is the connection, with half-close, resets and per-connection flow control.
 */
import type { Duplex } from "node:stream";
import { FRAME, Mux, MUX_MAGIC, type MuxStream } from "../agent/mux.mjs";
import type { PortForwardHandlers, PortForwardSocket } from "../k8s/portForward.ts";
import type { Logger } from "../logging/logger.ts";
import { KbridgeError } from "../protocol/index.ts";

const DIAL_TIMEOUT_MS = 15_000;
const PING_MS = 10_000;
/** Nothing from the agent for this long (pings unanswered): the tunnel is dead. */
const SILENCE_MS = 30_000;

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
export async function openOutboundTunnel(open: (handlers: PortForwardHandlers) => Promise<PortForwardSocket>, token: string, log: Logger): Promise<OutboundTunnel> {
  let resolveClosed = () => {};
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let heard = Date.now();
  let helloAnswered = false;
  const mux = new Mux(
    {
      write(chunks, bytes) {
        // One WebSocket message; byte 0 is the port-forward's channel.
        const message = Buffer.allocUnsafe(bytes + 1);
        let offset = 1;
        for (const chunk of chunks) offset += chunk.copy(message, offset);
        socket.send(message);
      },
    },
    {
      onControl(type, payload) {
        if (type !== FRAME.HELLO) return;
        helloAnswered = true;
        const answer = JSON.parse(payload.toString("utf8")) as { ok?: boolean; error?: string };
        if (answer.ok) return;
        log.warn({ err: answer.error }, "the agent refused the outbound tunnel");
        shut(new Error(`the agent refused the tunnel: ${answer.error}`));
      },
    },
  );
  /** Why the tunnel closed, for dials after it. */
  let closedBecause: string | undefined;
  const shut = (error?: Error) => {
    closedBecause ??= error?.message;
    mux.close(error);
    socket.close();
    clearInterval(ping);
    resolveClosed();
  };
  const socket = await open({
    data(payload) {
      heard = Date.now();
      mux.receive(payload);
    },
    close(error) {
      if (error) log.warn({ err: error.message }, "outbound tunnel error");
      // An agent that closes without a word to the hello speaks another protocol: a kbridge
      // of another version deployed it (a session resumed across an upgrade).
      if (!helloAnswered && !error) log.warn({}, "the agent closed the outbound tunnel without answering its hello: it is from another kbridge version; disconnect and connect again");
      shut(error ?? (helloAnswered ? undefined : new Error("the agent did not answer the tunnel's hello (an agent of another kbridge version?)")));
    },
  });
  // Keep it alive through idle proxies, and notice a peer that is gone without a word.
  const ping = setInterval(() => {
    if (Date.now() - heard > SILENCE_MS) {
      log.warn({ silentMs: Date.now() - heard }, "the agent stopped answering on the outbound tunnel");
      return shut(new Error("the agent stopped answering"));
    }
    mux.frame(FRAME.PING, 0);
  }, PING_MS);
  ping.unref();
  socket.send(Buffer.concat([Buffer.alloc(1), MUX_MAGIC]));
  mux.json(FRAME.HELLO, 0, { token });

  const closedError = (what: string) =>
    new KbridgeError({ code: "tunnel-closed", category: "cluster", message: `Cannot reach ${what}: the tunnel to the agent is closed${closedBecause ? ` (${closedBecause})` : ""}.`, hint: "kbridge reopens it within seconds; try again." });
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
    close: () => shut(),
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
