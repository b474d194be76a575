/**
 * The cluster restores itself when the helper dies: SIGKILL a connected helper and the
 * Deployment's spec comes back and every kbridge object goes, within 60 s — five times; and
 * the same for a StatefulSet and a bare Pod; and a helper gone before the agent went in
 * leaves nothing behind and nothing undone.
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
import { hostnameImage, OTHER_WORKLOADS } from "../../test/cluster/support/hostnameImage.ts";
import { kubectlFor } from "../../test/cluster/support/kubectl.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";
import { prepareSession } from "../k8s/sessionObjects.ts";
import { newHelperKey } from "../agent/helloProof.mjs";
import { openCluster } from "../k8s/clusterConnection.ts";

const dir = tempDir("restore-after-crash");
let cluster: TestCluster;
let kubeconfig: string;
let workstation: http.Server;

beforeAll(async () => {
  cluster = await startTestCluster({ images: [demoImages, hostnameImage("echo")], backoffBaseMs: 500 });
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

/**
 * The restorer pods' logs, for failure messages and the checks. Each pod's log file is opened
 * when the pod is first seen and read through that descriptor, so that what a restorer wrote
 * last stays readable after it deleted its own pod (and the kubelet its files), however soon
 * after its last line that came.
 */
function restorerLogs() {
  const open = new Map<string, number>();
  let waiting = "";
  /** Opens the log of each restorer pod not seen before (called as the test polls). */
  const track = () => {
    waiting = "";
    for (const pod of cluster.store.list(kind("Pod"), "shop")) {
      const uid = String(pod.metadata.uid);
      if (!pod.metadata.name?.endsWith("-restorer") || open.has(uid)) continue;
      const source = cluster.kubelet.logFile("shop", pod.metadata.name, "restorer", false);
      if (!("file" in source)) {
        waiting += `${source.error}\n`;
        continue;
      }
      try {
        open.set(uid, fs.openSync(source.file, "r"));
      } catch (error) {
        waiting += `${(error as Error).message}\n`;
      }
    }
  };
  return {
    track,
    read(): string {
      track();
      const logs = [...open.values()].map((fd) => {
        const bytes = Buffer.alloc(fs.fstatSync(fd).size);
        fs.readSync(fd, bytes, 0, bytes.length, 0);
        return bytes.toString("utf8");
      });
      return logs.join("\n") + waiting;
    },
    close() {
      for (const fd of open.values()) fs.closeSync(fd);
      open.clear();
    },
  };
}

const spec = () => cluster.store.get(kind("Deployment"), "shop", "api").spec;
const kbridgeObjects = () => cluster.store.all().filter(({ object }) => object.metadata.labels?.["app.kubernetes.io/managed-by"] === "kbridge");

/**
 * Connects `target` in a helper process, checks the redirection, SIGKILLs the helper, and
 * waits for the cluster to restore itself: `restored()` true and no kbridge object left.
 * Returns the seconds from the kill to the restore.
 */
