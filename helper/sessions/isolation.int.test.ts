/**
 * Isolation mode against the test cluster's demo shop (web → api → store behind
 * shop.kbridge.test): two developers isolate `api` at once, each reached by their routing key
 * (header, baggage, personal URL) while everyone else reaches the cluster's pods; a SIGKILLed
 * helper's routes go within 60 s and the other developer keeps working; the last one leaving
 * puts every Service and Ingress back exactly.
 */
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startTestCluster, type TestCluster } from "../../test/cluster/cluster.ts";
import { kind } from "../../test/cluster/controllers/objects.ts";
import { DEMO_HOST, demoImages, installDemo, viaIngress, waitForDemo } from "../../test/cluster/demo/demoApp.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";
import { silentLogger } from "../logs/logger.ts";
import type { KbridgeError } from "../protocol/index.ts";
import { connect } from "./connectSession.ts";
import type { ConnectedSession } from "./sessionPlan.ts";

const dir = tempDir("isolation");
let cluster: TestCluster;
let kubeconfig: string;
const workstations: http.Server[] = [];
let helperA: ChildProcess | undefined;

/** A developer's version of `api`: answers as `name`, with the routing header it received; echoes WebSocket frames back. */
async function workstation(name: string): Promise<number> {
  const server = http.createServer((req, res) => {
    let received = 0;
    req.on("data", (chunk: Buffer) => (received += chunk.length));
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ pod: name, greeting: `from ${name}`, items: [], store: "none", routeAs: req.headers["kubernetes-route-as"] ?? null, received }));
    });
  });
  server.on("upgrade", (req, socket) => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Answered-By: ${name}\r\n\r\n`);
    socket.pipe(socket);
  });
  workstations.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  cluster = await startTestCluster({ images: [demoImages], backoffBaseMs: 500 });
  installDemo(cluster);
  await waitForDemo(cluster);
  kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
}, 60_000);
afterAll(async () => {
  helperA?.kill("SIGKILL");
  for (const server of workstations) server.close();
  await cluster?.stop();
});

const KEY_A = "alice-0a0a";
const KEY_B = "bob-0b0b";
/** Which api answered a request to web (web forwards the routing headers to api). */
const apiBehindWeb = async (headers: Record<string, string> = {}) => {
  const reply = await viaIngress(cluster, "/status", headers);
  expect(reply.status, reply.body).toBe(200);
  return (JSON.parse(reply.body) as { api: string }).api;
};
const kbridgeObjects = () => cluster.store.all().filter(({ object }) => object.metadata.labels?.["app.kubernetes.io/managed-by"] === "kbridge").map(({ object }) => `${object.kind}/${object.metadata.name}`);
const snapshot = (type: "Service" | "Ingress") =>
  cluster.store
    .list(kind(type), "shop")
    .map((o) => ({ name: o.metadata.name, annotations: o.metadata.annotations ?? {}, labels: o.metadata.labels ?? {}, spec: o.spec }))
    .sort((a, b) => String(a.name).localeCompare(String(b.name)));
const apiClusterIp = () => String((cluster.store.get(kind("Service"), "shop", "api").spec as { clusterIP: string }).clusterIP);

/** GETs /status from api's ClusterIP on one kept-alive connection, each request with its own headers; returns who answered and whether the socket was reused. */
async function keptAlive(requests: Record<string, string>[]): Promise<{ pod: string; reused: boolean }[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const answers: { pod: string; reused: boolean }[] = [];
  try {
    for (const headers of requests) {
      answers.push(
        await new Promise((resolve, reject) => {
          const req = http.get({ host: apiClusterIp(), port: 80, path: "/api/items", headers, agent }, (res) => {
            let body = "";
            res.on("data", (chunk: Buffer) => (body += chunk.toString()));
            res.on("end", () => resolve({ pod: (JSON.parse(body) as { pod: string }).pod, reused: req.reusedSocket }));
          });
          req.on("error", reject);
        }),
      );
    }
  } finally {
    agent.destroy();
  }
  return answers;
}

/** A WebSocket-style upgrade to api's ClusterIP with `headers`: who switched protocols, and the echo of a frame. */
function upgrade(headers: Record<string, string>): Promise<{ answeredBy: string; echo: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: apiClusterIp(), port: 80 }, () => {
      socket.write(`GET /ws HTTP/1.1\r\nHost: api\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`);
    });
    let data = "";
    socket.on("data", (chunk: Buffer) => {
      data += chunk.toString();
      const end = data.indexOf("\r\n\r\n");
      if (end < 0) return;
      if (!data.startsWith("HTTP/1.1 101")) return reject(new Error(`no upgrade: ${data}`));
      if (data.length === end + 4) socket.write("ping-frame");
      if (data.endsWith("ping-frame")) {
        resolve({ answeredBy: /X-Answered-By: (\S+)/i.exec(data)?.[1] ?? "", echo: data.slice(end + 4) });
        socket.destroy();
      }
    });
    socket.on("error", reject);
    setTimeout(() => reject(new Error(`upgrade timed out: ${data}`)), 10_000).unref();
  });
}

test("two developers isolate api at once; SIGKILL of one removes only their routes; the last one leaving restores every Service and Ingress", async () => {
  const services = snapshot("Service");
  const ingresses = snapshot("Ingress");
  const apiSpec = structuredClone(cluster.store.get(kind("Deployment"), "shop", "api").spec);
  const portA = await workstation("workstation-A");
  const portB = await workstation("workstation-B");

  // Developer A: a helper process (it is SIGKILLed below).
  helperA = spawn(process.execPath, ["--import", "tsx", "test/support/connectedHelper.ts"], {
    env: { ...process.env, KUBECONFIG: kubeconfig, TARGET_NAMESPACE: "shop", TARGET_NAME: "api", SERVICE_PORT: "80", WORKSTATION_PORT: String(portA), DEADMAN_SECONDS: "5", ROUTING_KEY: KEY_A },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let outputA = "";
  helperA.stdout?.on("data", (chunk: Buffer) => (outputA += chunk.toString()));
  await until(() => /CONNECTED (\w+)/.exec(outputA), "helper A to connect", 60_000);

  // Developer B: in this process.
  const steps: string[] = [];
  const sessionB: ConnectedSession = await connect({
    kubeconfig: [kubeconfig],
    context: "kbridge-demo",
    target: { kind: "service", name: "api", namespace: "shop" },
    ports: [{ port: 80, workstationPort: portB }],
    isolate: { routingKey: KEY_B },
    log: silentLogger(),
    timeoutMs: 30_000,
    onStep: (s) => s.status === "done" && steps.push(s.name),
  });
  let disconnected = false;
  try {
    expect(steps).toEqual(["resolve target", "check isolation", "preflight", "deploy agent", "wait for agent pods", "route requests", "open tunnels", "check routing", "read environment", "connected"]);
    expect(sessionB.isolation?.routingKey).toBe(KEY_B);
    // B came second, when api already selected its router: the agent is still a clone of api's pod, with its environment.
    expect(sessionB.target.workload).toEqual({ kind: "Deployment", name: "api", replicas: 2 });
    expect(sessionB.environment().find((v) => v.name === "GREETING")?.value).toBe("Welcome");
    expect(sessionB.isolation?.routed.sort()).toEqual(["api", "web"]);
    expect(sessionB.isolation?.urls).toEqual([`http://${KEY_B}.${DEMO_HOST}${cluster.ingress.port === 80 ? "" : `:${cluster.ingress.port}`}/`]);
    // The workload keeps serving: api's two replicas are untouched, the agents are new pods.
    expect(cluster.store.get(kind("Deployment"), "shop", "api").spec).toStrictEqual(apiSpec);

    // By header (web forwards it to api), by baggage, and without: the cluster's own api pods.
    expect(await apiBehindWeb({ "kubernetes-route-as": KEY_A })).toBe("workstation-A");
    expect(await apiBehindWeb({ "kubernetes-route-as": KEY_B })).toBe("workstation-B");
    expect(await apiBehindWeb({ baggage: `userId=7,kubernetes-route-as=${KEY_B};p=1` })).toBe("workstation-B");
    expect(await apiBehindWeb({ "kubernetes-route-as": "nobody-0000" })).toMatch(/^api-/);
    for (let i = 0; i < 4; i++) expect(await apiBehindWeb()).toMatch(/^api-/);

    // The personal URLs: no header from the client; the router at web marks the request, web forwards the key.
    expect(await apiBehindWeb({ host: `${KEY_A}.${DEMO_HOST}` })).toBe("workstation-A");
    const personal = await viaIngress(cluster, "/status", { host: `${KEY_B}.${DEMO_HOST}` });
    expect(JSON.parse(personal.body)).toMatchObject({ api: "workstation-B", routeAs: KEY_B });

    // One kept-alive connection, each request routed on its own; WebSocket upgrades routed too.
    const answers = await keptAlive([{ "kubernetes-route-as": KEY_A }, {}, { "kubernetes-route-as": KEY_B }]);
    expect(answers.map((a) => a.pod.replace(/^api-.*/, "api"))).toEqual(["workstation-A", "api", "workstation-B"]);
    expect(answers.map((a) => a.reused)).toEqual([false, true, true]);
    expect(await upgrade({ "kubernetes-route-as": KEY_A })).toEqual({ answeredBy: "workstation-A", echo: "ping-frame" });

    // Helper A dies: its agent, restorer and personal ingress go within 60 s; B keeps working.
    const sessionA = /CONNECTED (\w+)/.exec(outputA)?.[1] ?? "";
    helperA.kill("SIGKILL");
    const killedAt = Date.now();
    const objectsOfA = () => cluster.store.all().filter(({ object }) => object.metadata.labels?.["kbridge.dev/session"] === sessionA);
    await until(() => objectsOfA().length === 0, "helper A's objects to go", 60_000);
    console.log(`helper A's routes and pods gone ${((Date.now() - killedAt) / 1000).toFixed(1)} s after its SIGKILL (dead-man interval 5 s)`);
    expect(await apiBehindWeb({ "kubernetes-route-as": KEY_A })).toMatch(/^api-/);
    // A's personal URL is gone with its ingress.
    expect((await viaIngress(cluster, "/status", { host: `${KEY_A}.${DEMO_HOST}` })).status).toBe(404);
    expect(await apiBehindWeb({ "kubernetes-route-as": KEY_B })).toBe("workstation-B");
    expect(await apiBehindWeb({ host: `${KEY_B}.${DEMO_HOST}` })).toBe("workstation-B");
    expect(snapshot("Service").find((s) => s.name === "api")?.spec).toMatchObject({ selector: { "kbridge.dev/router": "api" } });

    await sessionB.disconnect();
    disconnected = true;
    expect(snapshot("Service")).toStrictEqual(services);
    expect(snapshot("Ingress")).toStrictEqual(ingresses);
    expect(kbridgeObjects()).toEqual([]);
    await waitForDemo(cluster);
    expect(await apiBehindWeb({ "kubernetes-route-as": KEY_B })).toMatch(/^api-/);
  } finally {
    if (!disconnected) await sessionB.disconnect();
  }
}, 240_000);

