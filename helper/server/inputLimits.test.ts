/**
 * What a client may send, and what the helper keeps: oversized names and commands are refused
 * with the field that is too long (never copied into logs); failed sessions do not pile up, and
 * keep what they were asked to launch.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { freePort } from "../../test/support/ports.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";
import { sendCommand } from "../client/helperSocket.ts";
import { connectToHelper, type CliConnection } from "../cli/helperConnection.ts";
import { KEEP_FINISHED } from "../sessions/sessionManager.ts";
import { runHelper, type RunningHelper } from "./runHelper.ts";

const dir = tempDir("input-limits");
let helper: RunningHelper;
let client: CliConnection;
const home = path.join(dir, "home");

beforeAll(async () => {
  const kubeconfig = path.join(dir, "kubeconfig");
  fs.writeFileSync(kubeconfig, JSON.stringify({ apiVersion: "v1", kind: "Config", clusters: [], users: [], contexts: [{ name: "dev", context: { cluster: "none", user: "none" } }], "current-context": "dev" }));
  const env = { KBRIDGE_HOME: home, KUBECONFIG: kubeconfig, KBRIDGE_HELPER_PORT: String(await freePort()), KBRIDGE_HOSTS_FILE: String(process.env.KBRIDGE_HOSTS_FILE) };
  helper = await runHelper(env);
  client = await connectToHelper(env);
});
afterAll(async () => {
  client?.socket.close();
  await helper?.close();
});

const start = (fields: Record<string, unknown>) => sendCommand(client.socket, "session:start", { kubeContext: "nope", namespace: "shop", targetKind: "service", targetName: "api", ports: [{ port: 80, workstationPort: 3000 }], ...fields } as never);

test("a 500 KB name or command is refused naming the field, and goes into no log", async () => {
  const huge = "x".repeat(500 * 1024);
  const byName = await start({ targetName: huge });
  expect(byName.ok || byName.error.fields).toEqual({ targetName: "Target name must be at most 253 characters" });
  const byCommand = await start({ launch: { command: huge, cwd: dir } });
  expect(byCommand.ok || byCommand.error.fields).toEqual({ "launch.command": "The launch command must be at most 8192 characters" });
  const logs = path.join(home, "logs");
  const written = fs.readdirSync(logs).reduce((bytes, file) => bytes + fs.statSync(path.join(logs, file)).size, 0);
  expect(written).toBeLessThan(64 * 1024);
});

test(`failed sessions do not pile up: the helper keeps the latest ${KEEP_FINISHED}`, async () => {
  const ids: string[] = [];
  for (let i = 0; i < KEEP_FINISHED + 10; i++) {
    const started = await start({});
    if (!started.ok) throw new Error(started.error.message);
    ids.push(started.data.id);
    await until(async () => {
      const listed = await sendCommand(client.socket, "session:list", {});
      return listed.ok && listed.data.find((s) => s.id === started.data.id)?.state === "failed";
    }, "the connect to fail (no such context)");
  }
  const listed = await sendCommand(client.socket, "session:list", {});
  if (!listed.ok) throw new Error(listed.error.message);
  expect(listed.data.map((s) => s.id)).toEqual(ids.slice(-KEEP_FINISHED));
});

test("a session that fails before connecting keeps its launch command, as never started", async () => {
  const started = await start({ launch: { command: "node server.js", cwd: dir } });
  if (!started.ok) throw new Error(started.error.message);
  expect(started.data.process).toEqual({ command: "node server.js", cwd: dir, state: "waiting", restarts: 0 });
  const failed = await until(async () => {
    const listed = await sendCommand(client.socket, "session:list", {});
    return listed.ok && listed.data.find((s) => s.id === started.data.id && s.state === "failed");
  }, "the connect to fail (no such context)");
  expect(failed.process).toEqual({ command: "node server.js", cwd: dir, state: "waiting", restarts: 0 });
});
