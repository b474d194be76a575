import http from "node:http";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { io as rawIo } from "socket.io-client";
import { createHelperSocket, sendCommand, type HelperSocket } from "../client/helperSocket.ts";
import { silentLogger } from "../logs/logger.ts";
import { HELPER_NAMESPACE, KbridgeError, PROTOCOL_VERSION, sessionRoom, type HelperStatus, type LogLineView } from "../protocol/index.ts";
import { startHelperServer, type HelperServer } from "./startHelperServer.ts";

const TOKEN = "t".repeat(43);
const DASHBOARD_PORT = 4300;
const status: HelperStatus = {
  version: "0.0.0-test",
  protocolVersion: PROTOCOL_VERSION,
  bootId: "boot-1",
  pid: process.pid,
  startedAt: new Date(0).toISOString(),
  kubeconfig: ["/tmp/kubeconfig"],
};

let server: HelperServer;
/** A command this file does not exercise: tested where its feature is. */
const testedElsewhere = (where: string) => () => {
  throw new KbridgeError({ code: "not-in-this-test", category: "user", message: `Tested in ${where}.` });
};
let contextsCalls = 0;
let failNext: "user" | "crash" | null = null;
const sockets: HelperSocket[] = [];

beforeAll(async () => {
  server = await startHelperServer({
    token: TOKEN,
    port: 0,
    dashboardPort: DASHBOARD_PORT,
    status: () => status,
    log: silentLogger(),
    handlers: {
      "helper:getStatus": () => status,
      "kube:listContexts": () => {
        contextsCalls += 1;
        const mode = failNext;
        failNext = null;
        if (mode === "user") throw new KbridgeError({ code: "kubeconfig-missing", category: "config", message: "No kubeconfig found." });
        if (mode === "crash") throw new TypeError("cannot read properties of undefined (secret detail)");
        return { kubeconfig: ["/tmp/kubeconfig"], currentContext: "dev", contexts: [] };
      },
      "session:start": testedElsewhere("helper/sessions/"),
      "session:stop": testedElsewhere("helper/sessions/"),
      "session:resume": testedElsewhere("helper/sessions/"),
      "session:env": testedElsewhere("helper/sessions/"),
      "session:logs": () => ({ lines: [], next: 0 }),
      "session:diagnostics": testedElsewhere("helper/sessions/"),
      "session:restartProcess": testedElsewhere("helper/sessions/"),
      "kube:listNamespaces": () => ({ namespaces: [], listed: true }),
      "kube:listServices": () => [],
      "cluster:listObjects": () => ({ objects: [], sessions: [] }),
      "team:list": () => [],
      "cluster:watch": testedElsewhere("helper/server/clusterWatches.int.test.ts"),
      "cluster:unwatch": () => ({ watching: false }),
      "cluster:removeObjects": () => ({ removed: [] }),
      "config:preview": () => ({ file: "", env: [], volumes: [], features: [], warnings: [] }),
      "kube:listPods": () => [],
      "session:followPod": () => ({ following: [] }),
      "session:list": () => [],
      "cluster:clean": testedElsewhere("helper/cli/"),
      "cluster:check": testedElsewhere("helper/cli/"),
    },
  });
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await server.close();
});

function client(options: { token?: string; headers?: Record<string, string> } = {}): HelperSocket {
  const socket = createHelperSocket({ url: server.url, token: options.token ?? TOKEN, reconnection: false, extraHeaders: options.headers });
  sockets.push(socket);
  return socket;
}

/** Resolves with the helper's status, or rejects with the connect_error message. */
function handshake(socket: HelperSocket): Promise<HelperStatus> {
  return new Promise((resolve, reject) => {
    socket.once("helper:status", resolve);
    socket.once("connect_error", (error) => reject(new Error(error.message)));
  });
}

