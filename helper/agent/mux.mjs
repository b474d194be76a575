// The agent tunnels' multiplexer, shared by the helper (helper/tunnel/muxTunnel.ts) and the
// agent (agent.mjs, which the ConfigMap ships with this file): many TCP connections over one
// port-forward stream, dependency-free. The outbound tunnel (the helper opens streams, the
// agent connects them in the cluster) and the inbound one (the agent opens a stream per
// connection its workload's ports accept) both run on it. `readInto` (at the end) is how the
// agent reads a connection it made into a stream.
//
// Why not HTTP/2 (the first version): per request, the cost that counts on a workstation is
// system calls and the layers between them. Here a frame is 9 bytes of header and the
// payload as it came; what all connections write during one turn of the event loop leaves
// as one write (one WebSocket message, one TLS record, one message for the API server to
// relay); a connection's bytes are delivered as they arrive, never reassembled.
//
// After MUX_MAGIC (helper → agent), frames both ways: type (1 byte), stream id (4), payload length (4), payload.
//   HELLO   id 0: the helper's { token }; the agent answers { ok: true } or { error } (then closes)
//   OPEN    the opening side's request: outbound { host, port } or { files: path }; inbound { port }
//   OPENED  the answer: { ok: true } or { error } (the stream is then gone). DATA may come before it.
//   DATA    bytes of the connection
//   END     the sender will send no more (half-close); a stream is done once both sides ended
//   RESET   the connection failed or was aborted; payload: the reason
//   WINDOW  4 bytes: how many more bytes the receiver takes (each stream starts at STREAM_WINDOW)
//   PING / PONG  liveness (the helper pings, the agent answers)
import { Socket } from "node:net";
import { Duplex } from "node:stream";

export const MUX_MAGIC = Buffer.from("KBMUX/1\n");
export const FRAME = { HELLO: 0, OPEN: 1, OPENED: 2, DATA: 3, END: 4, RESET: 5, WINDOW: 6, PING: 7, PONG: 8 };
const HEADER = 9;
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
/** Queued output that is written at once instead of at the end of the event loop's turn. */
const FLUSH_BYTES = 256 * 1024;
/**
 * What the transport may hold unsent before connections' DATA waits for it to drain: what a
 * tunnel buffers stays small (it would otherwise be the sum of every connection's window,
 * copied through memory no cache holds) while WINDOW, OPENED and PING frames still go.
 */
export const TRANSPORT_HIGH_WATER = 1024 * 1024;
/** Largest non-DATA payload accepted (a JSON request or answer). */
const CONTROL_LIMIT = 64 * 1024;

/**
 * One end of the multiplexer. `transport.write(chunks, bytes)` sends what was queued (the
 * caller writes it as one unit) and answers false once the transport holds
 * TRANSPORT_HIGH_WATER or more unsent, after which the owner calls `drained()` when it has
 * none; `transport.unsent()`, where there is one, says how many bytes it still holds (see
 * MuxStream.sentAll); `receive` is fed the bytes that arrive; `onOpen` is called for each
 * stream the peer opens, `onControl` for HELLO, PING and PONG.
 *
 * A transport whose `lends` is true feeds `receive` views of memory it reads into again once
 * `released()` answers true (the helper's port-forward). Then a stream's bytes go on as views
 * only where the stream's one reader is a pipe to a socket, which writes them to the kernel or
 * holds them until it did (its writableLength says which); every other reader, and what the
 * multiplexer keeps itself, gets a copy.
 */
export class Mux {
  /**
   * @param {{ write(chunks: Buffer[], bytes: number): boolean | void, unsent?(): number, readonly lends?: boolean }} transport
   * @param {{ onOpen?(stream: MuxStream, request: unknown): void, onControl?(type: number, payload: Buffer): void }} [handlers]
   */
  constructor(transport, handlers = {}) {
    this.transport = transport;
    this.handlers = handlers;
    /** @type {Map<number, MuxStream>} */
    this.streams = new Map();
    this.nextId = 1;
    this.closed = false;
    /** @type {Buffer[]} */
    this.out = [];
    this.outBytes = 0;
    /** @type {{ id: number, header: Buffer } | undefined} the last queued frame, when it is DATA */
    this.lastData = undefined;
    /** @type {NodeJS.Immediate | undefined} */
    this.scheduled = undefined;
    /** The transport is full: streams' DATA waits (in `waiting`, in order) until it drained. */
    this.congested = false;
    /** @type {Set<MuxStream>} */
    this.waiting = new Set();
    // The reader: a frame header may span reads; a DATA payload is handed on piece by piece.
    this.header = Buffer.alloc(HEADER);
    this.headerFill = 0;
    this.type = -1;
    this.id = 0;
    this.remaining = 0;
    /** @type {Buffer[]} */
    this.control = [];
    /** @type {Set<MuxStream>} streams given views of the transport's memory since released() last found them let go */
    this.lent = new Set();
    this.flush = this.flush.bind(this);
  }

