// One connection of the multiplexer (mux.mjs) as a Duplex, with its flow-control window.
import { Socket } from "node:net";
import { Duplex } from "node:stream";
import { FLUSH_BYTES, FRAME, uint32 } from "./muxWire.mjs";

/** What a stream may have in flight before its receiver grants more (bounds memory per connection). */
export const STREAM_WINDOW = 1024 * 1024;
/**
 * A stream whose reader keeps up with a fast sender gets a larger window, doubled up to this:
 * through the API server's buffers the time a grant takes is long enough that a 1 MiB window
 * would halve a bulk transfer's speed. A connection of small requests keeps the first window.
 */
export const MAX_STREAM_WINDOW = 16 * 1024 * 1024;
/** Half a window read faster than this doubles the window. */
const GROW_MS = 200;

/**
 * One connection in the tunnel, as a Duplex: what is written goes to the peer as DATA (within
 * the window the peer granted), what the peer sends is read; end() half-closes.
 */
export class MuxStream extends Duplex {
  constructor(mux, id) {
    super({ allowHalfOpen: true });
    this.mux = mux;
    this.id = id;
    // A peer's reset arrives as an error: whoever pipes the stream or awaits opened() hears
    // it; a stream nobody listens to yet (its connection still being made) must not take the
    // process down with it.
    this.on("error", () => {});
    this.sendWindow = STREAM_WINDOW;
    /** What the peer may have in flight to us (grows for a fast stream, see MAX_STREAM_WINDOW). */
    this.window = STREAM_WINDOW;
    this.grantedAt = Date.now();
    /** Received bytes not yet granted back to the sender. */
    this.ungranted = 0;
    /** The reader fell behind: grant once it asks for more. */
    this.held = false;
    /** @type {{ chunk: Buffer, callback: (error?: Error | null) => void } | undefined} */
    this.blocked = undefined;
    this.localEnded = false;
    this.remoteEnded = false;
    /** The peer reset it (no RESET back), or it finished both ways. */
    this.over = false;
    /** @type {((answer: { ok?: boolean, error?: string }) => void) | undefined} */
    this.onAnswer = undefined;
    /** @type {string | undefined} the peer's reason when it refused the stream (set before it closes) */
    this.refusal = undefined;
    /** @type {NodeJS.WritableStream | undefined} where pipe() sends what it reads */
    this.pipedTo = undefined;
  }

  pipe(destination, options) {
    this.pipedTo = destination;
    return super.pipe(destination, options);
  }

  unpipe(destination) {
    if (!destination || destination === this.pipedTo) this.pipedTo = undefined;
    return super.unpipe(destination);
  }

  /**
   * Its reader is a pipe to a socket and nothing else: a view given to it is let go once the
   * socket wrote it (writableLength 0: the kernel has its copy). Any other destination might
   * keep it past its write (a Transform hands it on), so it gets copies.
   */
  lendable() {
    return this.pipedTo instanceof Socket && this.listenerCount("data") === 1;
  }

  /** It still holds views it was lent: unread, or in its socket waiting for the kernel. */
  holdsLent() {
    if (!this.destroyed && this.readableLength > 0) return true;
    const socket = this.pipedTo;
    return socket instanceof Socket && !socket.destroyed && socket.writableLength > 0;
  }

  /** The opening side: resolves once the peer answered; rejects with its reason (`refused`). */
  opened() {
    return new Promise((resolve, reject) => {
      this.onAnswer = (answer) => (answer.ok ? resolve(this) : reject(Object.assign(new Error(answer.error ?? "refused"), { refused: true })));
      this.once("error", reject);
    });
  }

  /** The answering side: the connection is made; bytes flow. */
  accept() {
    this.mux.json(FRAME.OPENED, this.id, { ok: true });
  }

  /** The answering side: the connection could not be made; the stream is gone. */
  refuse(reason) {
    this.mux.json(FRAME.OPENED, this.id, { error: reason });
    this.over = true;
    this.mux.streams.delete(this.id);
    this.destroy();
  }

