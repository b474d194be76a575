/**
 * The Team and Cluster pages' watch: a client that watches a place hears of every change of
 * kbridge's objects there (and of nothing else), gathered into one event; its watch ends on
 * the cluster when it stops watching or goes away; a user who may not list kbridge's objects
 * is told which kinds are not watched (the page then reads again every few seconds).
 */
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { DEVELOPER_CONTEXT, startTestCluster, type TestCluster } from "../../test/cluster/cluster.ts";
import { kind } from "../../test/cluster/controllers/objects.ts";
import { freePort } from "../../test/support/ports.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";
import { connectToHelper, type CliConnection } from "../cli/helperConnection.ts";
import { sendCommand } from "../client/helperSocket.ts";
import { runHelper, type RunningHelper } from "./runHelper.ts";

const dir = tempDir("cluster-watches");
let cluster: TestCluster;
let helper: RunningHelper;
let env: Record<string, string>;

beforeAll(async () => {
  cluster = await startTestCluster({});
  cluster.store.create(kind("Namespace"), { metadata: { name: "shop" } });
  const kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"), { developerNamespace: "shop" });
  // The developer holds edit in shop, as the demo grants it.
  cluster.store.create(kind("RoleBinding"), {
    metadata: { name: "developer-edit", namespace: "shop" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
    subjects: [{ kind: "User", name: "developer", apiGroup: "rbac.authorization.k8s.io" }],
  });
  env = { KBRIDGE_HOME: path.join(dir, "home"), KUBECONFIG: kubeconfig, KBRIDGE_HELPER_PORT: String(await freePort()), KBRIDGE_HOSTS_FILE: String(process.env.KBRIDGE_HOSTS_FILE) };
  helper = await runHelper(env);
}, 60_000);
afterAll(async () => {
  await helper?.close();
  await cluster?.stop();
});

const labelled = (name: string) => ({ metadata: { name, namespace: "shop", labels: { "app.kubernetes.io/managed-by": "kbridge" } }, data: { a: "1" } });

async function watcher(client: CliConnection) {
  const heard: { kubeContext: string; namespace: string; kinds: string[] }[] = [];
  client.socket.on("cluster:changed", (place) => heard.push(place));
  return heard;
}

test("a watching client hears of each change of kbridge's objects, gathered, and of nothing else; its watch ends when it stops or goes", async () => {
  const baseline = cluster.store.watchCount;
  const client = await connectToHelper(env);
  const heard = await watcher(client);
  const place = { kubeContext: DEVELOPER_CONTEXT, namespace: "shop" };
  const watching = await sendCommand(client.socket, "cluster:watch", place);
  expect(watching).toEqual({ ok: true, data: { watched: ["Pod", "Secret", "ConfigMap", "Ingress", "Deployment"], unwatched: [] } });
  await until(() => cluster.store.watchCount === baseline + 5, "one watch per kind on the cluster");

  // Three objects at once: one event naming both kinds, within a moment.
  const start = Date.now();
  cluster.store.create(kind("ConfigMap"), labelled("kbridge-a"));
  cluster.store.create(kind("ConfigMap"), labelled("kbridge-b"));
  cluster.store.create(kind("Secret"), labelled("kbridge-c"));
  await until(() => heard.length > 0, "the change to be told");
  expect(Date.now() - start).toBeLessThan(1000);
  await new Promise((resolve) => setTimeout(resolve, 400));
  expect(heard).toEqual([{ ...place, kinds: ["ConfigMap", "Secret"] }]);

  // Not kbridge's, or elsewhere: nothing.
  cluster.store.create(kind("ConfigMap"), { metadata: { name: "theirs", namespace: "shop" }, data: {} });
  cluster.store.create(kind("ConfigMap"), { ...labelled("kbridge-d"), metadata: { ...labelled("kbridge-d").metadata, namespace: "default" } });
  await new Promise((resolve) => setTimeout(resolve, 600));
  expect(heard).toHaveLength(1);

  // A second client of the same place shares the helper's watch.
  const second = await connectToHelper(env);
  const heardBySecond = await watcher(second);
  await sendCommand(second.socket, "cluster:watch", place);
  expect(cluster.store.watchCount).toBe(baseline + 5);
  cluster.store.delete(kind("ConfigMap"), "shop", "kbridge-a");
  await until(() => heard.length === 2 && heardBySecond.length === 1, "both clients told of the removal");
  expect(heardBySecond).toEqual([{ ...place, kinds: ["ConfigMap"] }]);

  // The first stops watching: the second still hears; once the second goes too, the watch ends on the cluster.
  await sendCommand(client.socket, "cluster:unwatch", place);
  cluster.store.delete(kind("ConfigMap"), "shop", "kbridge-b");
  await until(() => heardBySecond.length === 2, "the second client told");
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(heard).toHaveLength(2);
  expect(cluster.store.watchCount).toBe(baseline + 5);
  second.socket.close();
  await until(() => cluster.store.watchCount === baseline, "the helper's watches to end");
  client.socket.close();
});

test("a place where the user may not list kbridge's objects: every kind named as not watched, and no watch left open", async () => {
  const baseline = cluster.store.watchCount;
  const client = await connectToHelper(env);
  const watching = await sendCommand(client.socket, "cluster:watch", { kubeContext: DEVELOPER_CONTEXT, namespace: "kube-system" });
  expect(watching).toEqual({ ok: true, data: { watched: [], unwatched: ["Pod", "Secret", "ConfigMap", "Ingress", "Deployment"] } });
  client.socket.close();
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(cluster.store.watchCount).toBe(baseline);
});
