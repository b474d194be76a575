/**
 * The controllers as kubectl sees them, with real pods: the `web:*` image runs a small
 * HTTP server, so pods become ready the way the kubelet decides it.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { tempDir } from "../../support/tempDir.ts";
import type { KubeObject } from "../apiserver/store.ts";
import { startTestCluster, type TestCluster } from "../cluster.ts";
import { hostnameImage } from "../support/hostnameImage.ts";
import { kubectlFor } from "../support/kubectl.ts";
import { kind } from "./objects.ts";
import { until } from "../../support/until.ts";

const dir = tempDir("controllers");
let cluster: TestCluster;
let kubectl: ReturnType<typeof kubectlFor>;

beforeAll(async () => {
  cluster = await startTestCluster({
    backoffBaseMs: 200,
    images: [hostnameImage("web")],
  });
  kubectl = kubectlFor(cluster.writeKubeconfig(path.join(dir, "kubeconfig")));
});
afterAll(() => cluster.stop());


const pods = (app: string) => cluster.store.list(kind("Pod"), "default").filter((p) => p.metadata.labels?.app === app && !p.metadata.deletionTimestamp);
const replicaSets = (app: string) => cluster.store.list(kind("ReplicaSet"), "default").filter((rs) => rs.metadata.labels?.app === app);

const manifests = (image: string, replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: ${image}
        ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
`;

describe("controllers", () => {
  test("a Deployment gets a ReplicaSet and pods; a Service gets a ClusterIP, Endpoints and an EndpointSlice of the ready pods", async () => {
    const file = path.join(dir, "web.yaml");
    fs.writeFileSync(file, manifests("web:1", 3));
    expect((await kubectl(["apply", "-f", file])).code).toBe(0);
    expect((await kubectl(["rollout", "status", "deploy/web", "--timeout=20s"], { timeoutMs: 25_000 })).stdout).toMatch(/successfully rolled out/);

    const [rs] = replicaSets("web");
    expect(rs?.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{10}$/);
    expect(rs?.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("1");
    expect(pods("web")).toHaveLength(3);
    for (const pod of pods("web")) {
      expect(pod.metadata.labels?.["pod-template-hash"]).toBe(rs?.metadata.labels?.["pod-template-hash"]);
      expect(pod.metadata.ownerReferences?.[0]).toMatchObject({ kind: "ReplicaSet", name: rs?.metadata.name, controller: true });
      expect(pod.spec).toMatchObject({ nodeName: "kbridge-node", restartPolicy: "Always", serviceAccountName: "default" });
    }

    const service = cluster.store.get(kind("Service"), "default", "web") as KubeObject & { spec: { clusterIP: string } };
    expect(service.spec.clusterIP.startsWith(`${cluster.addresses.servicePrefix}.`)).toBe(true);
    const endpoints = await until(() => {
      const e = cluster.store.find(kind("Endpoints"), "default", "web") as (KubeObject & { subsets?: { addresses?: { ip: string }[]; ports: { port: number }[] }[] }) | undefined;
      return e?.subsets?.[0]?.addresses?.length === 3 ? e : undefined;
    }, "3 endpoint addresses");
    expect(endpoints.subsets?.[0]?.ports).toEqual([{ name: "http", port: 8080, protocol: "TCP" }]);
    const slices = JSON.parse((await kubectl(["get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o", "json"])).stdout) as { items: { endpoints: unknown[]; ports: unknown[] }[] };
    expect(slices.items).toHaveLength(1);
    expect(slices.items[0]?.endpoints).toHaveLength(3);
    expect(slices.items[0]?.ports).toEqual([{ name: "http", port: 8080, protocol: "TCP" }]);
  });

  test("a new image rolls out through a second ReplicaSet; the old one ends at 0", async () => {
    expect((await kubectl(["set", "image", "deploy/web", "web=web:2"])).code).toBe(0);
    expect((await kubectl(["rollout", "status", "deploy/web", "--timeout=20s"], { timeoutMs: 25_000 })).stdout).toMatch(/successfully rolled out/);
    const sets = replicaSets("web").map((rs) => ({ replicas: (rs.spec as { replicas: number }).replicas, revision: rs.metadata.annotations?.["deployment.kubernetes.io/revision"] }));
    expect(sets.sort((a, b) => Number(a.revision) - Number(b.revision))).toEqual([{ replicas: 0, revision: "1" }, { replicas: 3, revision: "2" }]);
    await until(() => pods("web").length === 3 && pods("web").every((p) => (p.spec as { containers: { image: string }[] }).containers[0]?.image === "web:2"), "3 pods of web:2");
    const events = (await kubectl(["get", "events", "--field-selector", "involvedObject.name=web", "-o", "json"])).stdout;
    expect(events).toMatch(/Scaled down replica set web-\w+ from \d to 0/);
  });

  test("scaling, deleting a pod (replaced), and deleting the Deployment (ReplicaSets and pods collected)", async () => {
    expect((await kubectl(["scale", "deploy/web", "--replicas=1"])).code).toBe(0);
    await until(() => pods("web").length === 1, "1 pod");
    const [only] = pods("web");
    expect((await kubectl(["delete", "pod", only?.metadata.name ?? ""])).code).toBe(0);
    await until(() => pods("web").length === 1 && pods("web")[0]?.metadata.name !== only?.metadata.name, "a replacement pod");

    expect((await kubectl(["delete", "deploy", "web"])).code).toBe(0);
    await until(() => replicaSets("web").length === 0 && pods("web").length === 0, "ReplicaSets and pods collected");
    expect((await kubectl(["delete", "svc", "web"])).code).toBe(0);
    await until(() => !cluster.store.find(kind("Endpoints"), "default", "web") && cluster.store.list(kind("EndpointSlice"), "default").length === 0, "endpoints removed");
  });

  test("a StatefulSet creates <name>-<ordinal> pods in order, rolls an update from the highest ordinal down, and scales down from the top", async () => {
    const set = (image: string, replicas: number) => `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: ${replicas}
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: db
        image: ${image}
        ports: [{name: sql, containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
`;
    expect((await kubectl(["apply", "-f", "-"], { stdin: set("web:1", 3) })).code).toBe(0);
    expect((await kubectl(["rollout", "status", "sts/db", "--timeout=30s"], { timeoutMs: 35_000 })).stdout).toMatch(/roll out complete|rolling update complete|partitioned roll out complete/);
    const created = pods("db").sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)));
    expect(pods("db").map((p) => p.metadata.name).sort()).toEqual(["db-0", "db-1", "db-2"]);
    expect(created.map((p) => p.metadata.labels?.["apps.kubernetes.io/pod-index"])).toEqual(["0", "1", "2"]);
    expect(pods("db")[0]?.spec).toMatchObject({ subdomain: "db" });
    expect((await kubectl(["get", "pod", "db-1", "-o", "jsonpath={.spec.hostname}"])).stdout).toBe("db-1");

    expect((await kubectl(["apply", "-f", "-"], { stdin: set("web:2", 3) })).code).toBe(0);
    expect((await kubectl(["rollout", "status", "sts/db", "--timeout=40s"], { timeoutMs: 45_000 })).stdout).toMatch(/roll out complete|rolling update complete/);
    expect(pods("db").map((p) => (p.spec as { containers: { image: string }[] }).containers[0]?.image)).toEqual(["web:2", "web:2", "web:2"]);
    const deletions = JSON.parse((await kubectl(["get", "events", "--field-selector", "involvedObject.name=db,reason=SuccessfulDelete", "-o", "json"])).stdout) as { items: { message: string; metadata: { resourceVersion: string } }[] };
    expect(deletions.items.sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion)).map((e) => /Pod (db-\d)/.exec(e.message)?.[1])).toEqual(["db-2", "db-1", "db-0"]);

    expect((await kubectl(["scale", "sts/db", "--replicas=1"])).code).toBe(0);
    await until(() => pods("db").length === 1 && pods("db")[0]?.metadata.name === "db-0", "db scaled down to db-0");
    expect((await kubectl(["delete", "sts", "db"])).code).toBe(0);
    await until(() => cluster.store.list(kind("Pod"), "default").every((p) => p.metadata.labels?.app !== "db"), "the StatefulSet's pods collected");
  });

  test("the same template written with its keys in another order is the same template: its ReplicaSet is kept, no rollout", async () => {
    const steady = (order: "one" | "other") =>
      order === "one"
        ? `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: steady}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: steady}}\n  template:\n    metadata: {labels: {app: steady, tier: back}}\n    spec:\n      containers:\n      - {name: steady, image: "web:1", ports: [{name: http, containerPort: 8080}]}\n`
        : `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: steady}\nspec:\n  template:\n    spec:\n      containers:\n      - {ports: [{containerPort: 8080, name: http}], image: "web:1", name: steady}\n    metadata: {labels: {tier: back, app: steady}}\n  selector: {matchLabels: {app: steady}}\n  replicas: 1\n`;
    expect((await kubectl(["apply", "-f", "-"], { stdin: steady("one") })).code).toBe(0);
    expect((await kubectl(["rollout", "status", "deploy/steady", "--timeout=20s"], { timeoutMs: 25_000 })).code).toBe(0);
    const before = replicaSets("steady").map((rs) => rs.metadata.name);
    const pod = pods("steady").map((p) => p.metadata.name);
    expect(before).toHaveLength(1);
    expect((await kubectl(["replace", "-f", "-"], { stdin: steady("other") })).code).toBe(0);
    cluster.controllers.reconcile();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(replicaSets("steady").map((rs) => rs.metadata.name)).toEqual(before);
    expect(pods("steady").map((p) => p.metadata.name)).toEqual(pod);
    expect((await kubectl(["delete", "deployment", "steady"])).code).toBe(0);
  });

  test("every namespace gets a default ServiceAccount", async () => {
    expect((await kubectl(["create", "-f", "-"], { stdin: "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n" })).code).toBe(0);
    await until(() => cluster.store.find(kind("ServiceAccount"), "team-a", "default"), "the default ServiceAccount");
  });
});