test("SIGKILL of the only isolating helper: its restorer removes the routers and puts every Service back", async () => {
  const services = snapshot("Service");
  const port = await workstation("workstation-C");
  const helper = spawn(process.execPath, ["--import", "tsx", "test/support/connectedHelper.ts"], {
    env: { ...process.env, KUBECONFIG: kubeconfig, TARGET_NAMESPACE: "shop", TARGET_NAME: "api", SERVICE_PORT: "80", WORKSTATION_PORT: String(port), DEADMAN_SECONDS: "5", ROUTING_KEY: "carol-0c0c" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  helper.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  await until(() => /CONNECTED (\w+)/.exec(output), "the helper to connect", 60_000);
  expect(await apiBehindWeb({ "kubernetes-route-as": "carol-0c0c" })).toBe("workstation-C");
  expect(snapshot("Service")).not.toStrictEqual(services);
  helper.kill("SIGKILL");
  await until(() => kbridgeObjects().length === 0, "every kbridge object to go", 60_000).catch((error: Error) => {
    throw new Error(`${error.message}; left: ${kbridgeObjects().join(", ")}`);
  });
  expect(snapshot("Service")).toStrictEqual(services);
  await waitForDemo(cluster);
  expect(await apiBehindWeb({ "kubernetes-route-as": "carol-0c0c" })).toMatch(/^api-/);
}, 120_000);

/** Writes `bytes` to api's ClusterIP on one connection and reads until `done(text)` or the peer closes. */
function exchange(bytes: string | Buffer, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: apiClusterIp(), port: 80 }, () => socket.write(bytes));
    let text = "";
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
      if (done(text)) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on("end", () => resolve(text));
    socket.on("error", reject);
    setTimeout(() => reject(new Error(`no complete answer within 10 s: ${JSON.stringify(text)}`)), 10_000).unref();
  });
}

