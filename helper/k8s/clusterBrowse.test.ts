import type { V1Pod, V1ReplicaSet, V1Service } from "@kubernetes/client-node";
import { expect, test } from "vitest";
import { ORIGINAL_SELECTOR_ANNOTATION } from "../agent/names.mjs";
import { listServices } from "./clusterBrowse.ts";
import type { ClusterConnection } from "./clusterConnection.ts";

const pod = (name: string, labels: Record<string, string>, replicaSet: string): V1Pod => ({
  metadata: { name, labels, ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: replicaSet, uid: replicaSet, controller: true }] },
  spec: { containers: [{ name: "c", ports: [{ name: "http", containerPort: 8080 }] }] },
  status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
});
const replicaSet = (name: string, deployment: string): V1ReplicaSet => ({ metadata: { name, ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: deployment, uid: deployment, controller: true }] } });

function connectionWith(services: V1Service[], pods: V1Pod[], replicaSets: V1ReplicaSet[]): ClusterConnection {
  return {
    context: "test",
    server: "https://127.0.0.1:1",
    core: { listNamespacedService: async () => ({ items: services }), listNamespacedPod: async () => ({ items: pods }) },
    apps: { listNamespacedReplicaSet: async () => ({ items: replicaSets }) },
  } as unknown as ClusterConnection;
}

test("a Service routed by isolation shows the workload it selected before, not kbridge's router", async () => {
  const routed: V1Service = {
    metadata: { name: "api", annotations: { [ORIGINAL_SELECTOR_ANNOTATION]: JSON.stringify({ app: "api" }) } },
    spec: { selector: { "kbridge.dev/route-from": "api" }, ports: [{ port: 80, targetPort: "http" as unknown as never }] },
  };
  const plain: V1Service = { metadata: { name: "web" }, spec: { selector: { app: "web" }, ports: [{ port: 80 }] } };
  const connection = connectionWith(
    [routed, plain],
    [pod("api-1", { app: "api" }, "api-rs"), pod("api-2", { app: "api" }, "api-rs"), pod("router-1", { "kbridge.dev/route-from": "api" }, "router-rs"), pod("web-1", { app: "web" }, "web-rs")],
    [replicaSet("api-rs", "api"), replicaSet("router-rs", "kbridge-router-api"), replicaSet("web-rs", "web")],
  );
  const [api, web] = await listServices(connection, "shop");
  expect(api).toMatchObject({ name: "api", workload: { kind: "Deployment", name: "api" }, pods: 2, ready: 2, routed: true, ports: [{ port: 80, targetPort: "http", containerPort: 8080 }] });
  expect(web).toMatchObject({ name: "web", workload: { kind: "Deployment", name: "web" }, pods: 1 });
  expect(web).not.toHaveProperty("routed");
});
