/**
 * The tunnel under load: a server-speaks-first protocol, 100 concurrent connections and a
 * 256 MiB body each way, all checked byte for byte, through agent → the multiplexed tunnel
 * over port-forward → helper → workstation; the outbound direction (the agent dials cluster
 * services for the workstation over one multiplexed tunnel), half-close, flow control and
 * resets included; and the session's key, which keeps everyone else out of all of it.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import type { Duplex } from "node:stream";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startTestCluster, type TestCluster } from "../../test/cluster/cluster.ts";
import { kind } from "../../test/cluster/controllers/objects.ts";
import { kubectlFor } from "../../test/cluster/support/kubectl.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";
import { openCluster } from "../k8s/clusterConnection.ts";
import { openPortForward } from "../k8s/portForward.ts";
import { silentLogger } from "../logs/logger.ts";
import { newHelperKey } from "../agent/helloProof.mjs";
import { STREAM_WINDOW } from "../agent/mux.mjs";
import { openMuxTunnel, type AgentNotice } from "../tunnel/muxTunnel.ts";
import { connect } from "./connectSession.ts";
import type { ConnectedSession } from "./sessionPlan.ts";
import { deployment, manifests, service } from "../../test/support/manifests.ts";

const dir = tempDir("tunnel");
let cluster: TestCluster;
let session: ConnectedSession;
let workstation: net.Server;
let clusterIp: string;
let kubeconfig: string;
/** What the session's agents said they turned away. */
const notices: { at: number; pod: string; notice: AgentNotice }[] = [];

// In the cluster: a TCP service that greets first, then echoes (replaced by the workstation's).
const GREETER = "require('net').createServer((s) => { s.write('cluster-hello\\n'); s.pipe(s); }).listen(7000)";
// A cluster service the workstation calls through the outbound tunnel: echoes in upper case.
const UPPER = "require('net').createServer((s) => s.on('data', (d) => s.write(d.toString().toUpperCase()))).listen(7100)";
// Another: reads until the client half-closes, then answers with the bytes' SHA-256 (7200);
// sends 32 MiB of a known pattern and ends (7201); resets the connection when bytes arrive (7202).
const COUNTER = `
const net = require("net"), crypto = require("crypto");
net.createServer({ allowHalfOpen: true }, (s) => { const h = crypto.createHash("sha256"); s.on("data", (d) => h.update(d)); s.on("end", () => s.end(h.digest("hex"))); }).listen(7200);
const chunk = Buffer.alloc(1024 * 1024); for (let i = 0; i < chunk.length; i++) chunk[i] = i % 251;
net.createServer((s) => { let n = 0; const pump = () => { while (n < 32) { n++; if (!s.write(chunk)) return s.once("drain", pump); } s.end(); }; pump(); }).listen(7201);
net.createServer((s) => s.once("data", () => s.resetAndDestroy())).listen(7202);
`;

