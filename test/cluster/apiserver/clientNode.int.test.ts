/** The API server as @kubernetes/client-node (what kbridge's helper uses) sees it. */
import path from "node:path";
import { CoreV1Api, KubeConfig, makeInformer, PatchStrategy, setHeaderOptions, Watch, type V1ConfigMap } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { tempDir } from "../../support/tempDir.ts";
import { startTestCluster, type TestCluster } from "../cluster.ts";
import { until } from "../../support/until.ts";

const dir = tempDir("client-node");
let cluster: TestCluster;
let config: KubeConfig;
let core: CoreV1Api;

beforeAll(async () => {
  // A small event ring, so that a watch falling behind gets 410 Gone.
  cluster = await startTestCluster({ ringSize: 20 });
  config = new KubeConfig();
  config.loadFromFile(cluster.writeKubeconfig(path.join(dir, "kubeconfig")));
  core = config.makeApiClient(CoreV1Api);
});
afterAll(() => cluster.stop());

const configMap = (name: string, data: Record<string, string> = {}, labels: Record<string, string> = { app: "demo" }): V1ConfigMap => ({
  metadata: { name, labels },
  data,
});

interface Seen {
  type: string;
  name: string;
  rv: string;
}

function collect(watchPath: string, query: Record<string, string>) {
  const events: Seen[] = [];
  let controller: AbortController | undefined;
  const started = new Watch(config)
    .watch(watchPath, query, (type, object: V1ConfigMap) => events.push({ type, name: object.metadata?.name ?? "", rv: object.metadata?.resourceVersion ?? "" }), () => undefined)
    .then((c) => (controller = c));
  return { events, started, stop: () => controller?.abort() };
}