  answered(answer) {
    if (!answer.ok) {
      this.refusal = answer.error ?? "refused";
      this.over = true;
      this.mux.streams.delete(this.id);
    }
    this.onAnswer?.(answer);
    if (!answer.ok) this.destroy();
  }

  _write(chunk, _encoding, callback) {
    this.send(chunk, callback);
  }

  /**
   * Sends everything queued now, and answers whether every byte this stream was given has
   * left: true once nothing of it waits (for a window, behind an earlier write, or in the
   * transport, whose kernel then has its copy), so that memory lent to write() may be
   * written over; false while some of it waits.
   */
  sentAll() {
    if (this.writableLength > 0) return false;
    this.mux.flush();
    return this.mux.transport.unsent?.() === 0;
  }

  /** Queues `chunk` as DATA as far as the peer's window and the transport allow; the rest waits for either. */
  send(chunk, callback) {
    if (chunk.length === 0) return callback();
    for (;;) {
      if (this.mux.congested) {
        this.blocked = { chunk, callback };
        this.mux.waiting.add(this);
        return;
      }
      if (this.sendWindow === 0) {
        this.blocked = { chunk, callback };
        return;
      }
      // At most a flush's worth at a time: a large write stops as soon as the transport is full.
      const take = Math.min(chunk.length, this.sendWindow, FLUSH_BYTES);
      this.sendWindow -= take;
      this.mux.frame(FRAME.DATA, this.id, take === chunk.length ? chunk : chunk.subarray(0, take));
      if (take === chunk.length) return callback();
      chunk = chunk.subarray(take);
    }
  }

  _final(callback) {
    this.localEnded = true;
    this.mux.frame(FRAME.END, this.id);
    this.finishIfDone();
    callback();
  }

  _read() {
    if (!this.held) return;
    this.held = false;
    if (this.ungranted >= this.window / 2) this.grant();
  }

  /**
   * Gives the sender back what was read, once half the window was: never less (a grant per
   * small message would double the frames), and never while the reader is behind. Half a
   * window read within GROW_MS is a fast stream whose reader keeps up: its window doubles.
   */
  grant() {
    let credit = this.ungranted;
    const now = Date.now();
    if (this.window < MAX_STREAM_WINDOW && now - this.grantedAt < GROW_MS) {
      credit += this.window;
      this.window *= 2;
    }
    this.grantedAt = now;
    this.ungranted = 0;
    this.mux.frame(FRAME.WINDOW, this.id, uint32(credit));
  }

  receiveData(payload) {
    this.ungranted += payload.length;
    if (this.mux.transport.lends) {
      if (this.lendable()) this.mux.lent.add(this);
      else payload = Buffer.from(payload);
    }
    if (!this.push(payload)) this.held = true;
    else if (this.ungranted >= this.window / 2) this.grant();
  }

  receiveWindow(bytes) {
    this.sendWindow += bytes;
    const blocked = this.blocked;
    if (!blocked) return;
    this.blocked = undefined;
    this.send(blocked.chunk, blocked.callback);
  }

  receiveEnd() {
    this.remoteEnded = true;
    this.push(null);
    this.finishIfDone();
  }

  receiveReset(reason) {
    this.over = true;
    this.mux.streams.delete(this.id);
    this.destroy(Object.assign(new Error(reason || "the peer reset the connection"), { code: "ECONNRESET" }));
  }

  finishIfDone() {
    if (!this.localEnded || !this.remoteEnded) return;
    this.over = true;
    this.mux.streams.delete(this.id);
  }

  _destroy(error, callback) {
    if (!this.over) {
      this.over = true;
      this.mux.streams.delete(this.id);
      this.mux.frame(FRAME.RESET, this.id, Buffer.from(error?.message ?? "closed", "utf8"));
    }
    const blocked = this.blocked;
    this.blocked = undefined;
    this.mux.waiting.delete(this);
    blocked?.callback(error ?? new Error("the connection closed"));
    callback(error);
  }
}
