/**
 * Injected faults as real clients see them: kubectl prints a forbidden request as it prints
 * a real API server's, client-node gets the status, a hanging request is served once its fault
 * is lifted, a fault limited to pods leaves the kubeconfig's user alone, lagging watches deliver
 * every event late and in order, and a frozen API server answers nobody until it thaws.
 */
import path from "node:path";
import { CoreV1Api, KubeConfig, Watch } from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";
import { tempDir } from "../../support/tempDir.ts";
import { startTestCluster, type TestCluster } from "../cluster.ts";
import { kubectlFor } from "../support/kubectl.ts";

const dir = tempDir("faults");
let cluster: TestCluster;
let kubectl: ReturnType<typeof kubectlFor>;
let core: CoreV1Api;
let config: KubeConfig;

beforeAll(async () => {
  cluster = await startTestCluster({ freezable: true });
  const kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
  kubectl = kubectlFor(kubeconfig);
  config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  core = config.makeApiClient(CoreV1Api);
  await core.createNamespacedSecret({ namespace: "default", body: { metadata: { name: "held" }, stringData: { a: "1" } } });
});
afterEach(() => {
  cluster.faults.clear();
  cluster.front?.thaw();
});
afterAll(() => cluster.stop());

const statusOf = (error: unknown) => (error as { code?: number }).code;

test("a 403 reads as a real API server's, for kubectl and client-node; `times` limits it", async () => {
  const fault = cluster.faults.inject({ method: "GET", path: /\/secrets\/held/, status: 403, times: 2 });
  const denied = await kubectl(["get", "secret", "held", "-n", "default"]);
  expect(denied.code).not.toBe(0);
  expect(denied.stderr).toContain('Error from server (Forbidden): secrets "held" is forbidden: User "kbridge-user" cannot get resource "secrets" in API group "" in the namespace "default"');
  await expect(core.readNamespacedSecret({ name: "held", namespace: "default" })).rejects.toSatisfy((error) => statusOf(error) === 403);
  expect(fault.hits).toBe(2);
  expect((await core.readNamespacedSecret({ name: "held", namespace: "default" })).metadata?.name).toBe("held");
});

test("429, 500 and 503 answer with their Status; a fault for pods leaves the kubeconfig's user alone", async () => {
  for (const status of [429, 500, 503] as const) {
    const fault = cluster.faults.inject({ method: "GET", path: /\/secrets\/held/, status });
    await expect(core.readNamespacedSecret({ name: "held", namespace: "default" })).rejects.toSatisfy((error) => statusOf(error) === status);
    fault.lift();
  }
  cluster.faults.inject({ path: /\/secrets/, status: 500, from: "pods" });
  expect((await core.readNamespacedSecret({ name: "held", namespace: "default" })).metadata?.name).toBe("held");
});

test("a hanging request gets no answer until its fault is lifted, then it is served", async () => {
  const fault = cluster.faults.inject({ method: "PATCH", path: /\/secrets\/held/, hang: true });
  let settled = false;
  const patched = core.patchNamespacedSecret({ name: "held", namespace: "default", body: [{ op: "add", path: "/metadata/labels", value: { late: "yes" } }] }).finally(() => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect(settled).toBe(false);
  expect(fault.hits).toBe(1);
  fault.lift();
  expect((await patched).metadata?.labels).toEqual({ late: "yes" });
});

test("a frozen API server answers nobody, new connections included, until it thaws", async () => {
  cluster.front?.freeze();
  const started = Date.now();
  const listed = kubectl(["get", "namespaces", "--request-timeout=2s"]);
  const read = core.readNamespacedSecret({ name: "held", namespace: "default" }).then(() => Date.now() - started);
  const denied = await listed;
  expect(denied.code).not.toBe(0);
  expect(denied.stderr).toMatch(/Client\.Timeout|context deadline exceeded|timeout/i);
  cluster.front?.thaw();
  expect(await read).toBeGreaterThanOrEqual(2000);
  expect((await kubectl(["get", "namespace", "default", "-o", "name"])).stdout.trim()).toBe("namespace/default");
});

test("a lagging watch delivers each event that much later, in order", async () => {
  cluster.faults.delayWatches(700, "kubeconfig");
  const seen: { name: string; at: number }[] = [];
  const controller = await new Watch(config).watch("/api/v1/namespaces/default/configmaps", { labelSelector: "test=lag" }, (_type, object: { metadata?: { name?: string } }) => seen.push({ name: object.metadata?.name ?? "", at: Date.now() }), () => undefined);
  try {
    const created = Date.now();
    for (const name of ["lag-1", "lag-2", "lag-3"]) await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name, labels: { test: "lag" } } } });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(seen).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(seen.map((s) => s.name)).toEqual(["lag-1", "lag-2", "lag-3"]);
    expect(Math.min(...seen.map((s) => s.at)) - created).toBeGreaterThanOrEqual(650);
  } finally {
    controller.abort();
  }
});
