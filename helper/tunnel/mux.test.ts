import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import { PassThrough, Writable, type Duplex } from "node:stream";
import { expect, test } from "vitest";
import { FRAME, MAX_STREAM_WINDOW, Mux, type MuxStream, READ_MAX, READ_START, readInto, STREAM_WINDOW } from "../agent/mux.mjs";

/**
 * A helper end and an agent end wired back to back. What one end writes reaches the other
 * cut into `piece`-byte reads (frame headers and payloads split anywhere), after a macrotask
 * as a socket would deliver it. The agent end answers each stream with `serve`.
 */
function pair(serve: (stream: MuxStream, request: { host?: string; port?: number }) => void, piece = 1 << 20) {
  const wire = (to: () => Mux) => ({
    write(chunks: Buffer[]) {
      const bytes = Buffer.concat(chunks);
      setImmediate(() => {
        for (let at = 0; at < bytes.length; at += piece) to().receive(bytes.subarray(at, at + piece));
      });
    },
  });
  const helper: Mux = new Mux(wire(() => agent));
  const agent: Mux = new Mux(wire(() => helper), { onOpen: (stream, request) => serve(stream, request as { host?: string; port?: number }) });
  return { helper, agent };
}

/** The agent side: an echo that upper-cases, ending when the helper ends. */
const upperEcho = (stream: MuxStream) => {
  stream.accept();
  stream.on("data", (chunk: Buffer) => stream.write(chunk.toString().toUpperCase()));
  stream.on("end", () => stream.end());
};

const readAll = (stream: Duplex) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

test.each([1, 7, 9, 4096])("streams carry their bytes both ways and half-close, with reads cut every %i bytes", async (piece) => {
  const { helper } = pair(upperEcho, piece);
  const streams = await Promise.all(Array.from({ length: 5 }, () => helper.open({ host: "upper", port: 80 }).opened()));
  const replies = await Promise.all(
    streams.map((stream, i) => {
      stream.end(`hello ${i}`);
      return readAll(stream).then(String);
    }),
  );
  expect(replies).toEqual(streams.map((_, i) => `HELLO ${i}`));
  expect(helper.streams.size).toBe(0);
});

test("a refused open rejects with the agent's reason and leaves nothing behind", async () => {
  const { helper, agent } = pair((stream) => stream.refuse("ENOTFOUND: nope"));
  await expect(helper.open({ host: "nope", port: 80 }).opened()).rejects.toMatchObject({ message: "ENOTFOUND: nope", refused: true });
  expect(helper.streams.size).toBe(0);
  expect(agent.streams.size).toBe(0);
});

test("a reset on one side fails the other side's stream with the reason, and only that stream", async () => {
  const served: MuxStream[] = [];
  const { helper } = pair((stream) => {
    served.push(stream);
    upperEcho(stream);
  });
  const [doomed, other] = await Promise.all([helper.open({}).opened(), helper.open({}).opened()]);
  const failed = new Promise<Error>((resolve) => doomed.once("error", resolve));
  served[0]?.on("error", () => undefined).destroy(new Error("read ECONNRESET"));
  expect((await failed).message).toBe("read ECONNRESET");
  other.end("still here");
  expect(String(await readAll(other))).toBe("STILL HERE");
});

test("flow control: a stream whose reader stops holds the sender at its window, others flow, and every byte arrives once read", async () => {
  const bulk = randomBytes(3 * STREAM_WINDOW + 12345);
  let sender: MuxStream | undefined;
  const { helper, agent } = pair((stream, request) => {
    if (request.port !== 1) return upperEcho(stream);
    sender = stream;
    stream.accept();
    const source = new PassThrough();
    source.pipe(stream);
    source.end(bulk);
  });
  const slow = await helper.open({ port: 1 }).opened();
  slow.pause();
  await new Promise((resolve) => setTimeout(resolve, 100));
  // Held at the window: the agent's stream has the rest waiting, the helper buffers at most a window.
  expect(slow.readableLength).toBeLessThanOrEqual(STREAM_WINDOW);
  expect(sender?.writableLength).toBeGreaterThan(0);
  const quick = await helper.open({ port: 2 }).opened();
  quick.end("meanwhile");
  expect(String(await readAll(quick))).toBe("MEANWHILE");
  expect(sha(await readAll(slow.resume()))).toBe(sha(bulk));
  expect(agent.streams.size).toBe(1); // the bulk stream waits for the helper's end
});

