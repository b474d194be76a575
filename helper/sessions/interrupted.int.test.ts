/**
 * A helper that dies mid-session leaves its journal behind; the next helper on the same
 * kbridge home reports the session as interrupted and checks the cluster: it can be
 * resumed (the agent is still there), cleaned, or it was already restored by the cluster.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, expect, test } from "vitest";
import { startTestCluster, type TestCluster } from "../../test/cluster/cluster.ts";
import { kind } from "../../test/cluster/controllers/objects.ts";
import { demoImages, installDemo, viaIngress, waitForDemo } from "../../test/cluster/demo/demoApp.ts";
import { startHelperProcess, type Started } from "../../test/support/kbridgeProcess.ts";
import { freePort } from "../../test/support/ports.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";
import { sendCommand } from "../client/helperSocket.ts";
import type { CliConnection } from "../cli/helperConnection.ts";
import { openCluster } from "../k8s/clusterConnection.ts";
import { restoreSession } from "../k8s/sessionRestore.ts";
import type { SessionView } from "../protocol/index.ts";

const dir = tempDir("interrupted");
let cluster: TestCluster;
let env: Record<string, string>;
let workstation: http.Server;
let helper: Started | undefined;
let client: CliConnection | undefined;

beforeAll(async () => {
  cluster = await startTestCluster({ images: [demoImages], backoffBaseMs: 500 });
  installDemo(cluster);
  await waitForDemo(cluster);
  env = { KBRIDGE_HOME: path.join(dir, "home"), KUBECONFIG: cluster.writeKubeconfig(path.join(dir, "kubeconfig")), KBRIDGE_HELPER_PORT: String(await freePort()) };
  workstation = http.createServer((_req, res) => res.end(JSON.stringify({ pod: "workstation", items: [], store: "none" })));
  await new Promise<void>((resolve) => workstation.listen(0, "127.0.0.1", resolve));
}, 60_000);
afterAll(async () => {
  client?.socket.close();
  await helper?.stop();
  workstation?.close();
  await cluster?.stop();
});

// A failed test leaves its session connected, and one session per workload would refuse every
// later test's connect: its helper goes and the cluster is put back, so only that test fails.
beforeEach(({ onTestFailed }) =>
  onTestFailed(async () => {
    if (helper) await killHelper();
    const sessions = new Set(kbridgeObjects().map(({ object }) => object.metadata.labels?.["kbridge.dev/session"]).filter((id) => id !== undefined));
    for (const id of sessions) await restoreSession(openCluster([env.KUBECONFIG as string], "kbridge-demo"), "shop", id);
  }),
);

/** A helper process on the test's kbridge home, and a client of it. */
async function startHelper(): Promise<CliConnection> {
  ({ helper, client } = await startHelperProcess(env));
  return client;
}

async function killHelper(): Promise<void> {
  client?.socket.close();
  process.kill(-(helper?.child.pid as number), "SIGKILL");
  await helper?.exited;
  helper = undefined;
  client = undefined;
}

async function session(connection: CliConnection, id: string, until_: (view: SessionView) => boolean, what: string): Promise<SessionView> {
  return until(async () => {
    const listed = await sendCommand(connection.socket, "session:list", {});
    const view = listed.ok ? listed.data.find((s) => s.id === id) : undefined;
    return view && until_(view) ? view : undefined;
  }, what, 60_000);
}

async function connectApi(connection: CliConnection, deadmanSeconds: number, isolate?: { routingKey: string }): Promise<string> {
  const started = await sendCommand(connection.socket, "session:start", {
    ...(isolate ? { isolate } : {}),
    kubeContext: "kbridge-demo",
    namespace: "shop",
    targetKind: "service",
    targetName: "api",
    ports: [{ port: 80, workstationPort: (workstation.address() as AddressInfo).port }],
    deadmanSeconds,
    profileId: 7,
  });
  if (!started.ok) throw new Error(started.error.message);
  await session(connection, started.data.id, (v) => v.state === "connected", "the session to connect");
  return started.data.id;
}

