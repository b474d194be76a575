/**
 * SPDY/3.1 as kubectl's port-forward speaks it (moby/spdystream): SYN_STREAM in;
 * SYN_REPLY, DATA, RST_STREAM, PING echo and GOAWAY; header blocks compressed with one
 * persistent zlib context per direction and the SPDY/3 dictionary. spdystream sends no
 * SETTINGS or WINDOW_UPDATE, so there is no flow control to honour (or to wait for).
 */
import { createRequire } from "node:module";
import zlib from "node:zlib";

const require = createRequire(import.meta.url);
// The SPDY/3 zlib dictionary (1,423 bytes of data from the draft), taken from the spdy-transport package.
const DICTIONARY = (require("spdy-transport/lib/spdy-transport/protocol/spdy/dictionary.js") as Record<string, Buffer>)["3"] as Buffer;

const TYPE = { SYN_STREAM: 1, SYN_REPLY: 2, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, HEADERS: 8, WINDOW_UPDATE: 9 } as const;
export const FLAG_FIN = 0x01;
export const RST_CANCEL = 5;
export const RST_PROTOCOL_ERROR = 1;
const MAX_DATA = 32 * 1024;

export interface SpdyHandlers {
  onSynStream(streamId: number, headers: Record<string, string>, fin: boolean): void;
  onData(streamId: number, data: Buffer, fin: boolean): void;
  onReset(streamId: number, status: number): void;
  onGoaway(): void;
  onError(error: Error): void;
}

/** A persistent zlib context: each block is written and sync-flushed, output collected in order. */
class ZContext {
  private chunks: Buffer[] = [];
  constructor(private readonly stream: zlib.Inflate | zlib.Deflate) {
    stream.on("data", (chunk: Buffer) => this.chunks.push(chunk));
  }
  run(input: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.stream.once("error", reject);
      this.stream.write(input);
      this.stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.stream.off("error", reject);
        const output = Buffer.concat(this.chunks);
        this.chunks = [];
        resolve(output);
      });
    });
  }
  close(): void {
    this.stream.close();
  }
}

export class SpdySession {
  private buffered = Buffer.alloc(0);
  private queue: Promise<void> = Promise.resolve();
  private readonly inflate = new ZContext(zlib.createInflate({ dictionary: DICTIONARY }));
  private readonly deflate = new ZContext(zlib.createDeflate({ dictionary: DICTIONARY }));
  private outgoing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly write: (frame: Buffer) => void,
    private readonly handlers: SpdyHandlers,
  ) {}

  /** Bytes from the transport; frames are handled strictly in order. */
  feed(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    this.queue = this.queue.then(() => this.drain()).catch((error: Error) => this.handlers.onError(error));
  }

  private async drain(): Promise<void> {
    while (this.buffered.length >= 8) {
      const length = this.buffered.readUIntBE(5, 3);
      if (this.buffered.length < 8 + length) return;
      const frame = this.buffered.subarray(0, 8 + length);
      this.buffered = this.buffered.subarray(8 + length);
      await this.handle(frame);
    }
  }

  private async handle(frame: Buffer): Promise<void> {
    const flags = frame[4] as number;
    const payload = frame.subarray(8);
    if (((frame[0] as number) & 0x80) === 0) {
      this.handlers.onData(frame.readUInt32BE(0) & 0x7fffffff, payload, (flags & FLAG_FIN) !== 0);
      return;
    }
    const version = frame.readUInt16BE(0) & 0x7fff;
    if (version !== 3) throw new Error(`unsupported SPDY version ${version}`);
    switch (frame.readUInt16BE(2)) {
      case TYPE.SYN_STREAM: {
        const streamId = payload.readUInt32BE(0) & 0x7fffffff;
        const headers = parseHeaderBlock(await this.inflate.run(payload.subarray(10)));
        this.handlers.onSynStream(streamId, headers, (flags & FLAG_FIN) !== 0);
        break;
      }
      case TYPE.RST_STREAM:
        this.handlers.onReset(payload.readUInt32BE(0) & 0x7fffffff, payload.readUInt32BE(4));
        break;
      case TYPE.PING:
        this.send(control(TYPE.PING, 0, payload));
        break;
      case TYPE.GOAWAY:
        this.handlers.onGoaway();
        break;
      // SETTINGS, HEADERS, WINDOW_UPDATE: nothing to do.
    }
  }

  /** SYN_REPLY with an empty header block (what the kubelet sends). */
  reply(streamId: number): void {
    const id = Buffer.alloc(4);
    id.writeUInt32BE(streamId & 0x7fffffff);
    this.sendCompressed(TYPE.SYN_REPLY, 0, id, encodeHeaderBlock({}));
  }

  data(streamId: number, data: Buffer, fin = false): void {
    for (let offset = 0; offset < data.length || (offset === 0 && fin); offset += MAX_DATA) {
      const chunk = data.subarray(offset, offset + MAX_DATA);
      const last = offset + MAX_DATA >= data.length;
      const header = Buffer.alloc(8);
      header.writeUInt32BE(streamId & 0x7fffffff, 0);
      header[4] = fin && last ? FLAG_FIN : 0;
      header.writeUIntBE(chunk.length, 5, 3);
      this.send(Buffer.concat([header, chunk]));
      if (data.length === 0) break;
    }
  }

  reset(streamId: number, status = RST_CANCEL): void {
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(streamId & 0x7fffffff, 0);
    payload.writeUInt32BE(status, 4);
    this.send(control(TYPE.RST_STREAM, 0, payload));
  }

  goaway(): void {
    this.send(control(TYPE.GOAWAY, 0, Buffer.alloc(8)));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.outgoing.finally(() => {
      this.inflate.close();
      this.deflate.close();
    });
  }

  /** Frames go out in call order, including those that wait for compression. */
  private send(frame: Buffer): void {
    this.outgoing = this.outgoing.then(() => {
      if (!this.closed) this.write(frame);
    });
  }

  private sendCompressed(type: number, flags: number, prefix: Buffer, block: Buffer): void {
    const compressed = this.deflate.run(block);
    this.outgoing = this.outgoing
      .then(async () => {
        if (!this.closed) this.write(control(type, flags, Buffer.concat([prefix, await compressed])));
      })
      .catch((error: Error) => this.handlers.onError(error));
  }
}

function control(type: number, flags: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16BE(0x8000 | 3, 0);
  header.writeUInt16BE(type, 2);
  header[4] = flags;
  header.writeUIntBE(payload.length, 5, 3);
  return Buffer.concat([header, payload]);
}

export function parseHeaderBlock(block: Buffer): Record<string, string> {
  const headers: Record<string, string> = {};
  let offset = 4;
  const count = block.readUInt32BE(0);
  for (let i = 0; i < count; i++) {
    const nameLength = block.readUInt32BE(offset);
    const name = block.subarray(offset + 4, offset + 4 + nameLength).toString("utf8");
    offset += 4 + nameLength;
    const valueLength = block.readUInt32BE(offset);
    headers[name.toLowerCase()] = block.subarray(offset + 4, offset + 4 + valueLength).toString("utf8");
    offset += 4 + valueLength;
  }
  return headers;
}

export function encodeHeaderBlock(headers: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  const count = Buffer.alloc(4);
  count.writeUInt32BE(Object.keys(headers).length);
  parts.push(count);
  for (const [name, value] of Object.entries(headers)) {
    for (const text of [name.toLowerCase(), value]) {
      const bytes = Buffer.from(text, "utf8");
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      parts.push(length, bytes);
    }
  }
  return Buffer.concat(parts);
}
