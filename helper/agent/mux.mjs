// The agent tunnels' multiplexer, shared by the helper (helper/tunnel/muxTunnel.ts) and the
// agent (agent.mjs, which the ConfigMap ships with this file): many TCP connections over one
// port-forward stream, dependency-free. The outbound tunnel (the helper opens streams, the
// agent connects them in the cluster) and the inbound one (the agent opens a stream per
// connection its workload's ports accept) both run on it. The wire format is in muxWire.mjs,
// one stream in muxStream.mjs, and how the agent reads a connection it made into a stream in
// readInto.mjs; this module exports them all.
// Why frames of its own rather than HTTP/2: docs/tunnel.md.
import { FLUSH_BYTES, FRAME, HEADER } from "./muxWire.mjs";
import { MuxStream } from "./muxStream.mjs";

export { FRAME, MUX_MAGIC, MUX_MAGIC_TOKEN } from "./muxWire.mjs";
export { MAX_STREAM_WINDOW, MuxStream, STREAM_WINDOW } from "./muxStream.mjs";
export { READ_MAX, READ_MIN, READ_START, readInto } from "./readInto.mjs";

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
    if (type > FRAME.NOTICE) return this.close(new Error(`the peer sent an unknown frame type ${type}; is it from another kbridge version?`));
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
