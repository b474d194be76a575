/**
 * A direct line: one outbound connection on its own port-forward stream to the agent's
 * outbound port, for bulk transfers that one HTTP/2 session (two extra Node HTTP/2 stacks in
 * series with the port-forward) cannot carry at the port-forward's own speed.
 *
 * The agent tells it from HTTP/2 by the first bytes (DIAL_MAGIC). After them, both ways,
 * frames: a 4-byte big-endian length and that many bytes. The first frame each way is JSON —
 * the helper's { token, host, port }, the agent's { ok: true } or { error } — then data; an
 * empty frame ends that direction (half-close, which the port-forward stream cannot carry
 * itself: client-node closes the WebSocket when its input ends). The stream is closed once
 * both directions have ended.
 *
 * The agent (helper/agent/agent.mjs, dependency-free) has the same reader.
 */
import { Duplex } from "node:stream";

const DIAL_MAGIC = Buffer.from("KBDIAL/1");

const EMPTY = Buffer.alloc(0);

function lengthPrefix(length: number): Buffer {
  const prefix = Buffer.allocUnsafe(4);
  prefix.writeUInt32BE(length, 0);
  return prefix;
}

/** Splits a byte stream into frames: the first (control) frame whole, data frames as they arrive. */
export class FrameReader {
  private header = EMPTY;
  private remaining = -1;
  private control: Buffer[] | undefined = [];

  constructor(private readonly handlers: { control(payload: Buffer): void; data(payload: Buffer): void; end(): void }) {}

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.remaining < 0) {
        const take = Math.min(4 - this.header.length, chunk.length - offset);
        this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + take)]);
        offset += take;
        if (this.header.length < 4) return;
        this.remaining = this.header.readUInt32BE(0);
        this.header = EMPTY;
        if (this.remaining === 0) {
          this.remaining = -1;
          if (this.control) this.finishControl();
          else this.handlers.end();
        }
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - offset);
      const payload = chunk.subarray(offset, offset + take);
      offset += take;
      this.remaining -= take;
      if (this.control) {
        this.control.push(payload);
        if (this.remaining === 0) this.finishControl();
      } else this.handlers.data(payload);
      if (this.remaining === 0) this.remaining = -1;
    }
  }

  private finishControl(): void {
    const payload = Buffer.concat(this.control ?? []);
    this.control = undefined;
    this.remaining = -1;
    this.handlers.control(payload);
  }
}

/** The agent's answer: it could not connect (or refused); the reason is its own. */
export class DialRefused extends Error {}

/**
 * Dials host:port through a fresh port-forward stream to the agent's outbound port; resolves
 * with the connection once the agent has connected, rejects with the agent's reason.
 */
export function dialFramed(line: Duplex, request: { token: string; host: string; port: number }, timeoutMs: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      state = "refused";
      reject(new DialRefused(`no connection within ${timeoutMs / 1000} s`));
      line.destroy();
    }, timeoutMs);
    let localEnded = false;
    let remoteEnded = false;
    /** waiting for the agent's answer, then open (resolved) or refused (rejected). */
    let state: "waiting" | "open" | "refused" = "waiting";
    const finishIfDone = () => {
      if (localEnded && remoteEnded) line.end();
    };
    const connection = new Duplex({
      allowHalfOpen: true,
      read() {
        line.resume();
      },
      write(chunk: Buffer, _encoding, callback) {
        if (chunk.length === 0) return callback();
        line.cork();
        line.write(lengthPrefix(chunk.length));
        line.write(chunk, (error) => callback(error ?? null));
        line.uncork();
      },
      final(callback) {
        localEnded = true;
        line.write(lengthPrefix(0), (error) => {
          callback(error ?? null);
          finishIfDone();
        });
      },
      destroy(error, callback) {
        line.destroy();
        callback(error);
      },
    });
    const reader = new FrameReader({
      control(payload) {
        clearTimeout(timer);
        let reply: { ok?: boolean; error?: string };
        try {
          reply = JSON.parse(payload.toString("utf8")) as typeof reply;
        } catch {
          reply = { error: "its answer is not JSON" };
        }
        if (reply.ok) {
          state = "open";
          resolve(connection);
        } else {
          state = "refused";
          line.destroy();
          reject(new DialRefused(reply.error ?? "refused"));
        }
      },
      data(payload) {
        if (!connection.push(payload)) line.pause();
      },
      end() {
        remoteEnded = true;
        connection.push(null);
        finishIfDone();
      },
    });
    line.on("data", (chunk: Buffer) => reader.push(chunk));
    line.on("error", (error) => {
      clearTimeout(timer);
      if (state === "waiting") reject(error);
      if (state === "open") connection.destroy(error);
    });
    line.on("close", () => {
      clearTimeout(timer);
      if (state === "waiting") reject(new Error("the port-forward stream closed before the agent answered"));
      else if (state === "open" && !remoteEnded) connection.destroy(new Error("the port-forward stream closed"));
    });
    const header = Buffer.from(JSON.stringify(request), "utf8");
    line.write(Buffer.concat([DIAL_MAGIC, lengthPrefix(header.length), header]));
  });
}
