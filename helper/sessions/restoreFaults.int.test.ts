/**
 * The original is never lost, whatever the API server answers. For each call of a restore
 * (read the original, write the workload, delete the ConfigMap, the Secret, the restorer pod)
 * and each fault (403, 500, no answer): up to the Secret's deletion a disconnect fails saying
 * why, the saved original stays, and once the fault is lifted the restore finishes exactly;
 * after it (the restorer pod, owned by the Secret) the restore is done and the garbage
 * collector removes what is left. The session's restorer
 * keeps the original through faults too, and finishes once they are lifted. A restore whose
 * rollout cannot become ready is reported as failed, with the pod and why; a failed connect to
 * a StatefulSet replaces the pod it left stuck on the agent template.
 */
import type { ChildProcess } from "node:child_process";
import type http from "node:http";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";
import type { TestCluster } from "../../test/cluster/cluster.ts";
import type { FaultRule } from "../../test/cluster/apiserver/faults.ts";
import { kind } from "../../test/cluster/controllers/objects.ts";
import { startDemoCluster } from "../../test/cluster/demo/demoApp.ts";
import { hostnameImage, OTHER_WORKLOADS } from "../../test/cluster/support/hostnameImage.ts";
import { kubectlFor } from "../../test/cluster/support/kubectl.ts";
import { connectedHelper, deploymentReady, kbridgeObjects as objectsOf, workstationServer } from "../../test/support/restoreChecks.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";
import { openCluster } from "../k8s/clusterConnection.ts";
import { restoreSession } from "../k8s/sessionRestore.ts";
import { silentLogger } from "../logs/logger.ts";
import { KbridgeError } from "../protocol/index.ts";
import { connect } from "./connectSession.ts";

// A request that gets no answer fails after 1.5 s (20 s by default), so each hang costs seconds.
process.env.KBRIDGE_API_TIMEOUT_MS = "1500";

const dir = tempDir("restore-faults");
let cluster: TestCluster;
let kubeconfig: string;
let workstation: http.Server;
let workstationPort: number;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  cluster = await startDemoCluster({ images: [hostnameImage("echo")] });
  kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
  ({ server: workstation, port: workstationPort } = await workstationServer());
}, 60_000);
afterEach(() => cluster.faults.clear());
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  workstation?.close();
  await cluster?.stop();
});

const spec = () => cluster.store.get(kind("Deployment"), "shop", "api").spec;
const kbridgeObjects = () => objectsOf(cluster);
const savedSpec = (id: string) => {
  const secret = cluster.store.find(kind("Secret"), "shop", `kbridge-${id}-original`);
  const data = (secret?.data as Record<string, string> | undefined)?.["workload.json"];
  return data ? (JSON.parse(Buffer.from(data, "base64").toString("utf8")) as { spec: unknown }).spec : undefined;
};
const podsReady = () => deploymentReady(cluster, "api");
const connectApi = () =>
  connect({
    kubeconfig: [kubeconfig],
    context: "kbridge-demo",
    target: { kind: "service", name: "api", namespace: "shop" },
    ports: [{ port: 80, workstationPort }],
    deadmanSeconds: 600,
    log: silentLogger(),
  });

/** Once nothing holds the restore back: the spec is the original, its pods ready, nothing of kbridge's left. */
async function finishedExactly(original: unknown, what: string): Promise<void> {
  expect(spec(), what).toStrictEqual(original);
  await until(podsReady, `${what}: api's pods ready`, 30_000);
  expect(kbridgeObjects(), what).toEqual([]);
}

const calls: [string, (id: string) => Pick<FaultRule, "method" | "path">][] = [
  ["read the saved original", (id) => ({ method: "GET", path: new RegExp(`/secrets/kbridge-${id}-original$`) })],
  ["write the workload", () => ({ method: "PUT", path: /\/deployments\/api$/ })],
  ["delete the ConfigMap", (id) => ({ method: "DELETE", path: new RegExp(`/configmaps/kbridge-${id}-agent`) })],
  ["delete the Secret", (id) => ({ method: "DELETE", path: new RegExp(`/secrets/kbridge-${id}-original`) })],
  ["delete the restorer pod", (id) => ({ method: "DELETE", path: new RegExp(`/pods/kbridge-${id}-restorer`) })],
];
const faults: [string, Pick<FaultRule, "status" | "hang">, RegExp][] = [
  ["403", { status: 403 }, /HTTP 403: .* is forbidden: User "kbridge-user" cannot/],
  ["500", { status: 500 }, /HTTP 500: Internal error occurred/],
  ["no answer", { hang: true }, /no answer within 1\.5 s/],
];

test("every call of a disconnect's restore, refused, failing or unanswered: the original stays, and the restore finishes once the fault is lifted", async () => {
  const original = spec();
  const matrix: string[] = [];
  for (const [call, rule] of calls) {
    for (const [name, fault, reason] of faults) {
      const label = `${call} × ${name}`;
      const session = await connectApi();
      const injected = cluster.faults.inject({ ...rule(session.id), ...fault, from: "kubeconfig" });
      if (call === "delete the restorer pod") {
        // After the Secret: the restore is done; the pod it owns goes with it.
        await session.disconnect();
        expect(injected.hits, label).toBeGreaterThan(0);
        injected.lift();
        await until(() => kbridgeObjects().length === 0, `${label}: the garbage collector to remove the rest`, 30_000);
        await finishedExactly(original, label);
        matrix.push(`${label}: disconnect succeeded (the Secret was gone already), the garbage collector removed the pod`);
        continue;
      }
      const error = await session.disconnect().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, label).toBeInstanceOf(KbridgeError);
      expect((error as KbridgeError).message, label).toMatch(reason);
      expect((error as KbridgeError).info.hint, label).toMatch(/saved original stays in the cluster/);
      expect(injected.hits, label).toBeGreaterThan(0);
      // Whatever got done before the fault, the original is still there to restore from.
      const kept = savedSpec(session.id);
      if (call !== "delete the Secret" || !fault.hang) expect(kept, `${label}: the saved original`).toStrictEqual(original);
      injected.lift();
      // What `kbridge clean` (or the Cluster page) does later.
      await restoreSession(openCluster([kubeconfig], "kbridge-demo"), "shop", session.id, { workload: { kind: "Deployment", name: "api" } });
      await finishedExactly(original, label);
      matrix.push(`${label}: disconnect failed ("${(error as KbridgeError).message.slice(0, 90)}…"), original kept, restored once lifted`);
    }
  }
  console.log(`fault matrix (the helper's restore):\n${matrix.join("\n")}`);
}, 600_000);