beforeAll(async () => {
  cluster = await startTestCluster({ backoffBaseMs: 500 });
  kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
  const applied = await kubectlFor(kubeconfig)(["apply", "-f", "-"], {
    stdin: `${manifests(
      deployment({ name: "greeter", image: "node:22", replicas: 1, command: ["node", "-e", GREETER], ports: [{ name: "tcp", containerPort: 7000 }] }),
      service({ name: "greeter", ports: [{ port: 7000, targetPort: "tcp" }] }),
    )}---
apiVersion: v1
kind: Pod
metadata: {name: upper, labels: {app: upper}}
spec:
  containers:
  - name: upper
    image: node:22
    command: ["node", "-e", ${JSON.stringify(UPPER)}]
    readinessProbe: {tcpSocket: {port: 7100}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: upper}
spec:
  selector: {app: upper}
  ports: [{port: 80, targetPort: 7100}]
---
apiVersion: v1
kind: Pod
metadata: {name: counter, labels: {app: counter}}
spec:
  containers:
  - name: counter
    image: node:22
    command: ["node", "-e", ${JSON.stringify(COUNTER)}]
    readinessProbe: {tcpSocket: {port: 7200}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: counter}
spec:
  selector: {app: counter}
  ports: [{name: sum, port: 7200}, {name: pattern, port: 7201}]
`,
  });
  if (applied.code !== 0) throw new Error(applied.stderr);
  clusterIp = (cluster.store.get(kind("Service"), "default", "greeter").spec as { clusterIP: string }).clusterIP;
  workstation = net.createServer((socket) => {
    socket.write("workstation-hello\n");
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => workstation.listen(0, "127.0.0.1", resolve));
  await until(
    () => cluster.store.list(kind("Pod"), "default").filter((p) => (p.status as { conditions?: { type: string; status: string }[] }).conditions?.some((c) => c.type === "Ready" && c.status === "True")).length === 3,
    "the greeter, upper and counter to be ready",
    20_000,
  );
  session = await connect({
    kubeconfig: [kubeconfig],
    context: "kbridge-demo",
    target: { kind: "service", name: "greeter", namespace: "default" },
    ports: [{ port: 7000, workstationPort: (workstation.address() as net.AddressInfo).port }],
    log: silentLogger(),
    onAgentNotice: (pod, notice) => notices.push({ at: Date.now(), pod, notice }),
  });
}, 60_000);

afterAll(async () => {
  await session?.disconnect();
  workstation?.close();
  await cluster?.stop();
});

/** Connects through the service, checks the greeting, sends `payload`, and returns the echo. */
function exchange(payload: Buffer): Promise<{ greeting: string; echo: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: clusterIp, port: 7000 });
    const chunks: Buffer[] = [];
    let length = 0;
    const greetingLength = "workstation-hello\n".length;
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= greetingLength + payload.length) {
        const all = Buffer.concat(chunks);
        socket.destroy();
        resolve({ greeting: all.subarray(0, greetingLength).toString(), echo: all.subarray(greetingLength) });
      }
    });
    socket.on("error", reject);
    // Server speaks first: write only after the greeting arrived.
    socket.once("data", () => {
      let offset = 0;
      const pump = () => {
        while (offset < payload.length) {
          const slice = payload.subarray(offset, offset + 1024 * 1024);
          offset += slice.length;
          if (!socket.write(slice)) return void socket.once("drain", pump);
        }
      };
      pump();
    });
  });
}

const sha = (data: Buffer) => createHash("sha256").update(data).digest("hex");

test("a server-speaks-first protocol works: the greeting arrives before the client sends anything", async () => {
  const { greeting, echo } = await exchange(Buffer.from("ping"));
  expect(greeting).toBe("workstation-hello\n");
  expect(echo.toString()).toBe("ping");
});

test("100 concurrent connections, each with its own bytes intact", async () => {
  const payloads = Array.from({ length: 100 }, () => randomBytes(64 * 1024));
  const results = await Promise.all(payloads.map((payload) => exchange(payload)));
  results.forEach((result, i) => expect(sha(result.echo), `connection ${i}`).toBe(sha(payloads[i] as Buffer)));
});

