/**
 * One session per workload, three ways: the same helper asked twice, two helpers (one after
 * the other, and both at the same moment, 20 rounds), and the dashboard and the CLI. The second connect
 * is refused before anything changes, naming the session that holds the workload, its owner
 * and how to end it; an isolated connect to a replaced workload is refused too, and so is a
 * second connect to a bare Pod (by its name or its Service) whose agent stands in for it; and
 * after every disconnect the spec is the original, its pods ready.
 */
import { spawn } from "node:child_process";
import type http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { TestCluster } from "../../test/cluster/cluster.ts";
import { kind } from "../../test/cluster/controllers/objects.ts";
import { startDemoCluster, viaIngress, waitForDemo } from "../../test/cluster/demo/demoApp.ts";
import { hostnameImage, OTHER_WORKLOADS } from "../../test/cluster/support/hostnameImage.ts";
import { kubectlFor } from "../../test/cluster/support/kubectl.ts";
import { freePort } from "../../test/support/ports.ts";
import { deploymentReady, kbridgeObjects as objectsOf, workstationServer } from "../../test/support/restoreChecks.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";
import { sendCommand } from "../client/helperSocket.ts";
import { connectToHelper, type CliConnection } from "../cli/helperConnection.ts";
import type { SessionStart, SessionView } from "../protocol/index.ts";
import { runHelper, type RunningHelper } from "../server/runHelper.ts";

const dir = tempDir("one-session");
let cluster: TestCluster;
let kubeconfig: string;
let workstationPort: number;
const helpers: { helper: RunningHelper; client: CliConnection; env: Record<string, string> }[] = [];
let server: http.Server;
const owner = `${os.userInfo().username}@${os.hostname()}`;

beforeAll(async () => {
  cluster = await startDemoCluster({ images: [hostnameImage("echo")] });
  kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
  ({ server, port: workstationPort } = await workstationServer());
  for (const name of ["a", "b"]) {
    const env = { KBRIDGE_HOME: path.join(dir, name), KUBECONFIG: kubeconfig, KBRIDGE_HELPER_PORT: String(await freePort()), KBRIDGE_HOSTS_FILE: String(process.env.KBRIDGE_HOSTS_FILE) };
    const helper = await runHelper(env);
    helpers.push({ helper, client: await connectToHelper(env), env });
  }
}, 60_000);
afterAll(async () => {
  for (const { helper, client } of helpers) {
    client.socket.close();
    await helper.sessions.stopAll();
    await helper.close();
  }
  server?.close();
  await cluster?.stop();
});

const spec = () => cluster.store.get(kind("Deployment"), "shop", "api").spec;
const kbridgeObjects = () => objectsOf(cluster);
const podsReady = () => deploymentReady(cluster, "api");
const input = (extra: Partial<SessionStart> = {}): SessionStart => ({ kubeContext: "kbridge-demo", namespace: "shop", targetKind: "service", targetName: "api", ports: [{ port: 80, workstationPort }], privilegeMode: "unprivileged", ...extra });

async function start(client: CliConnection, extra: Partial<SessionStart> = {}): Promise<string> {
  const started = await sendCommand(client.socket, "session:start", input(extra));
  if (!started.ok) throw new Error(started.error.message);
  return started.data.id;
}
async function settled(client: CliConnection, id: string): Promise<SessionView> {
  return until(async () => {
    const listed = await sendCommand(client.socket, "session:list", {});
    const view = listed.ok ? listed.data.find((v) => v.id === id) : undefined;
    return view && ["connected", "failed", "ended"].includes(view.state) ? view : undefined;
  }, `session ${id} to connect or fail`, 60_000);
}
async function stop(client: CliConnection, id: string): Promise<void> {
  const stopped = await sendCommand(client.socket, "session:stop", { sessionId: id }, 120_000);
  expect(stopped.ok && stopped.data.state, stopped.ok ? "" : stopped.error.message).toBe("ended");
}
/** After a disconnect: the spec is the original, every pod ready, nothing of kbridge's left. */
async function restoredExactly(original: unknown, what: string): Promise<void> {
  expect(spec(), what).toStrictEqual(original);
  await until(podsReady, `${what}: api's pods ready`, 30_000);
  expect(kbridgeObjects(), what).toEqual([]);
  await waitForDemo(cluster);
  expect((JSON.parse((await viaIngress(cluster, "/status")).body) as { api: string }).api, what).toMatch(/^api-/);
}
function expectRefusal(view: SessionView, holder: string): void {
  expect(view.state).toBe("failed");
  expect(view.error?.code).toBe("workload-in-use");
  expect(view.error?.message).toMatch(new RegExp(`^deployment/api is already connected by session ${holder} of ${owner.replace(/[.]/g, "\\.")} since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC; a workload takes one session at a time\\.$`));
  expect(view.error?.hint).toContain(`kbridge disconnect --session ${holder}`);
  expect(view.error?.hint).toContain("--isolate");
}

test("the same helper asked twice: the second is refused, naming the first; the workload is left as the first has it", async () => {
  const original = spec();
  const { client } = helpers[0]!;
  const first = await start(client);
  expect((await settled(client, first)).state).toBe("connected");
  const held = spec();
  const objects = kbridgeObjects();
  const second = await start(client, { profileId: 7 });
  expectRefusal(await settled(client, second), first);
  // Refused before anything changed: the first session's agent and objects, nothing else.
  expect(spec()).toStrictEqual(held);
  expect(kbridgeObjects()).toEqual(objects);
  // An isolated connect would clone the agent: refused as well.
  const isolated = await start(client, { isolate: { routingKey: "erin-0e0e" } });
  expectRefusal(await settled(client, isolated), first);
  expect((JSON.parse((await viaIngress(cluster, "/status")).body) as { api: string }).api).toBe("workstation");
  await stop(client, first);
  await restoredExactly(original, "after the first's disconnect");
}, 120_000);

