import fs from "node:fs";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, expect, test } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { openCluster } from "./clusterConnection.ts";
import { applyMask, FrameReader, frameHeader, OPCODE } from "../net/webSocketFrames.ts";
import { openPortForward } from "./portForward.ts";

// The reader against frames built by hand (cut at every byte), and the whole port-forward
// against an independent WebSocket implementation (the `ws` package) over plain HTTP, where
// kbridge's frames carry random masks.

/** A server's frame (unmasked), with a payload length of any of the three forms. */
function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const extended = payload.length < 126 ? 0 : payload.length < 0x10000 ? 2 : 8;
  const header = Buffer.alloc(2 + extended);
  header[0] = (fin ? 0x80 : 0) | opcode;
  header[1] = extended === 0 ? payload.length : extended === 2 ? 126 : 127;
  if (extended === 2) header.writeUInt16BE(payload.length, 2);
  if (extended === 8) header.writeBigUInt64BE(BigInt(payload.length), 2);
  return Buffer.concat([header, payload]);
}

function collect() {
  const seen: { pieces: Buffer[]; messages: Buffer[]; control: [number, string][] } = { pieces: [], messages: [], control: [] };
  const reader = new FrameReader({
    piece: (payload) => seen.pieces.push(Buffer.from(payload)),
    messageEnd: () => {
      seen.messages.push(Buffer.concat(seen.pieces));
      seen.pieces = [];
    },
    control: (opcode, payload) => seen.control.push([opcode, payload.toString("hex")]),
  });
  return { reader, seen };
}

test("the reader gives every message's bytes and every control frame, however the wire is cut", () => {
  const big = Buffer.alloc(70_000, 5);
  const medium = Buffer.from("m".repeat(300));
  const wire = Buffer.concat([
    serverFrame(OPCODE.BINARY, Buffer.from("small")),
    serverFrame(OPCODE.BINARY, big),
    // A fragmented message with a ping between its fragments (control frames may come there).
    serverFrame(OPCODE.BINARY, Buffer.from("first "), false),
    serverFrame(OPCODE.PING, Buffer.from("are you there")),
    serverFrame(OPCODE.CONTINUATION, medium, false),
    serverFrame(OPCODE.CONTINUATION, Buffer.from(" last"), true),
    serverFrame(OPCODE.BINARY, Buffer.alloc(0)),
    serverFrame(OPCODE.CLOSE, Buffer.from([0x03, 0xe8])),
  ]);
  for (const cut of [1, 2, 3, 7, 125, 4096, wire.length]) {
    const { reader, seen } = collect();
    for (let offset = 0; offset < wire.length; offset += cut) reader.push(wire.subarray(offset, offset + cut));
    expect(seen.messages.map((m) => m.length)).toEqual([5, 70_000, 6 + 300 + 5, 0]);
    expect(seen.messages[0]?.toString()).toBe("small");
    expect(seen.messages[1]?.equals(big)).toBe(true);
    expect(seen.messages[2]?.toString()).toBe(`first ${medium.toString()} last`);
    expect(seen.control).toEqual([
      [OPCODE.PING, Buffer.from("are you there").toString("hex")],
      [OPCODE.CLOSE, "03e8"],
    ]);
  }
});

test("a control frame that spans reads is whole, though the memory of its first part is read into again", () => {
  const { reader, seen } = collect();
  const ping = serverFrame(OPCODE.PING, Buffer.from("are you there"));
  const memory = Buffer.from(ping.subarray(0, 6));
  reader.push(memory);
  memory.fill(0x2a);
  reader.push(ping.subarray(6));
  expect(seen.control).toEqual([[OPCODE.PING, Buffer.from("are you there").toString("hex")]]);
});