const spec = () => cluster.store.get(kind("Deployment"), "shop", "api").spec;
/** The live sessions journalled (ended ones are kept apart, under ended/). */
const journal = () => (fs.existsSync(path.join(env.KBRIDGE_HOME as string, "sessions")) ? fs.readdirSync(path.join(env.KBRIDGE_HOME as string, "sessions")).filter((name) => name.endsWith(".json")) : []);
const kbridgeObjects = () => cluster.store.all().filter(({ object }) => object.metadata.labels?.["app.kubernetes.io/managed-by"] === "kbridge");
const apiAnswer = async () => (JSON.parse((await viaIngress(cluster, "/status")).body) as { api: string }).api;

test("a session left by a killed helper is reported as interrupted and resumed by the next helper", async () => {
  const original = spec();
  const first = await startHelper();
  const id = await connectApi(first, 60);
  expect(journal()).toEqual([`${id}.json`]);
  // The session log: kbridge's steps, each agent's own log and the traffic, numbered; a client resumes after the last line it has.
  expect(await apiAnswer()).toBe("workstation");
  const log = await until(async () => {
    const result = await sendCommand(first.socket, "session:logs", { sessionId: id });
    if (!result.ok) return undefined;
    const agents = result.data.lines.filter((l) => l.source === "agent" && /inbound tunnel up/.test(l.text)).length;
    return agents >= 2 && result.data.lines.some((l) => l.source === "traffic") ? result.data : undefined;
  }, "both agents' 'tunnel up' and the request in the session log");
  expect(log.lines.find((l) => l.source === "traffic")?.text).toMatch(/^GET \/api\/items\S* → 200 \(\d+ ms\)$/);
  expect(log.lines.find((l) => l.source === "helper" && l.text === "✓ connected")).toBeDefined();
  expect(log.lines.map((l) => l.seq)).toEqual(log.lines.map((_, i) => i + 1));
  const tail = await sendCommand(first.socket, "session:logs", { sessionId: id, after: log.next - 2 });
  // Lines logged since (another agent line, more traffic) follow, numbered on without a gap.
  const seqs = tail.ok ? tail.data.lines.map((l) => l.seq) : [];
  expect(seqs.slice(0, 2)).toEqual([log.next - 1, log.next]);
  expect(seqs).toEqual(seqs.map((_, i) => log.next - 1 + i));
  // The pod's secret is in the session's environment, and in none of kbridge's files.
  const environment = await sendCommand(first.socket, "session:env", { sessionId: id });
  expect(environment.ok && environment.data.find((v) => v.name === "API_TOKEN")).toMatchObject({ value: "demo-token-not-secret", secret: true });
  const files = fs.readdirSync(env.KBRIDGE_HOME as string, { recursive: true, withFileTypes: true }).filter((f) => f.isFile()).map((f) => path.join(f.parentPath, f.name));
  expect(files.some((f) => f.includes("sessions"))).toBe(true);
  for (const file of files) expect(fs.readFileSync(file, "utf8"), file).not.toContain("demo-token-not-secret");
  await killHelper();

  const next = await startHelper();
  const interrupted = await session(next, id, (v) => v.state === "interrupted" && /Resume it/.test(v.note ?? ""), "the session reported as interrupted, checked against the cluster");
  expect(interrupted).toMatchObject({ profileId: 7, target: { kind: "service", name: "api", namespace: "shop" } });

  const resumed = await sendCommand(next.socket, "session:resume", { sessionId: id });
  expect(resumed.ok).toBe(true);
  const connected = await session(next, id, (v) => v.state === "connected", "the resumed session to connect");
  expect(connected.steps.map((s) => s.name)).toEqual(["reclaim session", "wait for agent pods", "open tunnels", "map services", "read environment", "connected"]);
  expect(await apiAnswer()).toBe("workstation");

  const stopped = await sendCommand(next.socket, "session:stop", { sessionId: id }, 90_000);
  expect(stopped.ok && stopped.data).toMatchObject({ state: "ended", outcome: "disconnected" });
  expect(spec()).toStrictEqual(original);
  expect(kbridgeObjects()).toEqual([]);
  expect(journal()).toEqual([]);
}, 180_000);

