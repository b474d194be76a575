/**
 * SIGKILL of the helper at each step of a connect, five times each (at the step's start and a
 * few milliseconds into it): once the next helper has started on the same kbridge home (as
 * `npm start` starts it again), the cluster ends exactly as it was — the Deployment's spec and
 * the Services as before, every pod ready, nothing of kbridge's left — and the next helper
 * says how the session ended.
 */
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { TestCluster } from "../../test/cluster/cluster.ts";
import { kind } from "../../test/cluster/controllers/objects.ts";
import { startDemoCluster, waitForDemo } from "../../test/cluster/demo/demoApp.ts";
import { startHelperProcess, type Started } from "../../test/support/kbridgeProcess.ts";
import { freePort } from "../../test/support/ports.ts";
import { deploymentReady, kbridgeObjects } from "../../test/support/restoreChecks.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";
import { sendCommand } from "../client/helperSocket.ts";
import type { CliConnection } from "../cli/helperConnection.ts";
import type { SessionView } from "../protocol/index.ts";

const dir = tempDir("kill-during-connect");
let cluster: TestCluster;
let env: Record<string, string>;
let helper: Started | undefined;
let client: CliConnection | undefined;

beforeAll(async () => {
  cluster = await startDemoCluster();
  env = { KBRIDGE_HOME: path.join(dir, "home"), KUBECONFIG: cluster.writeKubeconfig(path.join(dir, "kubeconfig")), KBRIDGE_HELPER_PORT: String(await freePort()), KBRIDGE_HOSTS_FILE: String(process.env.KBRIDGE_HOSTS_FILE) };
}, 60_000);
afterAll(async () => {
  client?.socket.close();
  await helper?.stop();
  await cluster?.stop();
});

async function startHelper(): Promise<CliConnection> {
  ({ helper, client } = await startHelperProcess(env));
  return client;
}

const STEPS = ["resolve target", "preflight", "deploy agent", "wait for agent pods", "open tunnels", "map services", "read environment", "connected"];
const DELAYS_MS = [0, 2, 5, 15, 40];

/** What must be as it was: the Deployment's spec, the Services, and no object of kbridge's. */
const snapshot = () => ({
  api: cluster.store.get(kind("Deployment"), "shop", "api").spec,
  services: cluster.store.list(kind("Service"), "shop").map((s) => ({ name: s.metadata.name, annotations: s.metadata.annotations, spec: s.spec })),
  kbridge: kbridgeObjects(cluster),
});
const podsReady = () => deploymentReady(cluster, "api");

test("SIGKILL of the helper at each connect step, 5 runs each: the cluster ends exactly as it was", async () => {
  const before = snapshot();
  const outcomes: string[] = [];
  let connection = await startHelper();
  for (const step of STEPS) {
    for (const delay of DELAYS_MS) {
      const label = `killed at "${step}" + ${delay} ms`;
      // The kill comes from the test the moment the helper reports the step.
      const reached = new Promise<void>((resolve) => {
        connection.socket.on("session:updated", (view: SessionView) => {
          if (view.steps.some((s) => s.name === step)) resolve();
        });
      });
      const started = await sendCommand(connection.socket, "session:start", {
        kubeContext: "kbridge-demo",
        namespace: "shop",
        targetKind: "service",
        targetName: "api",
        ports: [{ port: 80, workstationPort: 1 }],
        privilegeMode: "unprivileged",
        deadmanSeconds: 3,
      });
      if (!started.ok) throw new Error(`${label}: ${started.error.message}`);
      await reached;
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      connection.socket.close();
      process.kill(-(helper?.child.pid as number), "SIGKILL");
      await helper?.exited;
      connection = await startHelper();
      await until(() => isDeepStrictEqual(snapshot(), before) && podsReady(), `${label}: the cluster as it was`, 60_000).catch((error: Error) => {
        throw new Error(`${error.message}\nleft: ${JSON.stringify(snapshot().kbridge)}`, { cause: error });
      });
      const view = await until(async () => {
        const listed = await sendCommand(connection.socket, "session:list", {});
        const found = listed.ok ? listed.data.find((v) => v.id === started.data.id) : undefined;
        return found && (found.state === "ended" || found.state === "failed") ? found : undefined;
      }, `${label}: the next helper to settle the session`, 30_000);
      // Never connected: cleaned (or nothing had changed); connected: restored by its restorer.
      expect([`failed (failed)`, `failed (cleaned)`, `ended (restored-by-cluster)`], label).toContain(`${view.state} (${view.outcome})`);
      outcomes.push(`${label}: ${view.state} (${view.outcome})`);
    }
  }
  await waitForDemo(cluster);
  expect(outcomes).toHaveLength(STEPS.length * DELAYS_MS.length);
  console.log(outcomes.join("\n"));
}, 900_000);
