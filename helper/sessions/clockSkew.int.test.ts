/**
 * Liveness without cross-machine clocks: a helper whose clock is 10 minutes behind the
 * cluster's, and one 10 minutes ahead, each keep a live session for longer than the dead-man
 * interval (default settings, 30 s) without its restorer acting; SIGKILLed, each session is
 * restored within 60 s.
 */
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startTestCluster, type TestCluster } from "../../test/cluster/cluster.ts";
import { kind } from "../../test/cluster/controllers/objects.ts";
import { demoImages, installDemo, viaIngress, waitForDemo } from "../../test/cluster/demo/demoApp.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";

const dir = tempDir("clock-skew");
let cluster: TestCluster;
let kubeconfig: string;
let workstation: http.Server;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  cluster = await startTestCluster({ images: [demoImages], backoffBaseMs: 500 });
  installDemo(cluster);
  await waitForDemo(cluster);
  kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
  workstation = http.createServer((_req, res) => res.end(JSON.stringify({ pod: "workstation", web: "workstation", api: "workstation", items: [], store: "none" })));
  await new Promise<void>((resolve) => workstation.listen(0, "127.0.0.1", resolve));
}, 60_000);
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  workstation?.close();
  await cluster?.stop();
});

const DEADMAN_S = 30;
const kbridgeObjects = (session: string) => cluster.store.all().filter(({ object }) => object.metadata.labels?.["kbridge.dev/session"] === session && object.metadata.labels?.["app.kubernetes.io/managed-by"] === "kbridge");

/** A helper connected to `deployment` whose wall clock is `skewMs` off; resolves its session id. */
async function skewedHelper(deployment: string, skewMs: number): Promise<{ child: ChildProcess; session: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "--import", "./test/support/skewClock.ts", "test/support/connectedHelper.ts"], {
    env: { ...process.env, CLOCK_SKEW_MS: String(skewMs), KUBECONFIG: kubeconfig, TARGET_NAMESPACE: "shop", TARGET_NAME: deployment, SERVICE_PORT: "80", WORKSTATION_PORT: String((workstation.address() as AddressInfo).port), DEADMAN_SECONDS: String(DEADMAN_S) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.add(child);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const session = String((await until(() => /CONNECTED (\w+)/.exec(output) ?? undefined, `the helper ${skewMs / 60_000} min off to connect`, 60_000))[1]);
  return { child, session };
}

test("a helper 10 min behind and one 10 min ahead: live sessions are not restored; SIGKILLed, both are restored within 60 s", async () => {
  const spec = (name: string) => cluster.store.get(kind("Deployment"), "shop", name).spec;
  const before = { api: spec("api"), web: spec("web") };
  const [behind, ahead] = await Promise.all([skewedHelper("api", -600_000), skewedHelper("web", 600_000)]);
  // Live for more than a whole dead-man interval: still connected, still redirected.
  const watchedUntil = Date.now() + (DEADMAN_S + 10) * 1000;
  while (Date.now() < watchedUntil) {
    for (const { session } of [behind, ahead]) expect(kbridgeObjects(session).length, `session ${session} still in the cluster`).toBeGreaterThan(0);
    expect(JSON.parse((await viaIngress(cluster, "/status")).body).web).toBe("workstation");
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  expect(cluster.store.get(kind("Deployment"), "shop", "api").metadata.annotations?.["kbridge.dev/session"]).toBe(behind.session);

  const killedAt = Date.now();
  for (const { child } of [behind, ahead]) child.kill("SIGKILL");
  const restoredIn = await Promise.all(
    (["api", "web"] as const).map(async (name, i) => {
      const session = [behind, ahead][i]?.session ?? "";
      await until(() => isDeepStrictEqual(spec(name), before[name]) && kbridgeObjects(session).length === 0, `${name} restored after the SIGKILL`, 60_000);
      return (Date.now() - killedAt) / 1000;
    }),
  );
  console.log(`restored after SIGKILL (dead-man interval ${DEADMAN_S} s): clock 10 min behind ${restoredIn[0]?.toFixed(1)} s, 10 min ahead ${restoredIn[1]?.toFixed(1)} s`);
  await waitForDemo(cluster);
}, 180_000);
