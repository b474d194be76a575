// The multiplexer's wire format (mux.mjs), the same in the helper and the agent.
// After MUX_MAGIC (helper → agent), frames both ways: type (1 byte), stream id (4), payload length (4), payload.
//   HELLO   id 0, the handshake (helloProof.mjs): the helper's { session }; the agent's { challenge };
//           the helper's { signature }; the agent's { ok: true } or { error } (then it closes)
//   OPEN    the opening side's request: outbound { host, port } or { files: path }; inbound { port }
//   OPENED  the answer: { ok: true } or { error } (the stream is then gone). DATA may come before it.
//   DATA    bytes of the connection
//   END     the sender will send no more (half-close); a stream is done once both sides ended
//   RESET   the connection failed or was aborted; payload: the reason
//   WINDOW  4 bytes: how many more bytes the receiver takes (each stream starts at STREAM_WINDOW)
//   PING / PONG  liveness (the helper pings, the agent answers)
//   NOTICE  id 0, agent → helper: { refused, from } when the agent turned away someone claiming this session
// KBMUX/1 was the same but for a token in the helper's HELLO (agents of kbridge before the
// handshake, which a resumed session may still run).

export const MUX_MAGIC = Buffer.from("KBMUX/2\n");
export const MUX_MAGIC_TOKEN = Buffer.from("KBMUX/1\n");
export const FRAME = { HELLO: 0, OPEN: 1, OPENED: 2, DATA: 3, END: 4, RESET: 5, WINDOW: 6, PING: 7, PONG: 8, NOTICE: 9 };
/** A frame's header: type, stream id, payload length. */
export const HEADER = 9;
/** Queued output that is written at once instead of at the end of the event loop's turn. */
export const FLUSH_BYTES = 256 * 1024;

export function uint32(value) {
  const bytes = Buffer.allocUnsafe(4);
  bytes.writeUInt32BE(value, 0);
  return bytes;
}