async function killAndAwaitRestore(label: string, target: { kind: string; name: string; port: number }, redirected: () => Promise<boolean>, restored: () => boolean): Promise<number> {
  const helper = spawn(process.execPath, ["--import", "tsx", "test/support/connectedHelper.ts"], {
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      TARGET_NAMESPACE: "shop",
      TARGET_KIND: target.kind,
      TARGET_NAME: target.name,
      SERVICE_PORT: String(target.port),
      WORKSTATION_PORT: String((workstation.address() as AddressInfo).port),
      DEADMAN_SECONDS: "5",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  helper.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  await until(() => /CONNECTED (\w+)/.exec(output), `${label}: the helper to connect`, 30_000);
  expect(await redirected(), `${label}: redirected`).toBe(true);
  helper.kill("SIGKILL");
  const killedAt = Date.now();
  const logs = restorerLogs();
  try {
    await until(
      () => {
        logs.track();
        return restored() && kbridgeObjects().length === 0;
      },
      `${label}: the restore`,
      60_000,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\nleft: ${kbridgeObjects().map((o) => `${o.object.kind}/${o.object.metadata.name}`).join(", ")}\nrestorer log:\n${logs.read()}`, { cause: error });
  } finally {
    logs.close();
  }
  return (Date.now() - killedAt) / 1000;
}

const apiThroughIngress = async () => (JSON.parse((await viaIngress(cluster, "/status")).body) as { api: string }).api;

test("SIGKILL of the helper mid-session: restored within 60 s, five runs out of five", async () => {
  const original = spec();
  const seconds: number[] = [];
  for (let run = 1; run <= 5; run++) {
    seconds.push(await killAndAwaitRestore(`run ${run}`, { kind: "service", name: "api", port: 80 }, async () => (await apiThroughIngress()) === "workstation", () => isDeepStrictEqual(spec(), original)));
    expect(spec(), `run ${run}`).toStrictEqual(original);
    await waitForDemo(cluster);
    expect(await apiThroughIngress(), `run ${run}: the cluster answers again`).toMatch(/^api-/);
  }
  console.log(`restored after SIGKILL in ${seconds.map((s) => s.toFixed(1)).join(", ")} s (dead-man interval 5 s)`);
}, 400_000);

test("SIGKILL with a StatefulSet or a bare Pod connected: the restorer puts each back", async () => {
  expect((await kubectlFor(kubeconfig)(["apply", "-f", "-"], { stdin: OTHER_WORKLOADS })).code).toBe(0);
  const ready = (name: string) => (cluster.store.find(kind("Pod"), "shop", name)?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
  await until(() => ready("ledger-0") && ready("ledger-1") && ready("solo"), "ledger-0, ledger-1 and solo ready", 30_000);
  const setSpec = () => cluster.store.get(kind("StatefulSet"), "shop", "ledger").spec;
  const setBefore = setSpec();
  const podBefore = cluster.store.get(kind("Pod"), "shop", "solo");
  const agentsUp = (prefix: string) => async () => cluster.store.list(kind("Pod"), "shop").some((p) => p.metadata.labels?.["kbridge.dev/role"] === "agent" && p.metadata.name?.startsWith(prefix));

  await killAndAwaitRestore("statefulset", { kind: "service", name: "ledger", port: 80 }, agentsUp("ledger-"), () => isDeepStrictEqual(setSpec(), setBefore));
  await killAndAwaitRestore("pod", { kind: "pod", name: "solo", port: 8080 }, agentsUp("kbridge-"), () => {
    const pod = cluster.store.find(kind("Pod"), "shop", "solo");
    return pod !== undefined && !pod.metadata.deletionTimestamp && isDeepStrictEqual(pod.spec, podBefore.spec) && isDeepStrictEqual(pod.metadata.labels, podBefore.metadata.labels);
  });
}, 200_000);

test("a helper gone after saving the original but before putting the agent in: the restorer cleans up and leaves a rollout made since alone", async () => {
  // This test is that helper: it prepares the session (Secret, scripts, restorer) as connect
  // does first, then renews no heartbeat and never replaces the Deployment.
  const connection = openCluster([kubeconfig], "kbridge-demo");
  const before = cluster.store.get(kind("Deployment"), "shop", "api");
  const session = { id: "c0ffee01", owner: "test-crash", expiresAt: new Date(Date.now() + 3_600_000) };
  const options = { image: "node:22-alpine", deadmanSeconds: 5, inboundPort: 47000, outboundPort: 47001, helperKey: newHelperKey().publicKey, keep: { probes: false, lifecycleHooks: false } };
  await prepareSession(connection, "shop", session, options, { "workload.json": JSON.stringify({ kind: "Deployment", name: "api", spec: before.spec }) }, [
    { apiGroups: ["apps"], resources: ["deployments"], resourceNames: ["api"], verbs: ["get", "update", "patch"] },
  ]);
  // Meanwhile the team rolls out a new template.
  const deployment = cluster.store.get(kind("Deployment"), "shop", "api");
  const template = (deployment.spec as { template: { metadata: { annotations?: Record<string, string> } } }).template;
  template.metadata.annotations = { ...template.metadata.annotations, "example.com/rolled-out": "after kbridge saved" };
  cluster.store.update(kind("Deployment"), deployment);
  const rolledOut = structuredClone(spec());
  const logs = restorerLogs();
  try {
    await until(
      () => {
        logs.track();
        return kbridgeObjects().length === 0;
      },
      "the restorer to clean up",
      60_000,
    );
  } catch (error) {
    const log = logs.read();
    logs.close();
    throw new Error(`${(error as Error).message}\nleft: ${kbridgeObjects().map((o) => `${o.object.kind}/${o.object.metadata.name}`).join(", ")}\nrestorer log:\n${log}`, { cause: error });
  }
  // Its last lines may still be on their way to the log file.
  await until(() => logs.read().includes("the agent was never put in; nothing to restore"), "the restorer's log to say that it had nothing to restore", 5_000).catch(() => undefined);
  const log = logs.read();
  logs.close();
  expect(spec()).toStrictEqual(rolledOut);
  expect(log).toContain("the agent was never put in; nothing to restore");
  await waitForDemo(cluster);
}, 90_000);