test("the reader refuses what a server must not send", () => {
  const masked = Buffer.from([0x82, 0x81, 1, 2, 3, 4, 9]);
  const reserved = Buffer.from([0xc2, 0x00]);
  const unknown = Buffer.from([0x83, 0x00]);
  const lonelyContinuation = Buffer.from([0x80, 0x00]);
  const longPing = serverFrame(OPCODE.PING, Buffer.alloc(126));
  const nested = Buffer.concat([serverFrame(OPCODE.BINARY, Buffer.from("a"), false), serverFrame(OPCODE.BINARY, Buffer.from("b"))]);
  for (const [wire, reason] of [
    [masked, /masked frame/],
    [reserved, /reserved bits/],
    [unknown, /unknown opcode 3/],
    [lonelyContinuation, /continued a message it had not started/],
    [longPing, /long control frame/],
    [nested, /started a message inside another/],
  ] as const) {
    expect(() => collect().reader.push(wire)).toThrow(reason);
  }
});

test("a client frame's header and mask: ws would read what kbridge writes", () => {
  const mask = Buffer.from([0x11, 0x22, 0x33, 0x44]);
  expect(frameHeader(OPCODE.BINARY, 5, mask)).toEqual(Buffer.from([0x82, 0x85, 0x11, 0x22, 0x33, 0x44]));
  expect(frameHeader(OPCODE.BINARY, 300, mask).subarray(0, 4)).toEqual(Buffer.from([0x82, 0xfe, 0x01, 0x2c]));
  expect(frameHeader(OPCODE.CLOSE, 70_000, mask).subarray(0, 10)).toEqual(Buffer.from([0x88, 0xff, 0, 0, 0, 0, 0, 1, 0x11, 0x70]));
  const payload = Buffer.from("hello, pod");
  applyMask(payload, mask);
  applyMask(payload, mask);
  expect(payload.toString()).toBe("hello, pod");
});

// ——— against ws, over plain HTTP ———

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

/**
 * An API server whose portforward answers with `serve` (ws) to a request with the kube
 * context's token; it refuses the pod "missing" (404, a body until the connection closes),
 * the pod "secret" (403, a chunked body) and a request without the token (401, a body of
 * known length). `proxy`: the kube context's proxy-url; `token`: its user's.
 */
