/**
 * `kbridge connect` as a user runs it — a developer holding `edit` in the namespace, where an
 * administrator ran `kbridge setup` (the developer's context is current): steps printed,
 * traffic redirected, Ctrl-C restores. `kbridge check` and `setup` as both.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { parseEnv } from "node:util";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";
import { DEVELOPER_CONTEXT, startTestCluster, type TestCluster } from "../../test/cluster/cluster.ts";
import { kind } from "../../test/cluster/controllers/objects.ts";
import { demoImages, installDemo, viaIngress, waitForDemo } from "../../test/cluster/demo/demoApp.ts";
import { isAlive } from "../../test/support/kbridgeProcess.ts";
import { freePort } from "../../test/support/ports.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";
import { runHelper, type RunningHelper } from "../server/runHelper.ts";

const dir = tempDir("cli-connect");
let cluster: TestCluster;
let helper: RunningHelper;
let env: Record<string, string>;
let workstation: http.Server;

beforeAll(async () => {
  cluster = await startTestCluster({ images: [demoImages], backoffBaseMs: 500 });
  installDemo(cluster, { setup: true });
  await waitForDemo(cluster);
  const kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"), { developerNamespace: "shop", context: DEVELOPER_CONTEXT });
  env = { KBRIDGE_HOME: path.join(dir, "home"), KUBECONFIG: kubeconfig, KBRIDGE_HELPER_PORT: String(await freePort()), KBRIDGE_HOSTS_FILE: String(process.env.KBRIDGE_HOSTS_FILE) };
  helper = await runHelper(env);
  workstation = http.createServer((_req, res) => res.end(JSON.stringify({ pod: "workstation", items: [], store: "none" })));
  await new Promise<void>((resolve) => workstation.listen(0, "127.0.0.1", resolve));
}, 60_000);
afterAll(async () => {
  workstation?.close();
  await helper?.sessions.stopAll();
  await helper?.close();
  await cluster?.stop();
});

// A test that fails half-way leaves its connect running: end it, so the next test starts from a restored cluster.
const running = new Set<ReturnType<typeof spawn>>();
afterEach(async () => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGINT");
    const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    await new Promise((resolve) => child.once("exit", resolve));
    clearTimeout(killer);
  }
  running.clear();
});

function cli(args: string[]) {
  const child = spawn(process.execPath, ["bin/kbridge.js", ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const output = { stdout: "", stderr: "" };
  child.stdout.on("data", (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output.stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  running.add(child);
  return { child, output, exited };
}

test("connect prints each step, redirects the service until Ctrl-C, then restores", async () => {
  const before = cluster.store.get(kind("Deployment"), "shop", "api").spec;
  const port = (workstation.address() as AddressInfo).port;
  const run = cli(["connect", "--context", "kbridge-demo-developer", "--namespace", "shop", "--service", "api", "--local-port", String(port)]);
  await until(() => run.output.stdout.includes("Connected:"), () => `the connect:\n${run.output.stdout}${run.output.stderr}`, 45_000);
  expect(run.output.stdout).toMatch(/✓ resolve target \(\d+ ms\): Deployment api, container api \(only container\), 2 replica\(s\)\n✓ preflight \(\d+ ms\): 6 checks passed in \d+ ms; the restorer runs as kbridge-restorer\n✓ deploy agent[\s\S]*✓ wait for agent pods[\s\S]*✓ open tunnels \(\d+ ms\): 2 inbound, 1 outbound\n/);
  expect(JSON.parse((await viaIngress(cluster, "/status")).body).api).toBe("workstation");
  expect(run.output.stdout).toMatch(/✓ map services \(\d+ ms\): \d+ cluster service\(s\) on 127\.1\.x addresses, named in .*\n✓ read environment \(\d+ ms\): \d+ variables, 1 from secrets\n/);

  // The pod's environment for the workstation process, as JSON and as an owner-only .env file.
  const json = cli(["env", "--format", "json"]);
  expect(await json.exited).toBe(0);
  const environment = JSON.parse(json.output.stdout) as Record<string, string>;
  expect(environment).toMatchObject({ GREETING: "Welcome", API_TOKEN: "demo-token-not-secret", GRPC_DNS_RESOLVER: "native", WEB_SERVICE_HOST: expect.stringMatching(/^127\.1\./) });
  expect(environment, "a headless service has no service variables").not.toHaveProperty("STORE_SERVICE_HOST");
  const file = path.join(dir, "api.env");
  const dotenv = cli(["env", "--output", file]);
  expect(await dotenv.exited).toBe(0);
  expect(dotenv.output.stdout).toMatch(/^Wrote \d+ variables to .*api\.env \(owner-only: it holds secrets\)\.\n$/);
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  expect(parseEnv(fs.readFileSync(file, "utf8"))).toMatchObject({ GREETING: "Welcome", API_TOKEN: "demo-token-not-secret" });
  // An existing world-readable file is replaced, never written: the secrets land only in a file that was 0600 from its creation.
  fs.writeFileSync(file, "old\n", { mode: 0o644 });
  fs.chmodSync(file, 0o644);
  const held = fs.openSync(file, "r");
  const again = cli(["env", "--output", file]);
  expect(await again.exited).toBe(0);
  expect(fs.readFileSync(held, "utf8")).toBe("old\n");
  fs.closeSync(held);
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  // A repository's .env that links elsewhere is refused, and where it leads is untouched.
  const victim = path.join(dir, "victim.txt");
  fs.writeFileSync(victim, "mine\n", { mode: 0o644 });
  const linked = path.join(dir, "linked.env");
  fs.symlinkSync(victim, linked);
  const refused = cli(["env", "--output", linked]);
  expect(await refused.exited).toBe(1);
  expect(refused.output.stderr).toBe(`kbridge: ${linked} is a symbolic link (to ${victim}); kbridge writes the environment, which holds secrets, only to a regular file.\n  Remove it, or choose another --output file.\n`);
  expect([fs.readFileSync(victim, "utf8"), fs.statSync(victim).mode & 0o777]).toEqual(["mine\n", 0o644]);

  run.child.kill("SIGINT");
  expect(await run.exited).toBe(0);
  expect(run.output.stdout).toMatch(/Disconnecting and restoring the cluster…\n✓ restore \(\d+ ms\): deployment\/api is back and ready; the session's objects are gone\nRestored service\/api\.\n$/);
  // A normal end says nothing about losing the helper.
  expect(run.output.stderr).not.toContain("lost the helper");
  expect(cluster.store.get(kind("Deployment"), "shop", "api").spec).toStrictEqual(before);
});

test("connect -- COMMAND runs the workstation process with the pod's environment, shows its output, and stops it on Ctrl-C", async () => {
  const port = await freePort();
  // The developer's api: answers with its environment's GREETING and the store it would call.
  const server = `require("http").createServer((q, s) => s.end(JSON.stringify({ pod: "launched", items: [], store: "none", greeting: process.env.GREETING, storeHost: process.env.STORE_URL ?? "store" }))).listen(${port}, () => console.log("api up on", ${port}, "greeting", process.env.GREETING)); console.error("a line on stderr");`;
  const run = cli(["connect", "--context", "kbridge-demo-developer", "--namespace", "shop", "--service", "api", "--local-port", String(port), "--no-hosts", "--", "node", "-e", server]);
  await until(() => run.output.stdout.includes(`api up on ${port} greeting`), () => `the launched process:\n${run.output.stdout}${run.output.stderr}`, 45_000);
  expect(run.output.stdout).toMatch(/Started node -e '.*' \(pid \d+\) in .* with the pod's environment\.\n/);
  expect(run.output.stdout).toContain(`api up on ${port} greeting Welcome\n`);
  expect(run.output.stderr).toContain("a line on stderr\n");
  expect(run.output.stdout).toMatch(/✓ map services \(\d+ ms\): \d+ cluster service\(s\) on 127\.0\.0\.1 ports\n/);
  const status = JSON.parse((await viaIngress(cluster, "/status")).body) as { api: string; greeting: string };
  expect(status).toMatchObject({ api: "launched", greeting: "Welcome" });
  const first = Number(/\(pid (\d+)\)/.exec(run.output.stdout)?.[1]);
  // kbridge restart: the process stops (the session stays) and starts again.
  const restart = cli(["restart"]);
  expect(await restart.exited).toBe(0);
  expect(restart.output.stdout).toMatch(/^Restarted node -e /);
  await until(() => (run.output.stdout.match(/Started node -e/g) ?? []).length === 2, "the process started again");
  const pid = Number([...run.output.stdout.matchAll(/\(pid (\d+)\)/g)].at(-1)?.[1]);
  expect(pid).not.toBe(first);
  expect(isAlive(first)).toBe(false);
  run.child.kill("SIGINT");
  expect(await run.exited).toBe(0);
  expect(isAlive(pid), "the launched process is stopped").toBe(false);
  expect(fs.readFileSync(String(process.env.KBRIDGE_HOSTS_FILE), "utf8")).not.toContain("kbridge begin");
});

test("kbridge disconnect ends a connect running in another terminal", async () => {
  const before = cluster.store.get(kind("Deployment"), "shop", "api").spec;
  const run = cli(["connect", "--context", "kbridge-demo-developer", "--namespace", "shop", "--service", "api", "--local-port", `80:${(workstation.address() as AddressInfo).port}`]);
  await until(() => run.output.stdout.includes("Connected:"), () => `the connect:\n${run.output.stdout}${run.output.stderr}`, 45_000);
  const id = /Session (\w+):/.exec(run.output.stdout)?.[1];
  const disconnect = cli(["disconnect"]);
  expect(await disconnect.exited).toBe(0);
  expect(disconnect.output.stdout).toBe(`Session ${id} ended; service/api in shop restored.\n`);
  expect(await run.exited).toBe(0);
  expect(run.output.stdout).toMatch(/ended elsewhere/);
  expect(cluster.store.get(kind("Deployment"), "shop", "api").spec).toStrictEqual(before);
});

test("kbridge clean restores and removes what a crashed helper left", async () => {
  const before = cluster.store.get(kind("Deployment"), "shop", "api").spec;
  const crashed = spawn(process.execPath, ["--import", "tsx", "test/support/connectedHelper.ts"], {
    env: { ...process.env, KUBECONFIG: env.KUBECONFIG, TARGET_NAMESPACE: "shop", TARGET_NAME: "api", SERVICE_PORT: "80", WORKSTATION_PORT: String((workstation.address() as AddressInfo).port), DEADMAN_SECONDS: "600" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  crashed.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  await until(() => output.includes("CONNECTED"), "the crashing helper to connect", 45_000);
  crashed.kill("SIGKILL");
  const clean = cli(["clean", "--context", "kbridge-demo-developer", "--namespace", "shop"]);
  expect(await clean.exited).toBe(0);
  // The developer may not list Roles: clean says so (the setup's restorer needs none of its own).
  expect(clean.output.stdout).toBe("Removed 1 session(s) from shop; restored deployment/api.\nNot checked: RoleBinding, Role objects (you may not list them in shop); someone who may can run kbridge clean for those.\n");
  expect(cluster.store.get(kind("Deployment"), "shop", "api").spec).toStrictEqual(before);
  expect(cluster.store.all().filter(({ object }) => object.metadata.labels?.["app.kubernetes.io/managed-by"] === "kbridge")).toEqual([]);
  const again = cli(["clean", "--context", "kbridge-demo-developer", "--namespace", "shop"]);
  expect(await again.exited).toBe(0);
  expect(again.output.stdout).toMatch(/^Nothing of kbridge in namespace shop\.\nNot checked: RoleBinding, Role/);
});

test("bad input fails with the reason and what to do, and changes nothing", async () => {
  const unknown = cli(["connect", "--context", "kbridge-demo-developer", "--namespace", "shop", "--service", "nope", "--local-port", "3000"]);
  expect(await unknown.exited).toBe(1);
  expect(unknown.output.stderr).toMatch(/There is no service "nope" in namespace "shop"[\s\S]*kubectl get services -n shop/);
  const usage = cli(["connect", "--namespace", "shop", "--service", "api"]);
  expect(await usage.exited).toBe(1);
  expect(usage.output.stderr).toMatch(/missing --context, --local-port/);
  // The session commands, with nothing to act on: what is missing and what to do.
  const env = cli(["env"]);
  expect(await env.exited).toBe(1);
  expect(env.output.stderr).toBe("kbridge: No session is connected.\n  Connect first (kbridge connect), then ask again.\n");
  const format = cli(["env", "--format", "xml"]);
  expect(await format.exited).toBe(2);
  expect(format.output.stderr).toBe('kbridge env: --format must be one of dotenv, json, sh (got "xml")\n');
  const restart = cli(["restart"]);
  expect(await restart.exited).toBe(1);
  expect(restart.output.stderr).toMatch(/No connected session runs a workstation process\.\n {2}Start one with kbridge connect … -- COMMAND\./);
  const resume = cli(["resume"]);
  expect(await resume.exited).toBe(1);
  expect(resume.output.stderr).toMatch(/No interrupted sessions to resume\./);
  expect(cluster.store.all().filter(({ object }) => object.metadata.labels?.["app.kubernetes.io/managed-by"] === "kbridge")).toEqual([]);
});

test("connect --isolate prints the personal URL; only requests with the key reach the workstation; Ctrl-C puts the Services back", async () => {
  const services = () => cluster.store.list(kind("Service"), "shop").map((s) => ({ name: s.metadata.name, annotations: s.metadata.annotations, spec: s.spec }));
  const before = services();
  const port = (workstation.address() as AddressInfo).port;
  const run = cli(["connect", "--context", "kbridge-demo-developer", "--namespace", "shop", "--service", "api", "--local-port", String(port), "--isolate", "--routing-key", "dana-0d0d"]);
  await until(() => run.output.stdout.includes("Try: curl"), () => `the isolated connect:\n${run.output.stdout}${run.output.stderr}`, 45_000);
  expect(run.output.stdout).toMatch(/✓ route requests \(\d+ ms\): routers in front of api, web; personal URL\(s\) http:\/\/dana-0d0d\.shop\.kbridge\.test/);
  expect(run.output.stdout).toContain("Connected, isolated as dana-0d0d");
  expect(run.output.stdout).toMatch(/Your personal URL\(s\), for anyone on the team:\n {2}http:\/\/dana-0d0d\.shop\.kbridge\.test(:\d+)?\/\n/);
  expect(JSON.parse((await viaIngress(cluster, "/status", { host: "dana-0d0d.shop.kbridge.test" })).body).api).toBe("workstation");
  expect(JSON.parse((await viaIngress(cluster, "/status")).body).api).toMatch(/^api-/);
  run.child.kill("SIGINT");
  expect(await run.exited).toBe(0);
  expect(services()).toStrictEqual(before);
}, 90_000);

test("--routing-key without --isolate is refused with what to do", async () => {
  const run = cli(["connect", "--context", "kbridge-demo-developer", "--namespace", "shop", "--service", "api", "--local-port", "1", "--routing-key", "x-0000"]);
  expect(await run.exited).not.toBe(0);
  expect(run.output.stderr).toContain("--routing-key goes with --isolate");
});

test("kbridge check reports each check, and as the developer names the missing setup; kbridge setup adds it", async () => {
  // The administrator takes the setup away first.
  const taken = cli(["setup", "--context", "kbridge-demo", "--namespace", "shop", "--remove"]);
  expect(await taken.exited).toBe(0);
  const passed = cli(["check", "--context", "kbridge-demo", "--namespace", "shop", "--service", "api"]);
  expect(await passed.exited).toBe(0);
  expect(passed.output.stdout).toMatch(/^✓ rights: [\s\S]*✓ restorer identity: each session makes its own restorer[\s\S]*✓ agent image: node:22-alpine was pulled and runs node\n7 of 7 checks passed in \d+ ms; nothing was changed\.\n$/);
  const developer = cli(["check", "--context", "kbridge-demo-developer", "--namespace", "shop", "--service", "api"]);
  expect(await developer.exited).toBe(1);
  expect(developer.output.stdout).toContain("✗ restorer identity: kbridge's restorer needs an identity in namespace shop");
  expect(developer.output.stdout).toContain("    fix: Ask someone who may create Roles there to run once: kbridge setup --context kbridge-demo-developer --namespace shop");
  const setup = cli(["setup", "--context", "kbridge-demo", "--namespace", "shop"]);
  expect(await setup.exited).toBe(0);
  expect(setup.output.stdout).toBe("Set up shop: ServiceAccount/kbridge-restorer, Role/kbridge-restorer, RoleBinding/kbridge-restorer, ServiceAccount/kbridge-router, Role/kbridge-router, RoleBinding/kbridge-router. Developers with edit there can now connect.\n");
  const after = cli(["check", "--context", "kbridge-demo-developer", "--namespace", "shop", "--service", "api"]);
  expect(await after.exited).toBe(0);
  expect(after.output.stdout).toContain("✓ restorer identity: the restorer runs as ServiceAccount kbridge-restorer (kbridge setup)");
  const removed = cli(["setup", "--context", "kbridge-demo", "--namespace", "shop", "--remove"]);
  expect(await removed.exited).toBe(0);
  const printed = cli(["setup", "--namespace", "shop", "--print"]);
  expect(await printed.exited).toBe(0);
  expect(printed.output.stdout).toContain("kind: RoleBinding");
  expect(printed.output.stdout).not.toContain("rbac.authorization.k8s.io\n    resources:\n      - roles");
});