test("closing the transport fails every open stream; control frames reach the handler", async () => {
  const controls: number[] = [];
  const helper: Mux = new Mux({ write: (chunks) => void setImmediate(() => agent.receive(Buffer.concat(chunks))) });
  const agent: Mux = new Mux({ write: (chunks) => void setImmediate(() => helper.receive(Buffer.concat(chunks))) }, { onOpen: (stream) => stream.accept(), onControl: (type) => controls.push(type) });
  helper.frame(FRAME.PING, 0);
  const stream = await helper.open({}).opened();
  const failed = new Promise<Error>((resolve) => stream.once("error", resolve));
  helper.close(new Error("the port-forward dropped"));
  expect((await failed).message).toBe("the port-forward dropped");
  expect(controls).toEqual([FRAME.PING]);
});

test("a frame type from another version, or a second OPEN of an open stream, closes the tunnel with a reason", async () => {
  for (const [frame, reason] of [
    [[42, 0, 0, 0, 1, 0, 0, 0, 0], /unknown frame type 42/],
    [[FRAME.OPEN, 0, 0, 0, 1, 0, 0, 0, 2, 0x7b, 0x7d], /opened stream 1, which is open already/],
  ] as const) {
    const { agent } = pair(upperEcho);
    const stream = agent.open({});
    const failed = new Promise<Error>((resolve) => stream.once("error", resolve));
    agent.receive(Buffer.from(frame));
    expect((await failed).message).toMatch(reason);
    expect(agent.closed).toBe(true);
  }
});

test("a fast stream whose reader keeps up gets a larger window, up to the limit; a stream of small exchanges keeps the first one", async () => {
  const bulk = randomBytes(40 * STREAM_WINDOW);
  const { helper } = pair((stream, request) => {
    if (request.port !== 1) return upperEcho(stream);
    stream.accept();
    stream.end(bulk);
  });
  const fast = await helper.open({ port: 1 }).opened();
  expect(sha(await readAll(fast))).toBe(sha(bulk));
  expect(fast.window).toBe(MAX_STREAM_WINDOW);
  const chatty = await helper.open({ port: 2 }).opened();
  for (let i = 0; i < 20; i++) {
    chatty.write(`ping ${i}`);
    await new Promise((resolve) => chatty.once("data", resolve));
  }
  expect(chatty.window).toBe(STREAM_WINDOW);
});

test("stream ids start again at 1 after 2^32 - 1, past the ones still open", async () => {
  const { helper } = pair(upperEcho);
  const open = await helper.open({}).opened();
  expect(open.id).toBe(1);
  (helper as unknown as { nextId: number }).nextId = 0xffffffff;
  const last = await helper.open({}).opened();
  const wrapped = await helper.open({}).opened();
  expect([last.id, wrapped.id]).toEqual([0xffffffff, 2]);
  for (const stream of [open, last, wrapped]) {
    stream.end("x");
    expect(String(await readAll(stream))).toBe("X");
  }
});

test("a stream reset by the peer before anyone listens to it (its connection still being made) fails quietly, and the tunnel goes on", async () => {
  let waiting: MuxStream | undefined;
  const { helper } = pair((stream, request) => {
    if (request.port === 1) waiting = stream; // never answered: the connection "is being made"
    else upperEcho(stream);
  });
  const first = helper.open({ port: 1 });
  await new Promise((resolve) => setTimeout(resolve, 10));
  first.destroy(); // the helper gives up (a dial timeout): RESET
  await new Promise((resolve) => setTimeout(resolve, 10));
  expect(waiting?.destroyed).toBe(true);
  const second = await helper.open({ port: 2 }).opened();
  second.end("still");
  expect(String(await readAll(second))).toBe("STILL");
});

test("a full transport holds the streams' data, not the control frames, and they go on in turn once it drained", async () => {
  // The agent's transport: what it writes waits in `held` until the test delivers it; it says
  // it is full from 64 KiB on, as a socket would with the kernel's buffer taken.
  const FULL = 64 * 1024;
  let held: Buffer[] = [];
  const heldBytes = () => held.reduce((sum, chunk) => sum + chunk.length, 0);
  const helper: Mux = new Mux({ write: (chunks) => void setImmediate(() => agent.receive(Buffer.concat(chunks))) });
  const agent: Mux = new Mux(
    {
      write(chunks) {
        held.push(...chunks);
        return heldBytes() < FULL;
      },
    },
    {
      onOpen(stream) {
        stream.accept();
        stream.end(bulk);
      },
    },
  );
  const bulk = randomBytes(4 * 1024 * 1024);
  const deliver = () => {
    const bytes = Buffer.concat(held);
    held = [];
    helper.receive(bytes);
  };
  const streams = [helper.open({ port: 1 }), helper.open({ port: 2 })];
  const received = streams.map((stream) => readAll(stream));
  await new Promise((resolve) => setTimeout(resolve, 50));
  // Two streams, a 1 MiB window each: without the transport's word 2 MiB would be queued.
  expect(agent.congested).toBe(true);
  expect(heldBytes()).toBeLessThan(512 * 1024);
  const before = heldBytes();
  agent.frame(FRAME.PONG, 0);
  agent.flush();
  expect(heldBytes()).toBe(before + 9);
  for (let round = 0; round < 1000 && agent.streams.size + helper.streams.size > 0; round++) {
    deliver();
    agent.drained();
    await new Promise((resolve) => setImmediate(resolve));
    expect(heldBytes()).toBeLessThan(512 * 1024);
  }
  for (const bytes of await Promise.all(received)) expect(sha(bytes)).toBe(sha(bulk));
});