test("an interrupted session can be cleaned instead; one the cluster restored by itself is reported so", async () => {
  const original = spec();
  const cleaned = await connectApi(client ?? (await startHelper()), 60);
  await killHelper();
  let next = await startHelper();
  await session(next, cleaned, (v) => v.state === "interrupted" && /Resume it/.test(v.note ?? ""), "the session reported as interrupted");
  const stopped = await sendCommand(next.socket, "session:stop", { sessionId: cleaned }, 90_000);
  expect(stopped.ok && stopped.data).toMatchObject({ state: "ended", outcome: "cleaned" });
  expect(spec()).toStrictEqual(original);
  expect(kbridgeObjects()).toEqual([]);

  // The restorer's dead-man (5 s) runs out while no helper runs.
  const restored = await connectApi(next, 5);
  await killHelper();
  await until(() => kbridgeObjects().length === 0, "the restorer to restore the cluster", 60_000);
  next = await startHelper();
  const view = await session(next, restored, (v) => v.state === "ended", "the session reported as restored by the cluster");
  expect(view).toMatchObject({ outcome: "restored-by-cluster", profileId: 7 });
  expect(spec()).toStrictEqual(original);
  expect(journal()).toEqual([]);
  await waitForDemo(cluster);
  expect(await apiAnswer()).toMatch(/^api-/);
}, 180_000);

test("a connected session whose objects are removed from elsewhere (kbridge clean on another machine) ends as restored by the cluster", async () => {
  const connection = client ?? (await startHelper());
  const id = await connectApi(connection, 6);
  await restoreSession(openCluster([env.KUBECONFIG as string], "kbridge-demo"), "shop", id);
  const view = await session(connection, id, (v) => v.state === "ended", "the helper to notice within a heartbeat");
  expect(view).toMatchObject({ outcome: "restored-by-cluster", note: expect.stringMatching(/disappeared from the cluster/) });
  expect(journal()).toEqual([]);
}, 120_000);

test("an isolated session left by a killed helper keeps its key and URL, and resumes with its routes", async () => {
  const services = () => cluster.store.list(kind("Service"), "shop").map((o) => ({ name: o.metadata.name, annotations: o.metadata.annotations, spec: o.spec }));
  const before = services();
  const keyed = async () => (JSON.parse((await viaIngress(cluster, "/status", { "kubernetes-route-as": "erin-0e0e" })).body) as { api: string }).api;
  // The helper an earlier test left running goes first (same home and port).
  client?.socket.close();
  await helper?.stop();
  helper = undefined;
  const first = await startHelper();
  const id = await connectApi(first, 60, { routingKey: "erin-0e0e" });
  expect(await keyed()).toBe("workstation");
  expect(await apiAnswer()).toMatch(/^api-/);
  await killHelper();

  const next = await startHelper();
  const interrupted = await session(next, id, (v) => v.state === "interrupted" && /Resume it/.test(v.note ?? ""), "the isolated session reported as interrupted");
  expect(interrupted.isolation).toMatchObject({ routingKey: "erin-0e0e", routed: ["api", "web"], urls: [expect.stringMatching(/^http:\/\/erin-0e0e\.shop\.kbridge\.test/)] });
  expect((await sendCommand(next.socket, "session:resume", { sessionId: id })).ok).toBe(true);
  await session(next, id, (v) => v.state === "connected", "the resumed isolated session to connect");
  expect(await keyed()).toBe("workstation");
  expect(await apiAnswer()).toMatch(/^api-/);
  expect((await sendCommand(next.socket, "session:stop", { sessionId: id }, 90_000)).ok).toBe(true);
  expect(services()).toStrictEqual(before);
  expect(kbridgeObjects()).toEqual([]);
}, 180_000);