  /**
   * Queues a frame; it leaves with everything else queued in this turn of the event loop.
   * DATA right after DATA of the same stream extends that frame (fewer pieces, and fewer
   * writes, on the other side).
   */
  frame(type, id, payload) {
    if (this.closed) return;
    const size = payload ? payload.length : 0;
    const last = this.lastData;
    if (type === FRAME.DATA && last && last.id === id) {
      last.header.writeUInt32BE(last.header.readUInt32BE(5) + size, 5);
    } else {
      const header = Buffer.allocUnsafe(HEADER);
      header[0] = type;
      header.writeUInt32BE(id, 1);
      header.writeUInt32BE(size, 5);
      this.out.push(header);
      this.outBytes += HEADER;
      this.lastData = type === FRAME.DATA ? { id, header } : undefined;
    }
    if (payload && payload.length > 0) {
      this.out.push(payload);
      this.outBytes += payload.length;
    }
    if (this.outBytes >= FLUSH_BYTES) this.flush();
    else this.scheduled ??= setImmediate(this.flush);
  }

  json(type, id, value) {
    this.frame(type, id, Buffer.from(JSON.stringify(value), "utf8"));
  }

  flush() {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (this.outBytes === 0 || this.closed) return;
    const chunks = this.out;
    const bytes = this.outBytes;
    this.out = [];
    this.outBytes = 0;
    this.lastData = undefined;
    if (this.transport.write(chunks, bytes) === false) this.congested = true;
  }

  /** The transport sent everything it held: waiting streams go on, in the order they came, until it is full again. */
  drained() {
    this.congested = false;
    for (const stream of this.waiting) {
      if (this.congested || this.closed) return;
      this.waiting.delete(stream);
      const blocked = stream.blocked;
      if (!blocked) continue;
      stream.blocked = undefined;
      stream.send(blocked.chunk, blocked.callback);
    }
  }

  /** A new stream asking the peer for `request` (one side of a tunnel opens, the other answers). */
  open(request) {
    // Ids are 32 bits; after 4 billion connections they start again, past the ones still open.
    while (this.nextId === 0 || this.nextId > 0xffffffff || this.streams.has(this.nextId)) this.nextId = this.nextId > 0xffffffff ? 1 : this.nextId + 1;
    const stream = new MuxStream(this, this.nextId++);
    this.streams.set(stream.id, stream);
    this.json(FRAME.OPEN, stream.id, request);
    return stream;
  }

  /** Feeds bytes read from the transport. */
  receive(chunk) {
    let offset = 0;
    const length = chunk.length;
    while (offset < length && !this.closed) {
      if (this.type < 0) {
        if (this.headerFill === 0 && length - offset >= HEADER) {
          this.startFrame(chunk[offset], chunk.readUInt32BE(offset + 1), chunk.readUInt32BE(offset + 5));
          offset += HEADER;
          if (this.closed) return;
        } else {
          const take = Math.min(HEADER - this.headerFill, length - offset);
          chunk.copy(this.header, this.headerFill, offset, offset + take);
          this.headerFill += take;
          offset += take;
          if (this.headerFill < HEADER) return;
          this.headerFill = 0;
          this.startFrame(this.header[0], this.header.readUInt32BE(1), this.header.readUInt32BE(5));
          if (this.closed) return;
        }
        if (this.remaining === 0) this.endFrame();
        continue;
      }
      const take = Math.min(this.remaining, length - offset);
      const piece = chunk.subarray(offset, offset + take);
      offset += take;
      this.remaining -= take;
      if (this.type === FRAME.DATA) this.streams.get(this.id)?.receiveData(piece);
      else this.control.push(this.transport.lends ? Buffer.from(piece) : piece);
      if (this.remaining === 0) this.endFrame();
    }
  }

  startFrame(type, id, size) {
    if (type !== FRAME.DATA && size > CONTROL_LIMIT) return this.close(new Error(`the peer sent a ${size}-byte control frame (type ${type}); the tunnel is out of step`));
    if (type > FRAME.PONG) return this.close(new Error(`the peer sent an unknown frame type ${type}; is it from another kbridge version?`));
    this.type = type;
    this.id = id;
    this.remaining = size;
  }

