/**
 * A workload serving port 80 (the agent runs as a non-root user): it connects where the node
 * lets NET_BIND_SERVICE work for non-root users; where the node refuses the bind, connect
 * fails at once with the reason, and the workload is back as it was.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterEach, beforeAll, afterAll, expect, test } from "vitest";
import { startTestCluster, type TestCluster } from "../../test/cluster/cluster.ts";
import { kind } from "../../test/cluster/controllers/objects.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";
import { silentLogger } from "../logs/logger.ts";
import { KbridgeError } from "../protocol/index.ts";
import { connect } from "./connectSession.ts";

const dir = tempDir("low-port");
let cluster: TestCluster | undefined;
let workstationPort: number;
const workstation = http.createServer((req, res) => res.end("workstation"));

beforeAll(async () => {
  await new Promise<void>((resolve) => workstation.listen(0, "127.0.0.1", resolve));
  workstationPort = (workstation.address() as AddressInfo).port;
});
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});
afterAll(() => workstation.close());

const SERVER = "require('http').createServer((q, s) => s.end('cluster')).listen(80)";

async function clusterWithWeb80(nonRootCapabilities: boolean): Promise<{ cluster: TestCluster; kubeconfig: string; clusterIp: string }> {
  const started = await startTestCluster({ backoffBaseMs: 300, nonRootCapabilities });
  cluster = started;
  started.store.create(kind("Deployment"), {
    metadata: { name: "web80", namespace: "default" },
    spec: { replicas: 1, selector: { matchLabels: { app: "web80" } }, template: { metadata: { labels: { app: "web80" } }, spec: { containers: [{ name: "web", image: "node:22", command: ["node", "-e", SERVER], ports: [{ containerPort: 80 }] }] } } },
  });
  const service = started.store.create(kind("Service"), { metadata: { name: "web80", namespace: "default" }, spec: { selector: { app: "web80" }, ports: [{ port: 80 }] } });
  const clusterIp = (service.spec as { clusterIP: string }).clusterIP;
  await until(async () => (await fetch(`http://${clusterIp}/`).then((r) => r.text()).catch(() => "")) === "cluster", "web80 serving");
  return { cluster: started, kubeconfig: started.writeKubeconfig(path.join(dir, `kubeconfig-${nonRootCapabilities}`)), clusterIp };
}

const connectWeb80 = (kubeconfig: string) =>
  connect({ kubeconfig: [kubeconfig], context: "kbridge-demo", target: { kind: "service", name: "web80", namespace: "default" }, ports: [{ port: 80, workstationPort }], log: silentLogger(), timeoutMs: 30_000 });

test("the agent listens on port 80 as a non-root user with NET_BIND_SERVICE", async () => {
  const { cluster: c, kubeconfig, clusterIp } = await clusterWithWeb80(true);
  const before = c.store.get(kind("Deployment"), "default", "web80").spec;
  const session = await connectWeb80(kubeconfig);
  expect(await (await fetch(`http://${clusterIp}/`)).text()).toBe("workstation");
  await session.disconnect();
  expect(c.store.get(kind("Deployment"), "default", "web80").spec).toEqual(before);
});

test("where the node refuses the bind, connect fails at once naming port 80 and why, and the workload is back", async () => {
  const { cluster: c, kubeconfig, clusterIp } = await clusterWithWeb80(false);
  const before = c.store.get(kind("Deployment"), "default", "web80").spec;
  const started = Date.now();
  const error = (await connectWeb80(kubeconfig).catch((e: unknown) => e)) as KbridgeError;
  const took = Date.now() - started;
  expect(error).toBeInstanceOf(KbridgeError);
  expect(error.info.code).toBe("agent-port-refused");
  expect(error.info.message).toMatch(/cannot listen on port 80: EACCES \(the node does not let this non-root process bind a port below 1024\)/);
  expect(error.info.hint).toContain("1024");
  // Well before the 30 s agent timeout, and well before a crash loop's back-off.
  expect(took).toBeLessThan(15_000);
  expect(c.store.get(kind("Deployment"), "default", "web80").spec).toEqual(before);
  expect(await (await fetch(`http://${clusterIp}/`)).text()).toBe("cluster");
  expect(c.store.list(kind("Pod"), "default").filter((p) => p.metadata.labels?.["kbridge.dev/role"] === "agent")).toEqual([]);
});