test("a 256 MiB body each way, checksum intact", async () => {
  const payload = randomBytes(Number(process.env.KB_TUNNEL_MIB ?? 256) * 1024 * 1024);
  const started = Date.now();
  const { echo } = await exchange(payload);
  expect(echo.length).toBe(payload.length);
  expect(sha(echo)).toBe(sha(payload));
  console.log(`256 MiB each way through the tunnel in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}, 180_000);

/** Writes `text` on a connection and reads until `expected` bytes came back. */
function roundTrip(socket: Duplex, text: string, expected: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let reply = "";
    socket.on("data", (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.length >= expected) resolve(reply);
    });
    socket.on("error", reject);
    socket.write(text);
  });
}

test("outbound: the agent dials cluster services by their cluster names for the workstation, 50 at a time", async () => {
  const replies = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      const stream = await session.dial(i % 2 ? "upper.default.svc.cluster.local" : "upper", 80);
      const reply = await roundTrip(stream, `hello ${i}`, `hello ${i}`.length);
      stream.destroy();
      return reply;
    }),
  );
  expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => `HELLO ${i}`));
  await expect(session.dial("nope.default.svc.cluster.local", 80)).rejects.toMatchObject({ info: { code: "dial-failed", message: expect.stringMatching(/nope\.default\.svc\.cluster\.local:80 in the cluster: ENOTFOUND/) } });
});

/** Sends `payload` on a dialled connection, half-closes, and returns what the other side answers before it ends. */
function sendAndHalfClose(connection: Duplex, payload: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    let reply = "";
    connection.on("data", (chunk: Buffer) => (reply += chunk.toString()));
    connection.on("end", () => resolve(reply));
    connection.on("error", reject);
    let offset = 0;
    const pump = () => {
      while (offset < payload.length) {
        const slice = payload.subarray(offset, offset + 1024 * 1024);
        offset += slice.length;
        if (!connection.write(slice)) return void connection.once("drain", pump);
      }
      connection.end();
    };
    pump();
  });
}

function receiveAll(connection: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    connection.on("data", (chunk: Buffer) => chunks.push(chunk));
    connection.on("end", () => resolve(Buffer.concat(chunks)));
    connection.on("error", reject);
  });
}

const pattern = () => {
  const chunk = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = i % 251;
  return Buffer.concat(Array.from({ length: 32 }, () => chunk));
};

test("outbound half-close and bulk both ways, eight connections at once on the one multiplexed tunnel", async () => {
  const upload = randomBytes(24 * 1024 * 1024);
  const results = await Promise.all(
    Array.from({ length: 4 }, async () => {
      const [sum, down] = await Promise.all([session.dial("counter", 7200), session.dial("counter", 7201)]);
      return { sum: await sendAndHalfClose(sum, upload), down: sha(await receiveAll(down)) };
    }),
  );
  expect(results).toEqual(Array.from({ length: 4 }, () => ({ sum: sha(upload), down: sha(pattern()) })));
});

test("flow control is per connection: one the workstation does not read holds back only itself, and gets all its bytes once read", async () => {
  const stalled = await session.dial("counter", 7201);
  stalled.pause();
  // The agent stops at the connection's window; the tunnel keeps carrying everything else.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const replies = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const stream = await session.dial("upper", 80);
      const reply = await roundTrip(stream, `next ${i}`, `next ${i}`.length);
      stream.destroy();
      return reply;
    }),
  );
  expect(replies).toEqual(Array.from({ length: 20 }, (_, i) => `NEXT ${i}`));
  expect(stalled.readableLength).toBeLessThanOrEqual(STREAM_WINDOW);
  expect(sha(await receiveAll(stalled.resume()))).toBe(sha(pattern()));
});

test("a connection the cluster side resets fails on the workstation too", async () => {
  const counter = cluster.store.get(kind("Pod"), "default", "counter");
  const connection = await session.dial(String((counter.status as { podIP: string }).podIP), 7202);
  const failed = new Promise<Error>((resolve) => connection.once("error", resolve));
  connection.write("reset me");
  expect((await failed).message).toMatch(/ECONNRESET/);
});


test("the session's Secret holds nothing that drives the agent; other pods cannot reach its ports; a takeover through port-forward is refused and told to the owner within 2 s", async () => {
  const agent = cluster.store.list(kind("Pod"), "default").find((p) => p.metadata.labels?.["kbridge.dev/role"] === "agent");
  const agentIp = String((agent?.status as { podIP: string }).podIP);
  const secret = cluster.store.get(kind("Secret"), "default", `kbridge-${session.id}-original`);
  const values = Object.values((secret.data ?? {}) as Record<string, string>).map((value) => Buffer.from(value, "base64").toString("utf8"));
  expect(Object.keys(secret.data ?? {}).sort()).toEqual(["workload.json"]);

  // Another pod, at the agent's address, saying kbridge's hello: its helper ports are on the pod's loopback, so nothing answers.
  const hello = Buffer.concat([Buffer.from("KBMUX/2\n"), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 18]), Buffer.from(JSON.stringify({ session: session.id }).slice(0, 18))]).toString("base64");
  const probe = `const net = require("net"); const out = {}; let left = 2;
for (const port of [47000, 47001]) {
  const s = net.connect(port, ${JSON.stringify(agentIp)}, () => s.write(Buffer.from(${JSON.stringify(hello)}, "base64")));
  s.on("data", () => (out[port] = "answered")).on("error", (e) => (out[port] ??= e.code)).on("close", () => { out[port] ??= "closed"; if (--left === 0) console.log(JSON.stringify(out)); });
}`;
  const fromPod = await kubectlFor(kubeconfig)(["exec", "upper", "--", "node", "-e", probe]);
  const outcomes = JSON.parse(fromPod.stdout) as Record<string, string>;
  for (const port of ["47000", "47001"]) expect(["ECONNREFUSED", "ECONNRESET", "closed"], `port ${port}: ${outcomes[port]}`).toContain(outcomes[port]);

  // Someone with port-forward rights, holding every value of the Secret, or a key of their own: turned away, and the owner is told.
  const admin = openCluster([kubeconfig], "kbridge-demo");
  const pod = String(agent?.metadata.name);
  const started = Date.now();
  for (const [port, credentials] of [
    [47001, { token: values[0] ?? "" }],
    [47000, { session: session.id, privateKey: newHelperKey().privateKey }],
  ] as const) {
    await expect(openMuxTunnel((handlers) => openPortForward(admin, "default", pod, port, handlers), credentials, silentLogger())).rejects.toThrow(/the agent (refused the tunnel: not this session's helper|did not answer the tunnel's hello)/);
  }
  await until(() => notices.length >= 2, "the owner told of both attempts", 2_000);
  expect(notices.map(({ pod: from, notice }) => [from, notice.refused, notice.why])).toEqual([
    [pod, "outbound", "it offered a token, which this agent does not take"],
    [pod, "inbound", "its signature does not match the session's key"],
  ]);
  expect(Math.max(...notices.map((n) => n.at)) - started).toBeLessThan(2_000);
  // The session's own tunnel still has the traffic.
  const { greeting } = await exchange(Buffer.from("still mine"));
  expect(greeting).toBe("workstation-hello\n");
});

test("a port-forward the API server refuses fails with its reason", async () => {
  const connection = openCluster([kubeconfig], "kbridge-demo");
  await expect(openPortForward(connection, "default", "no-such-pod", 47001, { data: () => undefined, close: () => undefined })).rejects.toMatchObject({
    info: { code: "port-forward-failed", message: expect.stringMatching(/no-such-pod port 47001: the API server answered HTTP 404: pods "no-such-pod" not found/) },
  });
});

test("on kbridge's own TLS connection a client certificate is presented, and a server certificate the kube context's CA did not sign is refused", async () => {
  // Authenticated by its certificate: the API server answers for the pod (404), not 401.
  const byCertificate = openCluster([cluster.writeKubeconfig(path.join(dir, "kubeconfig-certificate"), { auth: "certificate" })], "kbridge-demo");
  await expect(openPortForward(byCertificate, "default", "no-such-pod", 47001, { data: () => undefined, close: () => undefined })).rejects.toMatchObject({
    info: { message: expect.stringMatching(/the API server answered HTTP 404/) },
  });
  // Without the cluster's CA the server's certificate is not trusted: nothing is sent.
  const config = JSON.parse(fs.readFileSync(kubeconfig, "utf8")) as { clusters: { cluster: Record<string, unknown> }[] };
  for (const { cluster: entry } of config.clusters) delete entry["certificate-authority-data"];
  const untrusting = path.join(dir, "kubeconfig-no-ca");
  fs.writeFileSync(untrusting, JSON.stringify(config));
  await expect(openPortForward(openCluster([untrusting], "kbridge-demo"), "default", "no-such-pod", 47001, { data: () => undefined, close: () => undefined })).rejects.toMatchObject({
    info: { code: "port-forward-failed", message: expect.stringMatching(/certificate/) },
  });
});

test("a connection the workstation process refuses (nothing listens) is reset in the cluster, not left hanging", async () => {
  const agent = cluster.store.list(kind("Pod"), "default").find((p) => p.metadata.labels?.["kbridge.dev/role"] === "agent");
  workstation.close();
  const ended = await new Promise<string>((resolve) => {
    const socket = net.connect({ host: String((agent?.status as { podIP: string }).podIP), port: 7000 });
    socket.on("error", (error: NodeJS.ErrnoException) => resolve(String(error.code)));
    socket.on("data", () => resolve("data"));
  });
  expect(ended).toBe("ECONNRESET");
});