test("two helpers: one after the other, the second is refused; both at the same moment, exactly one connects, 20 rounds", async () => {
  const original = spec();
  const [a, b] = helpers as [(typeof helpers)[0], (typeof helpers)[0]];
  const first = await start(a.client);
  expect((await settled(a.client, first)).state).toBe("connected");
  const second = await start(b.client);
  expectRefusal(await settled(b.client, second), first);
  await stop(a.client, first);
  await restoredExactly(original, "after a's disconnect");

  for (let round = 1; round <= 20; round++) {
    const [idA, idB] = await Promise.all([start(a.client), start(b.client)]);
    const [viewA, viewB] = await Promise.all([settled(a.client, idA), settled(b.client, idB)]);
    const states = [viewA.state, viewB.state].sort();
    expect(states, `round ${round}: ${viewA.error?.message ?? ""} ${viewB.error?.message ?? ""}`).toEqual(["connected", "failed"]);
    const [winner, loser] = viewA.state === "connected" ? [{ ...a, view: viewA }, { ...b, view: viewB }] : [{ ...b, view: viewB }, { ...a, view: viewA }];
    expectRefusal(loser.view, winner.view.id);
    // The loser's own objects went with its rollback; the winner's are all there is.
    await until(() => kbridgeObjects().every((name) => name.includes(winner.view.id)), `round ${round}: only the winner's objects`, 30_000);
    expect((JSON.parse((await viaIngress(cluster, "/status")).body) as { api: string }).api).toBe("workstation");
    await stop(winner.client, winner.view.id);
    await restoredExactly(original, `round ${round}: after the winner's disconnect`);
  }
}, 600_000);

test("the dashboard and the CLI: whichever comes second is refused, the CLI saying why", async () => {
  const original = spec();
  const { client, env } = helpers[0]!;
  const cli = (args: string[]) => {
    const child = spawn(process.execPath, ["bin/kbridge.js", ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    const output = { stdout: "", stderr: "" };
    child.stdout.on("data", (chunk: Buffer) => (output.stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output.stderr += chunk.toString()));
    return { child, output, exited: new Promise<number | null>((resolve) => child.on("exit", resolve)) };
  };
  const args = ["connect", "--context", "kbridge-demo", "--namespace", "shop", "--service", "api", "--local-port", String(workstationPort), "--no-hosts"];

  // The CLI first, then the dashboard's Connect (a profile's session:start).
  const run = cli(args);
  await until(() => run.output.stdout.includes("Connected:"), () => `the CLI to connect:\n${run.output.stdout}${run.output.stderr}`, 60_000);
  const fromCli = /Session (\w+): connecting/.exec(run.output.stdout)?.[1] ?? "";
  const dashboard = await start(client, { profileId: 7 });
  expectRefusal(await settled(client, dashboard), fromCli);
  run.child.kill("SIGINT");
  expect(await run.exited).toBe(0);
  await restoredExactly(original, "after the CLI's Ctrl-C");

  // The dashboard first, then the CLI: refused, the CLI printing whose session it is, and exiting 1.
  const fromDashboard = await start(client, { profileId: 7 });
  expect((await settled(client, fromDashboard)).state).toBe("connected");
  const refused = cli(args);
  expect(await refused.exited).toBe(1);
  expect(refused.output.stderr).toContain(`kbridge: deployment/api is already connected by session ${fromDashboard} of ${owner}`);
  expect(refused.output.stderr).toContain(`kbridge disconnect --session ${fromDashboard}`);
  await stop(client, fromDashboard);
  await restoredExactly(original, "after the dashboard's disconnect");
}, 180_000);

test("a bare Pod's stand-in: a second connect, by the pod's name or by its Service, is refused naming the first", async () => {
  expect((await kubectlFor(kubeconfig)(["apply", "-f", "-"], { stdin: OTHER_WORKLOADS })).code).toBe(0);
  const solo = () => cluster.store.find(kind("Pod"), "shop", "solo");
  const ready = () => (solo()?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
  await until(ready, "pod solo ready", 30_000);
  const before = solo()?.spec;
  const { client } = helpers[0]!;
  const first = await start(client, { targetKind: "pod", targetName: "solo", ports: [{ port: 8080, workstationPort }] });
  expect((await settled(client, first)).state).toBe("connected");
  for (const [targetKind, targetName, port] of [
    ["pod", "solo", 8080],
    ["service", "solo", 80],
  ] as const) {
    const second = await start(helpers[1]!.client, { targetKind, targetName, ports: [{ port, workstationPort }] });
    const view = await settled(helpers[1]!.client, second);
    expect(view.state, `${targetKind} ${targetName}`).toBe("failed");
    expect(view.error?.code, `${targetKind} ${targetName}`).toBe("workload-in-use");
    expect(view.error?.message, `${targetKind} ${targetName}`).toMatch(new RegExp(`^pod/solo is already connected by session ${first} of `));
  }
  await stop(client, first);
  await until(ready, "pod solo back and ready", 30_000);
  expect(solo()?.spec).toStrictEqual(before);
  expect(kbridgeObjects()).toEqual([]);
}, 120_000);
