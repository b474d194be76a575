/** Types for mux.mjs (plain JavaScript: the agent runs it on the stock node image). */
import { Duplex } from "node:stream";

export declare const MUX_MAGIC: Buffer;
export declare const MUX_MAGIC_TOKEN: Buffer;
export declare const FRAME: { HELLO: 0; OPEN: 1; OPENED: 2; DATA: 3; END: 4; RESET: 5; WINDOW: 6; PING: 7; PONG: 8; NOTICE: 9 };
export declare const STREAM_WINDOW: number;
export declare const MAX_STREAM_WINDOW: number;
export declare const TRANSPORT_HIGH_WATER: number;

export declare class Mux {
  constructor(
    /**
     * write answers false once the transport holds TRANSPORT_HIGH_WATER or more unsent; then call drained() when it has none.
     * unsent: the bytes it holds not yet written (without it, MuxStream.sentAll never answers true).
     * lends: receive() is given views of memory read into again once released() answers true (see mux.mjs).
     */
    transport: { write(chunks: Buffer[], bytes: number): boolean | void; unsent?(): number; readonly lends?: boolean },
    handlers?: { onOpen?(stream: MuxStream, request: unknown): void; onControl?(type: number, payload: Buffer): void },
  );
  readonly closed: boolean;
  /** The transport said it is full: streams' DATA waits for drained(). */
  readonly congested: boolean;
  readonly streams: Map<number, MuxStream>;
  frame(type: number, id: number, payload?: Buffer): void;
  json(type: number, id: number, value: unknown): void;
  flush(): void;
  /** The transport sent everything it held (after write answered false). */
  drained(): void;
  open(request: unknown): MuxStream;
  receive(chunk: Buffer): void;
  /** Whether every view of a lending transport's memory given to streams is let go of (written by their pipes' destinations, or dropped). */
  released(): boolean;
  close(error?: Error): void;
}

export declare class MuxStream extends Duplex {
  readonly id: number;
  /** What the peer may have in flight to this end: STREAM_WINDOW, doubled for a fast stream whose reader keeps up. */
  readonly window: number;
  /** The peer's reason when it refused the stream (set before the stream closes). */
  readonly refusal: string | undefined;
  /** Resolves once the peer answered OPENED ok; rejects with its reason (`refused: true`) or the stream's error. */
  opened(): Promise<MuxStream>;
  /** Sends what is queued now; true when every byte written to this stream has left (its memory may be reused), false while any of it waits. */
  sentAll(): boolean;
  accept(): void;
  refuse(reason: string): void;
}

export declare const READ_START: number;
export declare const READ_MAX: number;
export declare const READ_MIN: number;
/** The `onread` of a connection whose bytes go to `stream`, read into a buffer that is reused once they left (see mux.mjs); `resume` restarts reading. */
export declare function readInto(stream: MuxStream, resume: () => void): { buffer(): Buffer; callback(length: number): boolean };
