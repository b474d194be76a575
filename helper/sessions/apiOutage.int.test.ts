/**
 * An API-server outage ends no live session. Frozen for twice the dead-man interval with the
 * helper alive: the session holds and says so (its view and its log), its restorer does not
 * act, afterwards the traffic is still redirected, over one tunnel per agent pod and one
 * outbound; `kbridge connect` says when the outage starts and how long it lasted. The same
 * outage after a SIGKILL of the helper still ends in a restore, within 60 s of the API server
 * coming back.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type http from "node:http";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";
import type { TestCluster } from "../../test/cluster/cluster.ts";
import { kind } from "../../test/cluster/controllers/objects.ts";
import { startDemoCluster, viaIngress, waitForDemo } from "../../test/cluster/demo/demoApp.ts";
import { freePort } from "../../test/support/ports.ts";
import { connectedHelper, kbridgeObjects as objectsOf, workstationServer } from "../../test/support/restoreChecks.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";
import { sendCommand } from "../client/helperSocket.ts";
import { connectToHelper, type CliConnection } from "../cli/helperConnection.ts";
import type { SessionView } from "../protocol/index.ts";
import { runHelper, type RunningHelper } from "../server/runHelper.ts";

const dir = tempDir("api-outage");
const DEADMAN_S = 5;
let cluster: TestCluster;
let kubeconfig: string;
let helper: RunningHelper;
let client: CliConnection;
let workstation: http.Server;
let workstationPort: number;
let helperEnv: Record<string, string>;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  cluster = await startDemoCluster({ freezable: true });
  kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
  helperEnv = { KBRIDGE_HOME: path.join(dir, "home"), KUBECONFIG: kubeconfig, KBRIDGE_HELPER_PORT: String(await freePort()), KBRIDGE_HOSTS_FILE: String(process.env.KBRIDGE_HOSTS_FILE) };
  helper = await runHelper(helperEnv);
  client = await connectToHelper(helperEnv);
  ({ server: workstation, port: workstationPort } = await workstationServer());
}, 60_000);
afterEach(() => cluster.front?.thaw());
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  client?.socket.close();
  await helper?.sessions.stopAll();
  await helper?.close();
  workstation?.close();
  await cluster?.stop();
});

const spec = () => cluster.store.get(kind("Deployment"), "shop", "api").spec;
const apiAnswer = async () => (JSON.parse((await viaIngress(cluster, "/status")).body) as { api: string }).api;
const kbridgeObjects = () => objectsOf(cluster);
async function view(id: string): Promise<SessionView | undefined> {
  const listed = await sendCommand(client.socket, "session:list", {});
  return listed.ok ? listed.data.find((v) => v.id === id) : undefined;
}

test("frozen for twice the dead-man interval with the helper alive: the session holds, says so, and redirects afterwards over one tunnel per pod", async () => {
  const original = spec();
  const started = await sendCommand(client.socket, "session:start", {
    kubeContext: "kbridge-demo",
    namespace: "shop",
    targetKind: "service",
    targetName: "api",
    ports: [{ port: 80, workstationPort }],
    privilegeMode: "unprivileged",
    deadmanSeconds: DEADMAN_S,
  });
  if (!started.ok) throw new Error(started.error.message);
  const id = started.data.id;
  await until(async () => (await view(id))?.state === "connected", "the session to connect", 60_000);
  expect(await apiAnswer()).toBe("workstation");
  const agentSpec = spec();

  cluster.front?.freeze();
  const frozenAt = Date.now();
  const during = await until(async () => {
    const current = await view(id);
    return current?.problems?.find((p) => p.code === "cluster-unreachable") ? current : undefined;
  }, "the outage on the session's view", 15_000);
  expect(during.state).toBe("connected");
  expect(during.problems?.[0]?.message).toBe("The cluster does not answer; the session holds, and kbridge renews its heartbeat as soon as it does.");
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, 2 * DEADMAN_S * 1000 - (Date.now() - frozenAt))));
  cluster.front?.thaw();
  const thawedAt = Date.now();

  // The helper renews well within the restorer's interval after the outage: nothing is restored.
  await until(async () => (await view(id))?.problems === undefined, "the outage to clear from the view", 15_000);
  await until(async () => (await apiAnswer().catch(() => "")) === "workstation", "traffic redirected again", 30_000);
  const settle = Math.max(0, (DEADMAN_S + 3) * 1000 - (Date.now() - thawedAt));
  await new Promise((resolve) => setTimeout(resolve, settle));
  const after = await view(id);
  expect(after?.state).toBe("connected");
  expect(spec()).toStrictEqual(agentSpec);
  expect(await apiAnswer()).toBe("workstation");
  // One inbound tunnel per agent pod and one outbound, whatever the reopen loop did meanwhile.
  const agents = cluster.store.list(kind("Pod"), "shop").filter((p) => p.metadata.labels?.["kbridge.dev/session"] === id && p.metadata.labels?.["kbridge.dev/role"] === "agent" && !p.metadata.deletionTimestamp);
  const forwards = cluster.portForwards().filter((f) => agents.some((a) => a.metadata.name === f.pod));
  expect(forwards.filter((f) => f.ports.includes(47000)).map((f) => f.pod).sort()).toEqual(agents.map((a) => a.metadata.name).sort());
  expect(forwards.filter((f) => f.ports.includes(47001))).toHaveLength(1);
  expect(after?.tunnels?.inbound).toHaveLength(agents.length);
  const log = await sendCommand(client.socket, "session:logs", { sessionId: id });
  const lines = log.ok ? log.data.lines.map((l) => l.text) : [];
  expect(lines.some((l) => /^Cannot reach the cluster \(.+\); the session holds: its tunnels stay, and kbridge renews the heartbeat as soon as the cluster answers\.$/.test(l))).toBe(true);
  expect(lines.some((l) => /^The cluster answers again after \d+ s; the session held\.$/.test(l))).toBe(true);

  const stopped = await sendCommand(client.socket, "session:stop", { sessionId: id }, 120_000);
  expect(stopped.ok && stopped.data.state).toBe("ended");
  expect(spec()).toStrictEqual(original);
  expect(kbridgeObjects()).toEqual([]);
}, 180_000);

test("the same outage after a SIGKILL of the helper: restored within 60 s of the API server coming back, not before", async () => {
  const original = spec();
  const helper = connectedHelper(kubeconfig, { TARGET_NAME: "api", SERVICE_PORT: "80", WORKSTATION_PORT: String(workstationPort), DEADMAN_SECONDS: String(DEADMAN_S) });
  children.add(helper.child);
  await helper.connected();
  const agentSpec = spec();
  helper.child.kill("SIGKILL");
  cluster.front?.freeze();
  await new Promise((resolve) => setTimeout(resolve, 2 * DEADMAN_S * 1000));
  // Nobody could restore through a frozen API server; and nothing was half done.
  expect(spec()).toStrictEqual(agentSpec);
  cluster.front?.thaw();
  const thawedAt = Date.now();
  await until(() => isDeepStrictEqual(spec(), original) && kbridgeObjects().length === 0, "the restore after the API server came back", 60_000);
  console.log(`restored ${((Date.now() - thawedAt) / 1000).toFixed(1)} s after the API server came back (dead-man interval ${DEADMAN_S} s)`);
  await waitForDemo(cluster);
}, 120_000);

test("kbridge connect says when the cluster stops answering, and how long the outage lasted", async () => {
  const cli = spawn(process.execPath, ["bin/kbridge.js", "connect", "--context", "kbridge-demo", "--namespace", "shop", "--service", "api", "--local-port", String(workstationPort), "--no-hosts"], {
    env: { ...process.env, ...helperEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(cli);
  const output = { stdout: "", stderr: "" };
  cli.stdout.on("data", (chunk: Buffer) => (output.stdout += chunk.toString()));
  cli.stderr.on("data", (chunk: Buffer) => (output.stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => cli.on("exit", resolve));
  await until(() => output.stdout.includes("Connected:"), () => `the CLI to connect:\n${output.stdout}${output.stderr}`, 60_000);
  cluster.front?.freeze();
  await until(() => output.stderr.includes("kbridge: The cluster does not answer; the session holds, and kbridge renews its heartbeat as soon as it does.\n"), "the CLI to say the cluster does not answer", 30_000);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  cluster.front?.thaw();
  await until(() => /The cluster answers again after \d+ s; the session held\.\n/.test(output.stdout), "the CLI to say the outage is over", 30_000);
  cli.kill("SIGINT");
  expect(await exited).toBe(0);
  children.delete(cli);
  expect(kbridgeObjects()).toEqual([]);
}, 120_000);