test("the restorer keeps the original through a refused write and a failing delete, and finishes once they are lifted", async () => {
  const original = spec();
  for (const [label, rule] of [
    ["write the workload × 403", { method: "PUT", path: /\/deployments\/api$/, status: 403 }],
    ["delete the Secret × 500", { method: "DELETE", path: /\/secrets\/kbridge-\w+-original$/, status: 500 }],
  ] as const) {
    const helper = connectedHelper(kubeconfig, { TARGET_NAME: "api", SERVICE_PORT: "80", WORKSTATION_PORT: String(workstationPort), DEADMAN_SECONDS: "3" });
    children.add(helper.child);
    const id = await helper.connected();
    const injected = cluster.faults.inject({ ...rule, from: "pods" });
    helper.child.kill("SIGKILL");
    children.delete(helper.child);
    // The restorer tries, fails, says so on the Secret, and keeps the original.
    const status = await until(() => {
      const value = cluster.store.find(kind("Secret"), "shop", `kbridge-${id}-original`)?.metadata.annotations?.["kbridge.dev/restorer-status"];
      const parsed = value ? (JSON.parse(value) as { state: string; message?: string }) : undefined;
      return parsed?.state === "failed" ? parsed : undefined;
    }, `${label}: the restorer to report its failure`, 60_000);
    expect(status.message, label).toMatch(/HTTP (403|500)/);
    expect(savedSpec(id), label).toStrictEqual(original);
    injected.lift();
    await until(() => isDeepStrictEqual(spec(), original) && kbridgeObjects().length === 0, `${label}: the restorer to finish once lifted`, 90_000);
    await finishedExactly(original, label);
  }
}, 300_000);

test("a restore whose rollout cannot become ready is reported as failed, with the pod and why; the original stays until it can", async () => {
  const original = spec();
  const session = await connectApi();
  // The workload's own pods need this Secret; while the agent stands in for them, it goes.
  const secret = cluster.store.get(kind("Secret"), "shop", "shop-secrets");
  cluster.store.delete(kind("Secret"), "shop", "shop-secrets");
  const error = await session.disconnect().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KbridgeError);
  expect((error as KbridgeError).info.code).toBe("rollout-stuck");
  expect((error as KbridgeError).message).toMatch(
    new RegExp(`^Restoring session ${session.id} failed: deployment/api is back to its original spec, but its rollout is not progressing: pod api-\\S+ CreateContainerConfigError \\(.*shop-secrets.*\\)\\.$`),
  );
  expect(spec()).toStrictEqual(original);
  expect(savedSpec(session.id)).toStrictEqual(original);
  // Its Secret back, the restore finishes (as `kbridge clean` would).
  cluster.store.create(kind("Secret"), { ...secret, metadata: { ...secret.metadata, resourceVersion: undefined, uid: undefined } });
  await restoreSession(openCluster([kubeconfig], "kbridge-demo"), "shop", session.id, { workload: { kind: "Deployment", name: "api" } });
  await finishedExactly(original, "after the Secret came back");
}, 120_000);

test("a failed connect to a StatefulSet replaces the pod it left stuck on the agent template (the forced-rollback rule)", async () => {
  expect((await kubectlFor(kubeconfig)(["apply", "-f", "-"], { stdin: OTHER_WORKLOADS })).code).toBe(0);
  const pods = () => cluster.store.list(kind("Pod"), "shop").filter((p) => p.metadata.name?.startsWith("ledger-") && !p.metadata.deletionTimestamp);
  const ready = (name: string) => (cluster.store.find(kind("Pod"), "shop", name)?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
  await until(() => ready("ledger-0") && ready("ledger-1"), "ledger-0 and ledger-1 ready", 30_000);
  const setSpec = () => cluster.store.get(kind("StatefulSet"), "shop", "ledger").spec;
  const before = setSpec();
  // An agent image the cluster cannot pull: ledger-1 (the highest ordinal goes first) is stuck on it, never ready.
  const error = await connect({
    kubeconfig: [kubeconfig],
    context: "kbridge-demo",
    target: { kind: "service", name: "ledger", namespace: "shop" },
    ports: [{ port: 80, workstationPort }],
    agentImage: "no-such-registry.example/node:22",
    deadmanSeconds: 600,
    log: silentLogger(),
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KbridgeError);
  expect((error as KbridgeError).info.code).toBe("agent-failed");
  expect(setSpec()).toStrictEqual(before);
  // Back on the original template, every pod ready, nothing of kbridge's: the stuck pod was replaced.
  await until(() => ready("ledger-0") && ready("ledger-1"), "ledger's pods ready again", 30_000);
  for (const pod of pods()) expect(pod.metadata.labels?.["kbridge.dev/session"], pod.metadata.name).toBeUndefined();
  expect(kbridgeObjects()).toEqual([]);
}, 120_000);
