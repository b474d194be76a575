/**
 * Isolation in a namespace whose NetworkPolicies deny by default and admit the app by its
 * labels, as the developer (edit, after kbridge setup): the routers and the agent clone get
 * the traffic the app gets, requests carrying the key reach the workstation, the rest the
 * cluster's pods; after disconnect the Services, Ingresses and policies are as before.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { DEVELOPER_CONTEXT, startTestCluster, type TestCluster } from "../../test/cluster/cluster.ts";
import { kind } from "../../test/cluster/controllers/objects.ts";
import { demoImages, installDemo, viaIngress, waitForDemo } from "../../test/cluster/demo/demoApp.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";
import { openCluster } from "../k8s/clusterConnection.ts";
import { applySetup } from "../k8s/setup.ts";
import { silentLogger } from "../logs/logger.ts";
import { connect } from "./connectSession.ts";

const dir = tempDir("isolation-policies");
let cluster: TestCluster;
let kubeconfig: string;
let workstationPort: number;
const workstation = http.createServer((req, res) => res.end(JSON.stringify({ pod: "workstation", greeting: "from the workstation", items: [], store: "none" })));

const policy = (name: string, app: Record<string, string>, from: object[] | undefined) => ({
  metadata: { name, namespace: "shop" },
  spec: { podSelector: { matchLabels: app }, policyTypes: ["Ingress"], ...(from ? { ingress: [{ from }] } : {}) },
});

beforeAll(async () => {
  cluster = await startTestCluster({ images: [demoImages], backoffBaseMs: 500 });
  installDemo(cluster);
  await waitForDemo(cluster);
  kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"), { developerNamespace: "shop" });
  for (const body of [
    policy("default-deny", {}, undefined),
    policy("web-from-ingress", { app: "web" }, [{ ipBlock: { cidr: `${cluster.ingress.address}/32` } }]),
    policy("api-from-web", { app: "api" }, [{ podSelector: { matchLabels: { app: "web" } } }]),
    policy("store-from-api", { app: "store" }, [{ podSelector: { matchLabels: { app: "api" } } }]),
  ]) {
    cluster.store.create(kind("NetworkPolicy"), body);
  }
  await applySetup(openCluster([kubeconfig], "kbridge-demo"), "shop");
  await new Promise<void>((resolve) => workstation.listen(0, "127.0.0.1", resolve));
  workstationPort = (workstation.address() as AddressInfo).port;
}, 60_000);
afterAll(async () => {
  workstation.close();
  await cluster.stop();
});

const snapshot = () =>
  (["Service", "Ingress", "NetworkPolicy"] as const).flatMap((type) =>
    cluster.store.list(kind(type), "shop").map((o) => ({ kind: type, name: o.metadata.name, labels: o.metadata.labels ?? {}, annotations: o.metadata.annotations ?? {}, spec: o.spec })),
  );
const apiBehindWeb = async (headers: Record<string, string> = {}) => {
  const reply = await viaIngress(cluster, "/status", headers);
  expect(reply.status, reply.body).toBe(200);
  return (JSON.parse(reply.body) as { api: string }).api;
};

test("isolate and disconnect under default-deny policies, as the developer", async () => {
  expect(await apiBehindWeb()).toMatch(/^api-/);
  const before = snapshot();
  const session = await connect({
    kubeconfig: [kubeconfig],
    context: DEVELOPER_CONTEXT,
    target: { kind: "service", name: "api", namespace: "shop" },
    ports: [{ port: 80, workstationPort }],
    isolate: { routingKey: "dev-1a2b" },
    log: silentLogger(),
    timeoutMs: 30_000,
  });
  expect(await apiBehindWeb({ "kubernetes-route-as": "dev-1a2b" })).toBe("workstation");
  expect(await apiBehindWeb()).toMatch(/^api-/);
  const added = cluster.store.list(kind("NetworkPolicy"), "shop").map((p) => p.metadata.name).filter((name) => name?.startsWith("kbridge-"));
  // Each router admits what its app admits; app and clones admit the router; clones are admitted where the app is.
  expect(added.sort()).toEqual([
    "kbridge-router-api",
    "kbridge-router-api-as-store-from-api",
    "kbridge-router-api-to-agents",
    "kbridge-router-api-to-app",
    "kbridge-router-web",
    "kbridge-router-web-as-api-from-web",
    "kbridge-router-web-to-agents",
    "kbridge-router-web-to-app",
  ]);
  await session.disconnect();
  await until(() => cluster.store.all().every(({ object }) => object.metadata.labels?.["app.kubernetes.io/managed-by"] !== "kbridge"), "no kbridge object left");
  expect(snapshot()).toEqual(before);
  expect(await apiBehindWeb()).toMatch(/^api-/);
});