  endFrame() {
    const type = this.type;
    const id = this.id;
    const payload = this.control.length === 1 ? this.control[0] : Buffer.concat(this.control);
    this.type = -1;
    this.control = [];
    if (type === FRAME.DATA) return;
    const stream = this.streams.get(id);
    switch (type) {
      case FRAME.OPEN: {
        let request;
        try {
          request = JSON.parse(payload.toString("utf8"));
        } catch {
          return this.json(FRAME.OPENED, id, { error: "the request is not JSON" });
        }
        if (id === 0 || this.streams.has(id)) return this.close(new Error(`the peer opened stream ${id}, which is ${id === 0 ? "reserved" : "open already"}; the tunnel is out of step`));
        const opened = new MuxStream(this, id);
        this.streams.set(id, opened);
        if (this.handlers.onOpen) this.handlers.onOpen(opened, request);
        else opened.refuse("this end opens no streams");
        return;
      }
      case FRAME.OPENED: {
        let answer;
        try {
          answer = JSON.parse(payload.toString("utf8"));
        } catch {
          answer = { error: "its answer is not JSON" };
        }
        return stream?.answered(answer);
      }
      case FRAME.END:
        return stream?.receiveEnd();
      case FRAME.RESET:
        return stream?.receiveReset(payload.toString("utf8"));
      case FRAME.WINDOW:
        return payload.length === 4 ? stream?.receiveWindow(payload.readUInt32BE(0)) : undefined;
      default:
        return this.handlers.onControl?.(type, payload);
    }
  }

  /**
   * Whether every view of the transport's memory given to a stream is let go of: the stream
   * holds none unread, and its pipe's destination wrote them (or was destroyed). A transport
   * that lends asks before it reads into that memory again.
   */
  released() {
    for (const stream of this.lent) {
      if (stream.holdsLent()) return false;
      this.lent.delete(stream);
    }
    return true;
  }

  /** The transport is gone (or out of step): every stream fails with `error`. */
  close(error = new Error("the tunnel closed")) {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.scheduled) clearImmediate(this.scheduled);
    for (const stream of this.streams.values()) stream.destroy(error);
    this.streams.clear();
  }
}

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

function uint32(value) {
  const bytes = Buffer.allocUnsafe(4);
  bytes.writeUInt32BE(value, 0);
  return bytes;
}

/** A connection's read buffer starts this large and doubles each time reads fill it, up to READ_MAX. */
export const READ_START = 32 * 1024;
export const READ_MAX = 256 * 1024;
/** Less room than this left in the buffer: reads start over at its beginning (or in a new one). */
export const READ_MIN = 16 * 1024;

/**
 * The `onread` of a connection the agent made for the workstation (agent.mjs): what the
 * cluster sends is read into one buffer, read after read, and goes to `stream` as views of
 * it, without a copy — where Node's own reads take a new 64 KiB buffer each and go through a
 * stream's machinery. What all reads queue in one turn of the event loop still leaves as one
 * write. When the buffer is nearly full, reads go on in a new one twice as large, up to
 * READ_MAX, so that a bulk transfer reads that much at a time; at READ_MAX they start over at
 * its beginning if the tunnel's socket took everything (the usual case: the kernel has its
 * copy), and otherwise, while some of it waits (for the workstation's window, or in a full
 * socket), the buffer stays with it and reads go on in a new one. A small read after large
 * ones goes back to a small buffer: a connection kept open after a download holds READ_START,
 * not READ_MAX (the agent has the workload's memory limit). `resume` restarts reading once
 * the stream drained.
 *
 * @param {MuxStream} stream
 * @param {() => void} resume
 * @returns {{ buffer(): Buffer, callback(length: number): boolean }}
 */
export function readInto(stream, resume) {
  let buffer = Buffer.allocUnsafeSlow(READ_START);
  let offset = 0;
  return {
    buffer: () => buffer.subarray(offset),
    callback(length) {
      const ok = stream.write(buffer.subarray(offset, offset + length));
      offset += length;
      if (length < READ_MIN && buffer.length > READ_START) {
        // A small read after large ones: the transfer is over, or slow; a small buffer for what comes.
        buffer = Buffer.allocUnsafeSlow(READ_START);
        offset = 0;
      } else if (buffer.length - offset < READ_MIN) {
        if (buffer.length < READ_MAX || !stream.sentAll()) buffer = Buffer.allocUnsafeSlow(Math.min(buffer.length * 2, READ_MAX));
        offset = 0;
      }
      if (ok) return true;
      // Read again once the tunnel took it (returning false stops reading).
      stream.once("drain", resume);
      return false;
    },
  };
}