/**
 * A stream from the helper end to the agent end, for memory lent to write(): the agent's
 * transport copies what it takes, as the kernel does, unless `full`; then it holds the chunks
 * themselves (`held`, its `unsent`), as Node does with a write the kernel did not take, until
 * `release()` delivers them.
 */
async function lentMemoryStream() {
  const transport = {
    full: false,
    held: [] as Buffer[],
    release() {
      const waiting = Buffer.concat(transport.held);
      transport.held = [];
      setImmediate(() => helper.receive(waiting));
    },
  };
  const helper: Mux = new Mux({ write: (chunks) => void setImmediate(() => agent.receive(Buffer.concat(chunks))) });
  let served: MuxStream | undefined;
  const agent: Mux = new Mux(
    {
      write(chunks) {
        if (transport.full) return void transport.held.push(...chunks);
        const copy = Buffer.concat(chunks);
        setImmediate(() => helper.receive(copy));
      },
      unsent: () => transport.held.reduce((sum, chunk) => sum + chunk.length, 0),
    },
    {
      onOpen(stream) {
        stream.accept();
        served = stream;
      },
    },
  );
  const stream = helper.open({ port: 1 });
  const received: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => received.push(Buffer.from(chunk)));
  await stream.opened();
  return { stream, agentStream: served as MuxStream, received, transport };
}

test("sentAll says when the memory a stream was given may be written over: only once every byte of it left", async () => {
  const { agentStream, received, transport } = await lentMemoryStream();

  // Taken at once: the same memory may be read into again.
  const lent = Buffer.alloc(64 * 1024, 1);
  agentStream.write(lent);
  expect(agentStream.sentAll()).toBe(true);
  lent.fill(2);
  agentStream.write(lent);
  expect(agentStream.sentAll()).toBe(true);

  // Held by a full transport: not yet.
  transport.full = true;
  agentStream.write(lent);
  expect(agentStream.sentAll()).toBe(false);
  transport.full = false;
  transport.held = [];

  // Beyond the window: the rest waits in the stream.
  agentStream.write(Buffer.alloc(STREAM_WINDOW));
  expect(agentStream.sentAll()).toBe(false);

  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(sha(Buffer.concat(received).subarray(0, 128 * 1024))).toBe(sha(Buffer.concat([Buffer.alloc(64 * 1024, 1), Buffer.alloc(64 * 1024, 2)])));

  // A transport that cannot say what it holds never lets memory be reused.
  const unsure = new Mux({ write: () => true }).open({ port: 1 });
  unsure.write(Buffer.alloc(16));
  expect(unsure.sentAll()).toBe(false);
});

test("readInto: reads go into one buffer that grows to READ_MAX, is read into again only once its bytes left, and shrinks after a small read", async () => {
  const { stream, agentStream, received, transport } = await lentMemoryStream();
  let paused = false;
  let resumed = 0;
  const reader = readInto(agentStream, () => {
    paused = false;
    resumed += 1;
  });
  const sent: Buffer[] = [];
  /** One read of `length` bytes, as the socket does it: into what buffer() gives, then callback(); none while paused. */
  const read = async (length: number) => {
    await expect.poll(() => paused).toBe(false);
    const into = reader.buffer();
    const bytes = randomBytes(length);
    expect(length).toBeLessThanOrEqual(into.length);
    bytes.copy(into);
    sent.push(bytes);
    paused = !reader.callback(length);
    return into;
  };

  // Reads that fill the buffer double it, up to READ_MAX.
  const sizes = [];
  for (let size = READ_START; size <= READ_MAX; size *= 2) {
    sizes.push(reader.buffer().length);
    await read(size);
  }
  expect(sizes).toEqual([32, 64, 128, 256].map((k) => k * 1024));
  // At READ_MAX, with everything taken by the transport, the same memory is read into again.
  const before = reader.buffer();
  await read(READ_MAX);
  expect(reader.buffer().buffer).toBe(before.buffer);

  // With the transport full, the bytes stay where they were read; the next read gets new memory.
  transport.full = true;
  const into = await read(READ_MAX);
  const kept = Buffer.from(into.subarray(0, READ_MAX));
  expect(reader.buffer().buffer).not.toBe(into.buffer);
  transport.full = false;
  await read(READ_MAX);
  expect(into.subarray(0, READ_MAX).equals(kept)).toBe(true);
  transport.release();

  // A small read after large ones: back to a small buffer.
  await read(100);
  expect(reader.buffer().length).toBe(READ_START);

  // Past the window, with the workstation not reading: reading stops, and resumes once it drained.
  stream.pause();
  const resumedBefore = resumed;
  for (let i = 0; i < 200 && !paused; i++) await read(16 * 1024);
  expect(paused).toBe(true);
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(resumed).toBe(resumedBefore);
  stream.resume();
  await expect.poll(() => resumed).toBe(resumedBefore + 1);

  await expect.poll(() => Buffer.concat(received).length).toBe(Buffer.concat(sent).length);
  expect(sha(Buffer.concat(received))).toBe(sha(Buffer.concat(sent)));
});

