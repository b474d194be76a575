/**
 * kbridge where clusters are strict, as the developer who holds only `edit`, after an
 * administrator's `kbridge setup`: the demo's namespace enforces Pod Security `restricted`,
 * has a CPU quota without a LimitRange, and NetworkPolicies that deny by default and admit
 * each app by its labels. Connect (2 replicas), isolate, a SIGKILLed helper's restore and
 * disconnect all work, each leaving the namespace's objects as they were.
 */
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { DEVELOPER_CONTEXT, startTestCluster, type TestCluster } from "../../test/cluster/cluster.ts";
import { kind } from "../../test/cluster/controllers/objects.ts";
import { demoImages, installDemo, viaIngress, waitForDemo } from "../../test/cluster/demo/demoApp.ts";
import { connectedHelper, deploymentReady, kbridgeObjects, workstationServer } from "../../test/support/restoreChecks.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";
import { openCluster } from "../k8s/clusterConnection.ts";
import { applySetup } from "../k8s/setup.ts";
import { silentLogger } from "../logs/logger.ts";
import { connect } from "./connectSession.ts";
import type { ConnectOptions } from "./sessionPlan.ts";

const dir = tempDir("strict-namespace");
let cluster: TestCluster;
let kubeconfig: string;
let workstation: Awaited<ReturnType<typeof workstationServer>>;

beforeAll(async () => {
  cluster = await startTestCluster({ images: [demoImages], backoffBaseMs: 500 });
  installDemo(cluster, { strict: true });
  await waitForDemo(cluster);
  kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"), { developerNamespace: "shop" });
  await applySetup(openCluster([kubeconfig], "kbridge-demo"), "shop");
  workstation = await workstationServer();
}, 60_000);
afterAll(async () => {
  workstation?.server.close();
  await cluster.stop();
});

/** The namespace's objects as a user would compare them (specs, labels, annotations). */
const snapshot = () =>
  (["Deployment", "Service", "Ingress", "NetworkPolicy", "ResourceQuota", "ConfigMap", "Secret"] as const).flatMap((type) =>
    cluster.store.list(kind(type), "shop").map((o) => ({ kind: type, name: o.metadata.name, labels: o.metadata.labels, annotations: o.metadata.annotations, spec: o.spec, data: o.data })),
  );
const apiBehindWeb = async (headers: Record<string, string> = {}) => {
  const reply = await viaIngress(cluster, "/status", headers);
  expect(reply.status, reply.body).toBe(200);
  return (JSON.parse(reply.body) as { api: string }).api;
};
const options = (overrides: Partial<ConnectOptions> = {}): ConnectOptions => ({
  kubeconfig: [kubeconfig],
  context: DEVELOPER_CONTEXT,
  target: { kind: "service", name: "api", namespace: "shop" },
  ports: [{ port: 80, workstationPort: workstation.port }],
  log: silentLogger(),
  timeoutMs: 30_000,
  ...overrides,
});
const settled = () => until(() => kbridgeObjects(cluster).length === 0 && deploymentReady(cluster, "api"), "no kbridge object left and api ready", 60_000);

test("connect (both replicas) and disconnect", async () => {
  const before = snapshot();
  const session = await connect(options());
  expect(await apiBehindWeb()).toBe("workstation");
  await session.disconnect();
  await settled();
  expect(snapshot()).toEqual(before);
  expect(await apiBehindWeb()).toMatch(/^api-/);
});

test("isolate and disconnect", async () => {
  const before = snapshot();
  const session = await connect(options({ isolate: { routingKey: "dev-5e6f" } }));
  expect(await apiBehindWeb({ "kubernetes-route-as": "dev-5e6f" })).toBe("workstation");
  expect(await apiBehindWeb()).toMatch(/^api-/);
  await session.disconnect();
  await settled();
  expect(snapshot()).toEqual(before);
});

test("a SIGKILLed helper's session is restored by the restorer within 60 s", async () => {
  const before = snapshot();
  const helper = connectedHelper(kubeconfig, { KUBE_CONTEXT: DEVELOPER_CONTEXT, TARGET_NAME: "api", SERVICE_PORT: "80", WORKSTATION_PORT: String(workstation.port) });
  await helper.connected();
  expect(await apiBehindWeb()).toBe("workstation");
  const killedAt = Date.now();
  helper.child.kill("SIGKILL");
  await settled();
  const took = Date.now() - killedAt;
  expect(took).toBeLessThan(60_000);
  expect(snapshot()).toEqual(before);
  expect(await apiBehindWeb()).toMatch(/^api-/);
  console.log(`strict namespace: restored ${(took / 1000).toFixed(1)} s after the helper's SIGKILL`);
}, 90_000);