describe("client-node against the test cluster", () => {
  test("create, list by label, JSON patch (the typed API's default), merge patch, delete", async () => {
    await core.createNamespacedConfigMap({ namespace: "default", body: configMap("one", { a: "1" }) });
    await core.createNamespacedConfigMap({ namespace: "default", body: configMap("two", {}, { app: "other" }) });
    const listed = await core.listNamespacedConfigMap({ namespace: "default", labelSelector: "app=demo" });
    expect(listed.items.map((item) => item.metadata?.name)).toEqual(["one"]);
    expect(Number(listed.metadata?.resourceVersion)).toBeGreaterThan(0);

    const jsonPatched = await core.patchNamespacedConfigMap({ name: "one", namespace: "default", body: [{ op: "add", path: "/data/b", value: "2" }] });
    expect(jsonPatched.data).toEqual({ a: "1", b: "2" });

    const merged = await core.patchNamespacedConfigMap(
      { name: "one", namespace: "default", body: { data: { a: null, c: "3" } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(merged.data).toEqual({ b: "2", c: "3" });
    expect(Number(merged.metadata?.resourceVersion)).toBeGreaterThan(Number(jsonPatched.metadata?.resourceVersion));

    await expect(core.patchNamespacedConfigMap({ name: "one", namespace: "default", body: [{ op: "test", path: "/data/b", value: "nope" }] })).rejects.toThrow();
    await core.deleteNamespacedConfigMap({ name: "one", namespace: "default" });
    await expect(core.readNamespacedConfigMap({ name: "one", namespace: "default" })).rejects.toThrow(/404|not found/i);
  });

  test("strategic merge patch and server-side apply", async () => {
    await core.createNamespacedConfigMap({ namespace: "default", body: configMap("smp", { a: "1" }) });
    const smp = await core.patchNamespacedConfigMap(
      { name: "smp", namespace: "default", body: { metadata: { labels: { extra: "yes" } }, data: { b: "2" } } },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
    expect(smp.data).toEqual({ a: "1", b: "2" });
    expect(smp.metadata?.labels).toEqual({ app: "demo", extra: "yes" });

    const applied = await core.patchNamespacedConfigMap(
      { name: "ssa", namespace: "default", fieldManager: "kbridge-test", body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "ssa" }, data: { k: "v" } } },
      setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
    );
    expect(applied.data).toEqual({ k: "v" });
    await expect(
      core.patchNamespacedConfigMap({ name: "ssa", namespace: "default", body: { metadata: { name: "ssa" } } }, setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply)),
    ).rejects.toThrow(/fieldManager/);
  });

  test("a stale resourceVersion on update is a 409 Conflict", async () => {
    const created = await core.createNamespacedConfigMap({ namespace: "default", body: configMap("conflict", { v: "1" }) });
    await core.replaceNamespacedConfigMap({ name: "conflict", namespace: "default", body: { ...created, data: { v: "2" } } });
    await expect(core.replaceNamespacedConfigMap({ name: "conflict", namespace: "default", body: { ...created, data: { v: "3" } } })).rejects.toThrow(/409|modified/);
  });

  test("a watch sees ADDED, MODIFIED, DELETED (stamped with the deletion's RV), and resumes after a resourceVersion", async () => {
    const start = (await core.listNamespacedConfigMap({ namespace: "default" })).metadata?.resourceVersion ?? "0";
    const live = collect("/api/v1/namespaces/default/configmaps", { resourceVersion: start, labelSelector: "app=watched" });
    await live.started;
    await core.createNamespacedConfigMap({ namespace: "default", body: configMap("w1", {}, { app: "watched" }) });
    const modified = await core.patchNamespacedConfigMap({ name: "w1", namespace: "default", body: [{ op: "add", path: "/data", value: { k: "v" } }] });
    await core.deleteNamespacedConfigMap({ name: "w1", namespace: "default" });
    await until(() => live.events.length === 3, "three events");
    live.stop();
    expect(live.events.map((e) => e.type)).toEqual(["ADDED", "MODIFIED", "DELETED"]);
    expect(Number(live.events[2]?.rv)).toBeGreaterThan(Number(modified.metadata?.resourceVersion));

    const resumed = collect("/api/v1/namespaces/default/configmaps", { resourceVersion: live.events[0]?.rv ?? "", labelSelector: "app=watched" });
    await resumed.started;
    await until(() => resumed.events.length === 2, "the two later events");
    resumed.stop();
    expect(resumed.events.map((e) => e.type)).toEqual(["MODIFIED", "DELETED"]);
  });

  test("a watch from a resourceVersion older than the event ring gets 410 Gone", async () => {
    for (let i = 0; i < 25; i++) await core.createNamespacedConfigMap({ namespace: "default", body: configMap(`churn-${i}`, {}, { app: "churn" }) });
    const seen: { type: string; code?: number }[] = [];
    let ended: unknown = "not yet";
    await new Watch(config).watch(
      "/api/v1/namespaces/default/configmaps",
      { resourceVersion: "2" },
      (type, object: { code?: number }) => seen.push({ type, code: object.code }),
      (error) => (ended = error),
    );
    await until(() => ended !== "not yet", "the watch to end");
    expect(seen).toEqual([{ type: "ERROR", code: 410 }]);
  });

  test("an informer whose watch ends after falling behind the event ring re-lists (410 Gone) and keeps watching", async () => {
    let lists = 0;
    const informer = makeInformer(
      config,
      "/api/v1/namespaces/default/configmaps",
      () => {
        lists += 1;
        return core.listNamespacedConfigMap({ namespace: "default", labelSelector: "app=informed" });
      },
      "app=informed",
    );
    await informer.start();
    await core.createNamespacedConfigMap({ namespace: "default", body: configMap("i0", {}, { app: "informed" }) });
    await until(() => informer.list().some((o) => o.metadata?.name === "i0"), "i0 in the informer");
    expect(lists).toBe(1);

    // More changes than the ring holds, none of which the informer sees: its resourceVersion
    // goes stale. Ending its watch makes it resume from there, get 410, and list again.
    for (let i = 0; i < 30; i++) await core.createNamespacedConfigMap({ namespace: "default", body: configMap(`unrelated-${i}`, {}, { app: "unrelated" }) });
    cluster.api.endWatches();
    await until(() => lists === 2, "a second list after 410 Gone");

    await core.createNamespacedConfigMap({ namespace: "default", body: configMap("i1", {}, { app: "informed" }) });
    await until(() => informer.list().some((o) => o.metadata?.name === "i1"), "i1 through the new watch");
    expect(informer.list().map((o) => o.metadata?.name).sort()).toEqual(["i0", "i1"]);
    await informer.stop();
  });
});