/** `kbridge status` as a user runs it, against the test's helper. */
async function statusText(): Promise<string> {
  const child = spawn(process.execPath, ["bin/kbridge.js", "status"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  await new Promise((resolve) => child.on("exit", resolve));
  return output;
}

test("the restorer restores after the next helper started: within 10 s, status and the session's view say restored by the cluster", async () => {
  const original = spec();
  client?.socket.close();
  await helper?.stop();
  helper = undefined;
  const id = await connectApi(await startHelper(), 5);
  await killHelper();
  // The next helper starts at once: the session is interrupted, its restorer not yet done (5 s of silence).
  const next = await startHelper();
  await session(next, id, (v) => v.state === "interrupted" && /Resume it/.test(v.note ?? ""), "the session reported as interrupted");
  await until(() => kbridgeObjects().length === 0, "the restorer to restore the cluster", 60_000);
  const restoredAt = Date.now();
  const view = await session(next, id, (v) => v.state === "ended", "the session reported as restored by the cluster");
  expect(view).toMatchObject({ outcome: "restored-by-cluster", note: "The cluster restored service/api by itself after the helper stopped." });
  expect(Date.now() - restoredAt).toBeLessThan(10_000);
  expect(await statusText()).toContain(`session ${id}: ended (restored-by-cluster), service/api in shop`);
  expect(spec()).toStrictEqual(original);
  await waitForDemo(cluster);
}, 120_000);

test("a session that ends as its helper stops (SIGTERM) is listed by the next helper as ended, for the profile's history", async () => {
  const original = spec();
  const id = await connectApi(client ?? (await startHelper()), 30);
  client?.socket.close();
  expect(await helper?.stop(60_000)).toBe(0);
  helper = undefined;
  expect(spec()).toStrictEqual(original);
  const next = await startHelper();
  const view = await session(next, id, (v) => v.state === "ended", "the ended session listed by the next helper");
  expect(view).toMatchObject({ outcome: "disconnected", profileId: 7, target: { kind: "service", name: "api" } });
  expect(journal()).toEqual([]);
}, 120_000);

test("a launched process that exits, or a workstation port nothing listens on, is a visible problem of the session", async () => {
  const connection = client ?? (await startHelper());
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const refusedPort = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const started = await sendCommand(connection.socket, "session:start", {
    kubeContext: "kbridge-demo",
    namespace: "shop",
    targetKind: "service",
    targetName: "api",
    ports: [{ port: 80, workstationPort: refusedPort }],
    privilegeMode: "unprivileged",
    launch: { command: `node -e "process.exit(3)"`, cwd: dir },
  });
  if (!started.ok) throw new Error(started.error.message);
  const id = started.data.id;
  const exited = await session(connection, id, (v) => v.problems?.some((p) => p.code === "process-exited") ?? false, "the process's exit as a problem");
  expect(exited.state).toBe("connected");
  expect(exited.problems?.find((p) => p.code === "process-exited")?.message).toBe(`Cluster traffic to service/api is failing: node -e "process.exit(3)" exited with code 3. Restart it, or start your process yourself.`);
  // Its grace for starting is over once it exited: nothing listens on the port the cluster's traffic goes to.
  const refused = await session(connection, id, (v) => v.problems?.some((p) => p.code === "workstation-refused") ?? false, "the refused port as a problem");
  expect(refused.problems?.find((p) => p.code === "workstation-refused")?.message).toBe(`Cluster traffic to service/api is failing: nothing listens on 127.0.0.1:${refusedPort} (ECONNREFUSED).`);
  expect(await statusText()).toContain(`problem: Cluster traffic to service/api is failing: nothing listens on 127.0.0.1:${refusedPort} (ECONNREFUSED).`);
  // Something listens there now: the problem goes.
  const listening = http.createServer((_req, res) => res.end("{}"));
  await new Promise<void>((resolve) => listening.listen(refusedPort, "127.0.0.1", resolve));
  try {
    await session(connection, id, (v) => !v.problems?.some((p) => p.code === "workstation-refused"), "the refused-port problem to clear");
  } finally {
    listening.close();
  }
  expect((await sendCommand(connection.socket, "session:stop", { sessionId: id })).ok).toBe(true);
}, 120_000);