describe("handshake", () => {
  test("a client with the token gets the helper's status", async () => {
    await expect(handshake(client())).resolves.toEqual(status);
  });

  test("the dashboard's own Origin is accepted", async () => {
    await expect(handshake(client({ headers: { origin: `http://localhost:${DASHBOARD_PORT}` } }))).resolves.toMatchObject({ bootId: "boot-1" });
  });

  test("no token, or a wrong one, is refused", async () => {
    await expect(handshake(client({ token: "" }))).rejects.toThrow(/missing or wrong token/);
    await expect(handshake(client({ token: "x".repeat(43) }))).rejects.toThrow(/missing or wrong token/);
    const noAuth = rawIo(`${server.url}${HELPER_NAMESPACE}`, { transports: ["websocket"], reconnection: false });
    await expect(
      new Promise((resolve, reject) => {
        noAuth.once("connect", () => resolve(undefined));
        noAuth.once("connect_error", (error) => reject(error));
      }),
    ).rejects.toThrow(/missing or wrong token/);
    noAuth.close();
  });

  test("a foreign Origin is refused even with the token", async () => {
    await expect(handshake(client({ headers: { origin: "http://evil.example" } }))).rejects.toThrow();
    await expect(handshake(client({ headers: { origin: "null" } }))).rejects.toThrow();
  });

  test("a foreign Host (DNS rebinding) is refused even with the token", async () => {
    await expect(handshake(client({ headers: { host: "evil.example" } }))).rejects.toThrow();
  });

  test("the Engine.IO handshake itself answers 403 to a foreign Host or Origin", async () => {
    const get = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        http.get(`${server.url}/socket.io/?EIO=4&transport=polling`, { headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on("error", reject);
      });
    expect(await get({})).toBe(200);
    expect(await get({ host: "evil.example" })).toBe(403);
    expect(await get({ host: `evil.example:${server.port}` })).toBe(403);
    expect(await get({ origin: "http://evil.example" })).toBe(403);
  });

  test("every later request of a polling session is checked too: a foreign Host or Origin with a valid sid gets 403", async () => {
    const request = (method: string, query: string, headers: Record<string, string>, body?: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request(`${server.url}/socket.io/?EIO=4&transport=polling${query}`, { method, headers: { "content-type": "text/plain;charset=UTF-8", ...headers } }, (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => (text += chunk.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on("error", reject);
        req.end(body);
      });
    const opened = await request("GET", "", {});
    const sid = (JSON.parse(opened.text.slice(1)) as { sid: string }).sid;
    expect(opened.status).toBe(200);
    // A page on a rebinding domain, or of another origin, that learned the sid: refused on every request, not only the first.
    expect((await request("GET", `&sid=${sid}`, { host: "evil.example" })).status).toBe(403);
    expect((await request("POST", `&sid=${sid}`, { origin: "http://evil.example" }, `40${HELPER_NAMESPACE},{"token":"${TOKEN}"}`)).status).toBe(403);
    // The session itself is still there for its rightful client.
    expect((await request("POST", `&sid=${sid}`, {}, `40${HELPER_NAMESPACE},{"token":"${TOKEN}"}`)).status).toBe(200);
  });

  test("the helper listens on 127.0.0.1 only", async () => {
    await expect(
      new Promise((resolve, reject) => http.get(`http://127.0.0.2:${server.port}/`, resolve).on("error", reject)),
    ).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe("commands", () => {
  test("a command answers with ok: true and its data", async () => {
    const socket = client();
    await handshake(socket);
    const result = await sendCommand(socket, "kube:listContexts", {});
    expect(result).toEqual({ ok: true, data: { kubeconfig: ["/tmp/kubeconfig"], currentContext: "dev", contexts: [] } });
  });

  test("a malformed payload gets an error Result and the helper keeps serving", async () => {
    const socket = client();
    await handshake(socket);
    const before = contextsCalls;
    const bad = await (socket.timeout(2000) as unknown as { emitWithAck(event: string, payload: unknown): Promise<unknown> }).emitWithAck(
      "kube:listContexts",
      { unexpected: true },
    );
    expect(bad).toMatchObject({ ok: false, error: { code: "invalid-payload", category: "user" } });
    const notAnObject = await (socket.timeout(2000) as unknown as { emitWithAck(event: string, payload: unknown): Promise<unknown> }).emitWithAck(
      "kube:listContexts",
      "hello",
    );
    expect(notAnObject).toMatchObject({ ok: false, error: { code: "invalid-payload" } });
    expect(contextsCalls).toBe(before);
    // A command without an ack callback and an unknown event crash nothing.
    (socket as unknown as { emit(event: string, ...args: unknown[]): void }).emit("kube:listContexts", { unexpected: 1 });
    (socket as unknown as { emit(event: string, ...args: unknown[]): void }).emit("no:such-event", 1, 2, 3);
    expect((await sendCommand(socket, "helper:getStatus", {})).ok).toBe(true);
  });

  test("a user error passes through; an internal one is hidden behind a log id", async () => {
    const socket = client();
    await handshake(socket);
    failNext = "user";
    expect(await sendCommand(socket, "kube:listContexts", {})).toEqual({
      ok: false,
      error: { code: "kubeconfig-missing", category: "config", message: "No kubeconfig found." },
    });
    failNext = "crash";
    const crashed = await sendCommand(socket, "kube:listContexts", {});
    expect(crashed.ok).toBe(false);
    if (!crashed.ok) {
      expect(crashed.error.category).toBe("internal");
      expect(crashed.error.message).not.toContain("secret detail");
      expect(crashed.error.hint).toContain(`id=${crashed.error.logId}`);
    }
    expect((await sendCommand(socket, "kube:listContexts", {})).ok).toBe(true);
  });
});

describe("session rooms", () => {
  test("a session's log lines reach only the clients that asked for its log", async () => {
    const [asked, other, another] = [client(), client(), client()];
    await Promise.all([asked, other, another].map(handshake));
    expect((await sendCommand(asked, "session:logs", { sessionId: "s1" })).ok).toBe(true);
    expect((await sendCommand(another, "session:logs", { sessionId: "s2" })).ok).toBe(true);
    const heard = new Map<HelperSocket, string[]>([asked, other, another].map((socket) => [socket, []]));
    for (const [socket, batches] of heard) socket.on("session:logged", (batch) => batches.push(batch.sessionId));
    const line: LogLineView = { seq: 1, time: new Date(0).toISOString(), source: "helper", level: "info", text: "hello" };
    server.io.of(HELPER_NAMESPACE).to(sessionRoom("s1")).emit("session:logged", { sessionId: "s1", lines: [line] });
    // A round trip after the emit: whatever was sent to a client has arrived by then.
    await Promise.all([asked, other, another].map((socket) => sendCommand(socket, "helper:getStatus", {})));
    expect([heard.get(asked), heard.get(other), heard.get(another)]).toEqual([["s1"], [], []]);
  });
});
