/**
 * Deletion propagation as the real API server and garbage collector do it: Foreground keeps
 * the owner (deletionTimestamp, the foregroundDeletion finalizer) until its dependents are
 * gone, its pods terminating gracefully; Orphan leaves the dependents without their owner.
 */
import path from "node:path";
import { AppsV1Api, KubeConfig, type V1Deployment } from "@kubernetes/client-node";
import { afterAll, beforeAll, expect, test } from "vitest";
import { deployment } from "../../support/manifests.ts";
import { tempDir } from "../../support/tempDir.ts";
import { until } from "../../support/until.ts";
import { startTestCluster, type TestCluster } from "../cluster.ts";
import { kind } from "../controllers/objects.ts";
import { hostnameImage } from "../support/hostnameImage.ts";

const dir = tempDir("deletion");
let cluster: TestCluster;
let apps: AppsV1Api;

beforeAll(async () => {
  cluster = await startTestCluster({ images: [hostnameImage("web")] });
  const config = new KubeConfig();
  config.loadFromFile(cluster.writeKubeconfig(path.join(dir, "kubeconfig")));
  apps = config.makeApiClient(AppsV1Api);
});
afterAll(() => cluster.stop());

const podsOf = (app: string) => cluster.store.list(kind("Pod"), "default").filter((p) => p.metadata.labels?.app === app);
const replicaSetsOf = (app: string) => cluster.store.list(kind("ReplicaSet"), "default").filter((rs) => rs.metadata.labels?.app === app);
const ready = (app: string, n: number) => until(() => podsOf(app).filter((p) => (p.status as { phase?: string }).phase === "Running").length === n, `${n} ${app} pods running`, 30_000);

test("Foreground: the Deployment is marked first and goes last, after its pods (terminated gracefully) and its ReplicaSet; nothing new is made", async () => {
  await apps.createNamespacedDeployment({ namespace: "default", body: deployment({ name: "front", namespace: "default", image: "web:1", replicas: 2 }) as V1Deployment });
  await ready("front", 2);
  const events: string[] = [];
  const stop = cluster.store.watch(Number(cluster.store.resourceVersion), ({ type, resource, object }) => {
    if (resource.kind === "Event" || resource.kind === "Endpoints" || resource.kind === "EndpointSlice") return;
    const marks = [object.metadata.deletionTimestamp ? "terminating" : "", object.metadata.finalizers?.includes("foregroundDeletion") ? "foreground" : ""].filter(Boolean).join(",");
    events.push(`${type} ${resource.kind}${marks ? ` (${marks})` : ""}`);
  });
  await apps.deleteNamespacedDeployment({ name: "front", namespace: "default", propagationPolicy: "Foreground" });
  await until(() => !cluster.store.find(kind("Deployment"), "default", "front"), "the Deployment gone", 60_000);
  stop();
  const first = (event: string) => events.indexOf(event);
  const last = (event: string) => events.lastIndexOf(event);
  expect(events[0]).toBe("MODIFIED Deployment (terminating,foreground)");
  expect(first("MODIFIED ReplicaSet (terminating,foreground)")).toBeGreaterThan(0);
  // Each pod is stamped for graceful termination, then deleted by the kubelet.
  expect(events.filter((e) => e === "DELETED Pod (terminating)")).toHaveLength(2);
  expect(first("MODIFIED Pod (terminating)")).toBeLessThan(first("DELETED Pod (terminating)"));
  expect(last("DELETED Pod (terminating)")).toBeLessThan(first("DELETED ReplicaSet (terminating)"));
  expect(events.at(-1)).toBe("DELETED Deployment (terminating)");
  expect(events.filter((e) => e.startsWith("ADDED"))).toEqual([]);
}, 90_000);

test("Orphan: the ReplicaSet goes, its pods stay, without an owner", async () => {
  await apps.createNamespacedDeployment({ namespace: "default", body: deployment({ name: "kept", namespace: "default", image: "web:1", replicas: 1 }) as V1Deployment });
  await ready("kept", 1);
  await apps.deleteNamespacedDeployment({ name: "kept", namespace: "default", propagationPolicy: "Orphan" });
  const [rs] = replicaSetsOf("kept");
  expect(rs?.metadata.ownerReferences).toBeUndefined();
  await apps.deleteNamespacedReplicaSet({ name: rs?.metadata.name ?? "", namespace: "default", propagationPolicy: "Orphan" });
  expect(replicaSetsOf("kept")).toHaveLength(0);
  const pods = podsOf("kept");
  expect(pods).toHaveLength(1);
  expect(pods[0]?.metadata.ownerReferences).toBeUndefined();
  expect(pods[0]?.metadata.deletionTimestamp).toBeUndefined();
});

test("an unknown propagationPolicy is refused in the real server's words, and nothing is deleted", async () => {
  await apps.createNamespacedDeployment({ namespace: "default", body: deployment({ name: "sideways", namespace: "default", image: "web:1", replicas: 1 }) as V1Deployment });
  const error = (await apps.deleteNamespacedDeployment({ name: "sideways", namespace: "default", propagationPolicy: "Sideways" }).then(() => undefined, (e: unknown) => e)) as { code?: number; body?: string } | undefined;
  expect(error?.code).toBe(422);
  expect(JSON.parse(error?.body ?? "{}").message).toBe('DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Sideways": supported values: "Foreground", "Background", "Orphan"');
  expect(cluster.store.find(kind("Deployment"), "default", "sideways")?.metadata.deletionTimestamp).toBeUndefined();
});
