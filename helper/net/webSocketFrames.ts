/**
 * WebSocket frames (RFC 6455), the client's side: headers of the frames it sends, and a reader
 * of the server's frames as they arrive. No extensions are asked for, so none are accepted.
 */

export const OPCODE = { CONTINUATION: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const;

/**
 * The frame header of a client's message of `length` bytes. Client frames must be masked,
 * with a key the server cannot predict, so that a browser's page cannot make its bytes look
 * like something else to a proxy between it and the server. Inside TLS no proxy sees the
 * bytes and no page writes them: there the key is zero, and the payload goes out as it is.
 */
export function frameHeader(opcode: number, length: number, mask: Buffer): Buffer {
  const extended = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const header = Buffer.allocUnsafe(2 + extended + 4);
  header[0] = 0x80 | opcode;
  header[1] = 0x80 | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) header.writeUInt16BE(length, 2);
  else if (extended === 8) header.writeBigUInt64BE(BigInt(length), 2);
  mask.copy(header, 2 + extended);
  return header;
}

/** XORs `payload` with the 4-byte key in place, from key byte `phase` on. */
export function applyMask(payload: Buffer, mask: Buffer, phase = 0): void {
  for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[(i + phase) & 3] as number);
}

export interface FrameHandlers {
  /** A piece of a data message's payload (a message may come in many). */
  piece(payload: Buffer): void;
  /** The data message the pieces belonged to is complete. */
  messageEnd(): void;
  /** A control frame (close, ping, pong), whole. */
  control(opcode: number, payload: Buffer): void;
}

/**
 * The server's side of the wire, parsed as it arrives: control frames whole, data messages
 * (text or binary, fragmented or not) as pieces. Throws on what RFC 6455 forbids a server to
 * send (a masked frame, reserved bits, an unknown opcode, a fragmented or long control frame).
 */
export class FrameReader {
  private header = Buffer.alloc(14);
  private headerFill = 0;
  private opcode = -1;
  private fin = false;
  private remaining = 0;
  private inMessage = false;
  private control: Buffer[] = [];

  constructor(private readonly handlers: FrameHandlers) {}

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.opcode < 0) {
        const take = Math.min(this.headerNeeds() - this.headerFill, chunk.length - offset);
        chunk.copy(this.header, this.headerFill, offset, offset + take);
        this.headerFill += take;
        offset += take;
        if (this.headerFill < this.headerNeeds()) continue;
        this.startFrame();
        if (this.remaining === 0) this.endFrame();
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - offset);
      const piece = chunk.subarray(offset, offset + take);
      offset += take;
      this.remaining -= take;
      // A control frame is kept whole before it is read: a copy, as its memory may be read into again.
      if (this.opcode >= OPCODE.CLOSE) this.control.push(Buffer.from(piece));
      else this.handlers.piece(piece);
      if (this.remaining === 0) this.endFrame();
    }
  }

  /** How many header bytes the frame in progress has: 2, then as its second byte says. */
  private headerNeeds(): number {
    if (this.headerFill < 2) return 2;
    const length = (this.header[1] as number) & 0x7f;
    return 2 + (length === 126 ? 2 : length === 127 ? 8 : 0) + ((this.header[1] as number) & 0x80 ? 4 : 0);
  }

  private startFrame(): void {
    const first = this.header[0] as number;
    const second = this.header[1] as number;
    this.headerFill = 0;
    if (second & 0x80) throw new Error("the API server sent a masked frame");
    if (first & 0x70) throw new Error("the API server set reserved bits of a frame (an extension kbridge did not ask for)");
    const opcode = first & 0x0f;
    const short = second & 0x7f;
    let length = short;
    if (short === 126) length = this.header.readUInt16BE(2);
    else if (short === 127) {
      const long = this.header.readBigUInt64BE(2);
      if (long > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error("the API server sent a frame longer than 2^53 bytes");
      length = Number(long);
    }
    this.fin = (first & 0x80) !== 0;
    if (opcode >= OPCODE.CLOSE) {
      if (opcode > OPCODE.PONG) throw new Error(`the API server sent a frame of unknown opcode ${opcode}`);
      if (!this.fin || length > 125) throw new Error("the API server sent a fragmented or long control frame");
    } else if (opcode === OPCODE.CONTINUATION) {
      if (!this.inMessage) throw new Error("the API server continued a message it had not started");
    } else if (opcode === OPCODE.TEXT || opcode === OPCODE.BINARY) {
      if (this.inMessage) throw new Error("the API server started a message inside another");
      this.inMessage = true;
    } else throw new Error(`the API server sent a frame of unknown opcode ${opcode}`);
    this.opcode = opcode;
    this.remaining = length;
  }

  private endFrame(): void {
    const opcode = this.opcode;
    this.opcode = -1;
    if (opcode >= OPCODE.CLOSE) {
      const payload = this.control.length === 1 ? (this.control[0] as Buffer) : Buffer.concat(this.control);
      this.control = [];
      return this.handlers.control(opcode, payload);
    }
    if (!this.fin) return;
    this.inMessage = false;
    this.handlers.messageEnd();
  }
}

