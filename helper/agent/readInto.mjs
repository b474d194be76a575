// How the agent reads a connection it made into a multiplexer stream (agent.mjs).

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