test("the router keeps pipelined answers in order across upstreams, streams chunked bodies, passes non-HTTP bytes on; a key in use, a target without its Service and a bad key are refused; a selector put back is pointed at the router again", async () => {
  const port = await workstation("workstation-D");
  const session = await connect({ kubeconfig: [kubeconfig], context: "kbridge-demo", target: { kind: "service", name: "api", namespace: "shop" }, ports: [{ port: 80, workstationPort: port }], isolate: { routingKey: "dave-0d0d" }, log: silentLogger(), timeoutMs: 30_000 });
  try {
    // Three requests written at once: the second goes to another upstream, yet the answers come back in request order.
    const get = (headers: string) => `GET /api/items HTTP/1.1\r\nHost: api\r\n${headers}\r\n`;
    const pipelined = await exchange(get("kubernetes-route-as: dave-0d0d\r\n") + get("") + get("kubernetes-route-as: dave-0d0d\r\n"), (text) => (text.match(/"pod":"/g) ?? []).length === 3);
    expect([...pipelined.matchAll(/"pod":"([^"]+)"/g)].map((m) => m[1]?.replace(/^api-.*/, "api"))).toEqual(["workstation-D", "api", "workstation-D"]);

    // A chunked request body (and 100-continue) reaches the workstation whole.
    const chunks = ["a".repeat(70_000), "b".repeat(5)].map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join("");
    const posted = await exchange(`POST /upload HTTP/1.1\r\nHost: api\r\nkubernetes-route-as: dave-0d0d\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`, (text) => text.includes('"received"'));
    expect(posted).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
    expect(posted).toContain('"received":70005');

    // Not HTTP (a TLS-like record, no head end): passed through untouched to one of api's own pods, whose HTTP server rejects it at once.
    const raw = await exchange(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f]), () => false);
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect(raw).not.toContain("kbridge router");

    // A connection silent for its first second counts as a server-speaks-first protocol and passes through: even a keyed request on it then reaches api's own pods.
    const late = await new Promise<string>((resolve, reject) => {
      const socket = net.connect({ host: apiClusterIp(), port: 80 }, () => setTimeout(() => socket.write(get("kubernetes-route-as: dave-0d0d\r\nConnection: close\r\n")), 1500));
      let text = "";
      socket.on("data", (chunk: Buffer) => (text += chunk.toString()));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    expect(/"pod":"([^"]+)"/.exec(late)?.[1]).toMatch(/^api-/);

    // The same key for the same service again, or a Deployment named without its Service: refused before anything changes.
    const objects = kbridgeObjects().sort();
    const refused = (overrides: Partial<Parameters<typeof connect>[0]>) =>
      connect({ kubeconfig: [kubeconfig], context: "kbridge-demo", target: { kind: "service", name: "api", namespace: "shop" }, ports: [{ port: 80, workstationPort: port }], isolate: { routingKey: "dave-0d0d" }, log: silentLogger(), timeoutMs: 30_000, ...overrides }).then(
        () => null,
        (error: KbridgeError) => error.info,
      );
    expect(await refused({})).toMatchObject({ code: "routing-key-in-use", message: expect.stringContaining("Routing key dave-0d0d already isolates service api") });
    expect(await refused({ target: { kind: "deployment", name: "api", namespace: "shop" }, ports: [{ port: 8080, workstationPort: port }] })).toMatchObject({ code: "isolation-needs-service", hint: expect.stringContaining("Connect to the Service") });
    expect(await refused({ isolate: { routingKey: "Not_A_Label" } })).toMatchObject({ code: "routing-key-invalid" });
    expect(kbridgeObjects().sort()).toEqual(objects);

    // Someone applies api's manifest again (its own selector back): the session points it at the router again within seconds.
    const service = cluster.store.get(kind("Service"), "shop", "api");
    cluster.store.update(kind("Service"), { ...service, spec: { ...(service.spec as object), selector: { app: "api" } } });
    await until(() => JSON.stringify((cluster.store.get(kind("Service"), "shop", "api").spec as { selector: unknown }).selector) === JSON.stringify({ "kbridge.dev/router": "api" }), "api pointed at its router again", 20_000);
    expect(await apiBehindWeb({ "kubernetes-route-as": "dave-0d0d" })).toBe("workstation-D");
  } finally {
    await session.disconnect();
  }
}, 120_000);
