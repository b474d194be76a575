/**
 * The cluster restores itself when the helper dies: SIGKILL a connected helper and the
 * Deployment's spec comes back and every kbridge object goes, within 60 s — five times.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
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

const dir = tempDir("restore-after-crash");
let cluster: TestCluster;
let kubeconfig: string;
let workstation: http.Server;

beforeAll(async () => {
  cluster = await startTestCluster({ images: [demoImages], backoffBaseMs: 500 });
  installDemo(cluster);
  await waitForDemo(cluster);
  kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
  workstation = http.createServer((_req, res) => res.end(JSON.stringify({ pod: "workstation", items: [], store: "none" })));
  await new Promise<void>((resolve) => workstation.listen(0, "127.0.0.1", resolve));
}, 60_000);
afterAll(async () => {
  workstation?.close();
  await cluster?.stop();
});

/** The restorer's log, for failure messages. */
function restorerLog(): string {
  return cluster.store
    .list(kind("Pod"), "shop")
    .filter((p) => p.metadata.name?.endsWith("-restorer"))
    .map((p) => {
      const source = cluster.kubelet.logFile("shop", p.metadata.name ?? "", "restorer", false);
      return "file" in source ? fs.readFileSync(source.file, "utf8") : source.error;
    })
    .join("\n");
}

const spec = () => cluster.store.get(kind("Deployment"), "shop", "api").spec;
const kbridgeObjects = () => cluster.store.all().filter(({ object }) => object.metadata.labels?.["app.kubernetes.io/managed-by"] === "kbridge");

test("SIGKILL of the helper mid-session: restored within 60 s, five runs out of five", async () => {
  const original = spec();
  const seconds: number[] = [];
  for (let run = 1; run <= 5; run++) {
    const helper = spawn(process.execPath, ["--import", "tsx", "test/support/connectedHelper.ts"], {
      env: { ...process.env, KUBECONFIG: kubeconfig, TARGET_NAMESPACE: "shop", TARGET_SERVICE: "api", SERVICE_PORT: "80", WORKSTATION_PORT: String((workstation.address() as AddressInfo).port), DEADMAN_SECONDS: "5" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    helper.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    await until(() => /CONNECTED (\w+)/.exec(output), `run ${run}: the helper to connect`, 30_000);
    expect(JSON.parse((await viaIngress(cluster, "/status")).body).api, `run ${run}: redirected`).toBe("workstation");
    helper.kill("SIGKILL");
    const killedAt = Date.now();
    let lastLog = "";
    await until(
      () => {
        lastLog = restorerLog() || lastLog;
        return isDeepStrictEqual(spec(), original) && kbridgeObjects().length === 0;
      },
      `run ${run}: the restore`,
      60_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nleft: ${kbridgeObjects().map((o) => `${o.object.kind}/${o.object.metadata.name}`).join(", ")}\nrestorer log:\n${lastLog}`);
    });
    seconds.push((Date.now() - killedAt) / 1000);
    expect(spec(), `run ${run}`).toStrictEqual(original);
    await waitForDemo(cluster);
    expect(JSON.parse((await viaIngress(cluster, "/status")).body).api, `run ${run}: the cluster answers again`).toMatch(/^api-/);
  }
  console.log(`restored after SIGKILL in ${seconds.map((s) => s.toFixed(1)).join(", ")} s (dead-man interval 5 s)`);
}, 400_000);
