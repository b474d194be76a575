/**
 * Reads a socket into memory of kbridge's own (`onread`), so that a relay does not take new
 * memory per TLS record; why that matters is in docs/tunnel.md.
 */
import type net from "node:net";

/** Reads go into buffers this large, and a message in one goes on as a view of it. */
const READ_BUFFER_BYTES = 256 * 1024;
/** Less room than a TLS record's left in a read buffer: the next read goes to its beginning, or to a new one. */
const READ_ROOM_MIN = 16 * 1024;

/**
 * Reads into memory of kbridge's own (a socket's `onread`): each read lands after the last in
 * one buffer and goes to `consume` as a view of it, with no new memory per read. Once less
 * than a TLS record's room is left, reads start again at the buffer's beginning if
 * `released()` says nothing of it is held any more, else in a new buffer (the old one stays
 * with whoever holds it).
 */
export class ReadBuffer {
  private buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  private offset = 0;
  consume: (chunk: Buffer) => void = () => undefined;
  released: () => boolean = () => false;
  readonly onread: net.OnReadOpts = {
    buffer: () => this.buffer.subarray(this.offset),
    callback: (length) => {
      const chunk = this.buffer.subarray(this.offset, this.offset + length);
      this.offset += length;
      this.consume(chunk);
      if (this.buffer.length - this.offset < READ_ROOM_MIN) {
        if (!this.released()) this.buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
        this.offset = 0;
      }
      return true;
    },
  };
}

