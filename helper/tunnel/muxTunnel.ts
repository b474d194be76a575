/**
 * The helper's end of a tunnel to an agent: one port-forward stream to one of the agent's
 * ports, multiplexed (helper/agent/mux.mjs, the same file the agent runs). The helper proves
 * itself by signing the agent's challenge with the session's private key (helloProof.mjs);
 * the agent adopts the connection only then, and tells the helper whenever it turns away
 * someone else claiming the session. The helper pings every PING_MS; a tunnel silent for
 * SILENCE_MS is dead.
 *
 * Both tunnels run on it: outbound (the helper opens streams, the agent connects them in the
 * cluster) and inbound (the agent opens a stream per connection the workload's ports accept).
 */
import { proveHello } from "../agent/helloProof.mjs";
import { FRAME, Mux, MUX_MAGIC, MUX_MAGIC_TOKEN, TRANSPORT_HIGH_WATER, type MuxStream } from "../agent/mux.mjs";
import type { PortForwardHandlers, PortForwardSocket } from "../k8s/portForward.ts";
import type { Logger } from "../logs/logger.ts";

const PING_MS = 10_000;
/** Nothing from the agent for this long (pings unanswered): the tunnel is dead. */
const SILENCE_MS = 30_000;

export interface MuxTunnel {
  mux: Mux;
  /** Resolves when the tunnel closes (agent gone, port-forward dropped, refused, or close()). */
  closed: Promise<void>;
  /** Why it closed, once it did with a reason. */
  closedBecause(): string | undefined;
  close(): void;
}

/**
 * How the helper proves itself: the session's private key (the agent holds the public one),
 * or, for an agent of a kbridge from before the handshake (a session resumed across the
 * upgrade), the token it was given.
 */
export type HelloCredentials = { session: string; privateKey: string } | { token: string };

/** Someone the agent turned away: which of its ports, from where, why. */
export interface AgentNotice {
  refused: string;
  from: string;
  why?: string;
}

export interface MuxTunnelHandlers {
  /** Takes the streams the agent opens. */
  onOpen?(stream: MuxStream, request: unknown): void;
  onNotice?(notice: AgentNotice): void;
}

/** Opens a tunnel on the port-forward `open` makes; resolves once the agent adopted it, rejects if it did not. */
export async function openMuxTunnel(open: (handlers: PortForwardHandlers) => Promise<PortForwardSocket>, credentials: HelloCredentials, log: Logger, handlers: MuxTunnelHandlers = {}): Promise<MuxTunnel> {
  const { onOpen, onNotice } = handlers;
  let resolveClosed = () => {};
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let adopted = () => {};
  const ready = new Promise<void>((resolve) => (adopted = resolve));
  let heard = Date.now();
  let helloAnswered = false;
  let because: string | undefined;
  const mux = new Mux(
    {
      write(chunks, bytes) {
        // One WebSocket message; the streams wait while the port-forward holds a lot unsent.
        socket.send(chunks, bytes);
        return socket.buffered() < TRANSPORT_HIGH_WATER;
      },
      // Nothing is read before open() resolved (portForward.ts), so `socket` is set by then.
      get lends() {
        return socket.lends ?? false;
      },
    },
    {
      ...(onOpen ? { onOpen } : {}),
      onControl(type, payload) {
        if (type !== FRAME.HELLO && type !== FRAME.NOTICE) return;
        let answer: { ok?: boolean; error?: string; challenge?: unknown } & Partial<AgentNotice>;
        try {
          answer = JSON.parse(payload.toString("utf8")) as typeof answer;
        } catch {
          answer = { error: "its answer to the hello is not JSON" };
        }
        if (type === FRAME.NOTICE) {
          log.warn({ refused: answer.refused, from: answer.from, why: answer.why }, "the agent turned away someone claiming this session");
          return onNotice?.({ refused: String(answer.refused), from: String(answer.from), ...(answer.why ? { why: String(answer.why) } : {}) });
        }
        helloAnswered = true;
        if (typeof answer.challenge === "string" && "privateKey" in credentials) return mux.json(FRAME.HELLO, 0, { signature: proveHello(credentials.privateKey, credentials.session, answer.challenge) });
        if (answer.ok) return adopted();
        log.warn({ err: answer.error }, "the agent refused the tunnel");
        shut(new Error(`the agent refused the tunnel: ${answer.error}`));
      },
    },
  );
  const shut = (error?: Error) => {
    because ??= error?.message;
    mux.close(error);
    socket.close();
    clearInterval(ping);
    resolveClosed();
  };
  const socket = await open({
    drain: () => mux.drained(),
    released: () => mux.released(),
    data(payload) {
      heard = Date.now();
      mux.receive(payload);
    },
    close(error) {
      if (error) log.warn({ err: error.message }, "tunnel error");
      // An agent that closes without a word to the hello speaks another protocol: a kbridge
      // of another version deployed it (a session resumed across an upgrade).
      if (!helloAnswered && !error) log.warn({}, "the agent closed the tunnel without answering its hello: it is from another kbridge version; disconnect and connect again");
      shut(error ?? (helloAnswered ? undefined : new Error("the agent did not answer the tunnel's hello (an agent of another kbridge version?)")));
    },
  });
  // Keep it alive through idle proxies, and notice a peer that is gone without a word.
  const ping = setInterval(() => {
    if (Date.now() - heard > SILENCE_MS) {
      log.warn({ silentMs: Date.now() - heard }, "the agent stopped answering on its tunnel");
      return shut(new Error("the agent stopped answering"));
    }
    mux.frame(FRAME.PING, 0);
  }, PING_MS);
  ping.unref();
  socket.send(["token" in credentials ? MUX_MAGIC_TOKEN : MUX_MAGIC]);
  mux.json(FRAME.HELLO, 0, "token" in credentials ? { token: credentials.token } : { session: credentials.session });
  // Streams opened before the agent adopted the tunnel would be refused: wait for it.
  const adoptedFirst = await Promise.race([ready.then(() => true), closed.then(() => false)]);
  if (!adoptedFirst) throw new Error(because ?? "the tunnel closed before the agent adopted it");
  return { mux, closed, closedBecause: () => because, close: () => shut() };
}
