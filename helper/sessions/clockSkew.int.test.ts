/**
 * Liveness without cross-machine clocks: a helper whose clock is 10 minutes behind the
 * cluster's, and one 10 minutes ahead, each keep a live session for longer than the dead-man
 * interval (default settings, 30 s) without its restorer acting; SIGKILLed, each session is
 * restored within 60 s.
 */
import type { ChildProcess } from "node:child_process";
import type http from "node:http";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { TestCluster } from "../../test/cluster/cluster.ts";
import { kind } from "../../test/cluster/controllers/objects.ts";
import { startDemoCluster, viaIngress, waitForDemo } from "../../test/cluster/demo/demoApp.ts";
import { connectedHelper, kbridgeObjects, workstationServer } from "../../test/support/restoreChecks.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";

const dir = tempDir("clock-skew");
let cluster: TestCluster;
let kubeconfig: string;
let workstation: http.Server;
let workstationPort: number;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  cluster = await startDemoCluster();
  kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
  ({ server: workstation, port: workstationPort } = await workstationServer({ pod: "workstation", web: "workstation", api: "workstation", items: [], store: "none" }));
}, 60_000);
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  workstation?.close();
  await cluster?.stop();
});

const DEADMAN_S = 30;

/** A helper connected to `deployment` whose wall clock is `skewMs` off; resolves its session id. */
async function skewedHelper(deployment: string, skewMs: number): Promise<{ child: ChildProcess; session: string }> {
  const helper = connectedHelper(
    kubeconfig,
    { CLOCK_SKEW_MS: String(skewMs), TARGET_NAME: deployment, SERVICE_PORT: "80", WORKSTATION_PORT: String(workstationPort), DEADMAN_SECONDS: String(DEADMAN_S) },
    ["./test/support/skewClock.ts"],
  );
  children.add(helper.child);
  return { child: helper.child, session: await helper.connected() };
}

test("a helper 10 min behind and one 10 min ahead: live sessions are not restored; SIGKILLed, both are restored within 60 s", async () => {
  const spec = (name: string) => cluster.store.get(kind("Deployment"), "shop", name).spec;
  const before = { api: spec("api"), web: spec("web") };
  const [behind, ahead] = await Promise.all([skewedHelper("api", -600_000), skewedHelper("web", 600_000)]);
  // Live for more than a whole dead-man interval: still connected, still redirected.
  const watchedUntil = Date.now() + (DEADMAN_S + 10) * 1000;
  while (Date.now() < watchedUntil) {
    for (const { session } of [behind, ahead]) expect(kbridgeObjects(cluster, session).length, `session ${session} still in the cluster`).toBeGreaterThan(0);
    expect(JSON.parse((await viaIngress(cluster, "/status")).body).web).toBe("workstation");
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  expect(cluster.store.get(kind("Deployment"), "shop", "api").metadata.annotations?.["kbridge.dev/session"]).toBe(behind.session);

  const killedAt = Date.now();
  for (const { child } of [behind, ahead]) child.kill("SIGKILL");
  const restoredIn = await Promise.all(
    (["api", "web"] as const).map(async (name, i) => {
      const session = [behind, ahead][i]?.session ?? "";
      await until(() => isDeepStrictEqual(spec(name), before[name]) && kbridgeObjects(cluster, session).length === 0, `${name} restored after the SIGKILL`, 60_000);
      return (Date.now() - killedAt) / 1000;
    }),
  );
  console.log(`restored after SIGKILL (dead-man interval ${DEADMAN_S} s): clock 10 min behind ${restoredIn[0]?.toFixed(1)} s, 10 min ahead ${restoredIn[1]?.toFixed(1)} s`);
  await waitForDemo(cluster);
}, 180_000);