/** A frame as the peer writes it: type, stream id, length, payload. */
function frameBytes(type: number, id: number, payload: Buffer | string): Buffer {
  const body = Buffer.from(payload);
  const header = Buffer.alloc(9);
  header[0] = type;
  header.writeUInt32BE(id, 1);
  header.writeUInt32BE(body.length, 5);
  return Buffer.concat([header, body]);
}

test("a lending transport: a stream piped to a socket gets views, any other reader copies, and released() says when the memory may be read into again", async () => {
  const pings: string[] = [];
  const mux = new Mux({ write: () => true, lends: true }, { onControl: (_type, payload) => pings.push(payload.toString()) });
  const piped = mux.open({ port: 1 });
  const listened = mux.open({ port: 2 });
  const transformed = mux.open({ port: 3 });
  // A loopback connection whose far end does not read yet: the kernel's buffers fill, and the socket holds the rest.
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
  const socket = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  const far = await accepted;
  far.pause();
  piped.pipe(socket);
  const heard: Buffer[] = [];
  listened.on("data", (chunk: Buffer) => heard.push(chunk));
  // A Transform hands on what it is given: its reader would keep the transport's memory.
  const passed: Buffer[] = [];
  transformed.pipe(new PassThrough()).on("data", (chunk: Buffer) => passed.push(chunk));
  await new Promise(setImmediate); // pipes flow from the next tick on

  // The transport's read buffer: a bulk DATA frame for the socket, two small ones, the first part of a PING.
  const bulk = randomBytes(16 * 1024 * 1024);
  const ping = frameBytes(FRAME.PING, 0, "are you there");
  const frames = Buffer.concat([frameBytes(FRAME.DATA, piped.id, bulk), frameBytes(FRAME.DATA, listened.id, "to a listener"), frameBytes(FRAME.DATA, transformed.id, "through a transform"), ping.subarray(0, 12)]);
  const memory = Buffer.allocUnsafeSlow(frames.length);
  frames.copy(memory);
  mux.receive(memory);
  expect(socket.writableLength).toBeGreaterThan(0);
  expect(mux.released()).toBe(false); // the socket still holds part of its view

  const arrived: Buffer[] = [];
  far.on("data", (chunk: Buffer) => arrived.push(chunk));
  far.resume();
  await expect.poll(() => socket.writableLength).toBe(0);
  expect(mux.released()).toBe(true);
  // The transport reads into the same memory again: what the others and the PING kept is intact, and the socket had written its part.
  memory.fill(0x2a);
  mux.receive(ping.subarray(12));
  expect(heard.map(String)).toEqual(["to a listener"]);
  expect(passed.map(String)).toEqual(["through a transform"]);
  expect(pings).toEqual(["are you there"]);
  await expect.poll(() => arrived.reduce((sum, chunk) => sum + chunk.length, 0)).toBe(bulk.length);
  expect(sha(Buffer.concat(arrived))).toBe(sha(bulk));

  // A destroyed socket holds nothing any more.
  far.pause();
  mux.receive(frameBytes(FRAME.DATA, piped.id, bulk));
  expect(mux.released()).toBe(false);
  socket.destroy();
  expect(mux.released()).toBe(true);
  far.destroy();
  server.close();
});

test("without a lending transport (the agent's), a piped stream's bytes go on as they came, with no copy and nothing tracked", async () => {
  const mux = new Mux({ write: () => true });
  const stream = mux.open({ port: 1 });
  const written: Buffer[] = [];
  stream.pipe(new Writable({ write: (chunk: Buffer) => void written.push(chunk) }));
  await new Promise(setImmediate);
  const memory = frameBytes(FRAME.DATA, stream.id, "as it came");
  mux.receive(memory);
  expect(written[0]?.buffer).toBe(memory.buffer);
  expect(mux.released()).toBe(true);
});