async function fakeApiServer(serve: (ws: WebSocket) => void, { protocol = "v4.channel.k8s.io", proxy, token = "t0k3n" }: { protocol?: string; proxy?: string; token?: string } = {}) {
  const wss = new WebSocketServer({ noServer: true, handleProtocols: () => protocol });
  const server = http.createServer((_request, response) => {
    response.writeHead(404, { "content-type": "application/json" });
    response.end(JSON.stringify({ kind: "Status", message: 'pods "missing" not found' }));
  });
  server.on("upgrade", (request, socket, head) => {
    if (request.headers.authorization !== "Bearer t0k3n") {
      const body = '{"kind":"Status","message":"Unauthorized"}';
      socket.write(`HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      return;
    }
    if (request.url?.includes("/pods/missing/")) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"kind":"Status","message":"pods \\"missing\\" not found"}');
      return;
    }
    if (request.url?.includes("/pods/secret/")) {
      socket.write('HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n14\r\n{"kind":"Status","me\r\n');
      setTimeout(() => socket.write('1b\r\nssage":"pods is forbidden"}\r\n0\r\n\r\n'), 20);
      return;
    }
    wss.handleUpgrade(request, socket, head, serve);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => {
    wss.clients.forEach((client) => client.terminate());
    server.close();
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kbridge-pf-"));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = path.join(dir, "kubeconfig");
  fs.writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: "http://127.0.0.1:${(server.address() as AddressInfo).port}", insecure-skip-tls-verify: true${proxy ? `, proxy-url: "${proxy}"` : ""}}}]
users: [{name: me, user: {token: ${token}}}]
contexts: [{name: fake, context: {cluster: fake, user: me}}]
current-context: fake
`,
  );
  return openCluster([kubeconfig], "fake");
}

/** Opens both channels of port 7000 as the kubelet does: a message with the port each. */
const openChannels = (ws: WebSocket) => {
  ws.send(Buffer.from([0, 0x58, 0x1b]));
  ws.send(Buffer.from([1, 0x58, 0x1b]));
};

test("bytes both ways through a real WebSocket server: masked frames, fragments, pings, the port prefix", async () => {
  let server: WebSocket | undefined;
  const received: Buffer[] = [];
  let pongs = 0;
  const connection = await fakeApiServer((ws) => {
    server = ws;
    openChannels(ws);
    ws.on("message", (message: Buffer) => received.push(message));
    ws.on("pong", () => (pongs += 1));
    ws.ping("hi");
    // One message in three fragments.
    ws.send(Buffer.from([0, ...Buffer.from("from ")]), { fin: false });
    ws.send(Buffer.from("the "), { fin: false });
    ws.send(Buffer.from("pod"), { fin: true });
  });
  const data: Buffer[] = [];
  let closedWith: Error | undefined | "open" = "open";
  const socket = await openPortForward(connection, "default", "blast", 7000, { data: (payload) => data.push(Buffer.from(payload)), close: (error) => (closedWith = error) });
  const big = Buffer.alloc(200_000, 9);
  socket.send([Buffer.from("to "), Buffer.from("the pod")]);
  socket.send([big]);
  await expect.poll(() => received.length).toBe(2);
  expect(received[0]?.toString()).toBe("\u0000to the pod");
  expect(received[1]?.subarray(1).equals(big)).toBe(true);
  expect(received[1]?.[0]).toBe(0);
  await expect.poll(() => Buffer.concat(data).toString()).toBe("from the pod");
  expect(data).toHaveLength(1); // a message goes on whole, its fragments joined
  expect(pongs).toBe(1);
  // The server closes normally: the connection ends without an error.
  server?.close(1000);
  await expect.poll(() => closedWith).toBeUndefined();
});

test("a connection without a proxy reads into its own memory: a message goes on as one view, the memory is read into again only once the handlers released it", async () => {
  // 48 messages of 40 000 bytes each (the reads cut them anywhere), every byte numbered.
  const messages = Array.from({ length: 48 }, (_, m) => Buffer.from(Array.from({ length: 40_000 }, (_, i) => (m * 7 + i) & 0xff)));
  const connection = await fakeApiServer((ws) => {
    openChannels(ws);
    for (const message of messages) ws.send(Buffer.concat([Buffer.from([0]), message]));
  });
  for (const release of [false, true]) {
    const views: Buffer[] = [];
    const copies: Buffer[] = [];
    const socket = await openPortForward(connection, "default", "blast", 7000, {
      data(payload) {
        views.push(payload);
        copies.push(Buffer.from(payload));
      },
      close: () => undefined,
      released: () => release,
    });
    expect(socket.lends).toBe(true);
    await expect.poll(() => copies.reduce((sum, copy) => sum + copy.length, 0)).toBe(48 * 40_000);
    expect(Buffer.concat(copies).equals(Buffer.concat(messages))).toBe(true);
    // Each message whole, or in two where it ran past the end of a read buffer (at most one in six per buffer of 256 KiB).
    expect(views.length).toBeLessThanOrEqual(48 + Math.ceil((48 * 40_000) / (256 * 1024)));
    const buffers = new Set(views.map((view) => view.buffer));
    if (release) {
      // The same memory over and over (besides the copy of what came with the upgrade's answer).
      expect(buffers.size).toBeLessThanOrEqual(2);
    } else {
      // New memory each time, and nothing lent was written over.
      expect(buffers.size).toBeGreaterThanOrEqual(Math.floor((48 * 40_000) / (256 * 1024)));
      expect(Buffer.concat(views).equals(Buffer.concat(messages))).toBe(true);
    }
    socket.close();
  }
});

test("the kubelet's reason on the error channel ends the connection with it", async () => {
  const connection = await fakeApiServer((ws) => {
    openChannels(ws);
    ws.send(Buffer.concat([Buffer.from([1]), Buffer.from("error forwarding port 7000 to pod blast: connect ECONNREFUSED")]));
  });
  const closed = new Promise<Error | undefined>((resolve, reject) => void openPortForward(connection, "default", "blast", 7000, { data: () => undefined, close: resolve }).catch(reject));
  expect((await closed)?.message).toBe("port-forward to default/blast:7000: error forwarding port 7000 to pod blast: connect ECONNREFUSED");
});

test("a server that closes with an error code, refuses the upgrade, or picks another subprotocol is named", async () => {
  const connection = await fakeApiServer((ws) => {
    openChannels(ws);
    ws.close(1011, "internal trouble");
  });
  const closed = new Promise<Error | undefined>((resolve, reject) => void openPortForward(connection, "default", "blast", 7000, { data: () => undefined, close: resolve }).catch(reject));
  expect((await closed)?.message).toBe("port-forward to default/blast:7000: the API server closed it (1011: internal trouble)");

  await expect(openPortForward(connection, "default", "missing", 7000, { data: () => undefined, close: () => undefined })).rejects.toMatchObject({
    info: { code: "port-forward-failed", message: 'Cannot open a port-forward to pod default/missing port 7000: the API server answered HTTP 404: pods "missing" not found.' },
  });

  await expect(openPortForward(connection, "default", "secret", 7000, { data: () => undefined, close: () => undefined })).rejects.toMatchObject({
    info: { message: "Cannot open a port-forward to pod default/secret port 7000: the API server answered HTTP 403: pods is forbidden." },
  });
  const stranger = await fakeApiServer(() => undefined, { token: "wrong" });
  await expect(openPortForward(stranger, "default", "blast", 7000, { data: () => undefined, close: () => undefined })).rejects.toMatchObject({
    info: { message: "Cannot open a port-forward to pod default/blast port 7000: the API server answered HTTP 401: Unauthorized." },
  });

  // A credential that would end the header and start another is refused before anything is sent.
  const injected = await fakeApiServer(() => undefined, { token: '"t0k3n\\r\\nX-Injected: 1"' });
  await expect(openPortForward(injected, "default", "blast", 7000, { data: () => undefined, close: () => undefined })).rejects.toMatchObject({
    info: { message: "Cannot open a port-forward to pod default/blast port 7000: the kube context's credentials: its header Authorization holds a line break." },
  });

  const other = await fakeApiServer(() => undefined, { protocol: "v5.channel.k8s.io" });
  await expect(openPortForward(other, "default", "blast", 7000, { data: () => undefined, close: () => undefined })).rejects.toMatchObject({
    info: { message: expect.stringContaining('it chose the subprotocol "v5.channel.k8s.io" instead of v4.channel.k8s.io') },
  });
});

test("through the kube context's proxy-url, the port-forward goes by the proxy", async () => {
  // An HTTP proxy, as client-node's agent uses one: a CONNECT tunnel to the server.
  const relayed: string[] = [];
  const proxy = http.createServer();
  proxy.on("connect", (request: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    relayed.push(request.url ?? "");
    const [host = "", port = ""] = (request.url ?? "").split(":");
    const upstream = net.connect({ host, port: Number(port) }, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    cleanups.push(() => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => proxy.close());
  const connection = await fakeApiServer(
    (ws) => {
      openChannels(ws);
      ws.on("message", (message: Buffer) => ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(message.subarray(1).toString().toUpperCase())])));
    },
    { proxy: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` },
  );
  const data: Buffer[] = [];
  const socket = await openPortForward(connection, "default", "blast", 7000, { data: (payload) => data.push(Buffer.from(payload)), close: () => undefined });
  socket.send([Buffer.from("by the proxy")]);
  await expect.poll(() => Buffer.concat(data).toString()).toBe("BY THE PROXY");
  expect(relayed).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+$/)]);
  socket.close();
});
