/** Target resolution against a test cluster running the demo shop. */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestCluster, type TestCluster } from "../../test/cluster/cluster.ts";
import { demoImages, installDemo, waitForDemo } from "../../test/cluster/demo/demoApp.ts";
import { kubectlFor } from "../../test/cluster/support/kubectl.ts";
import { freePort } from "../../test/support/ports.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { KbridgeError, type TargetRef } from "../protocol/index.ts";
import { openCluster, type ClusterConnection } from "./clusterConnection.ts";
import { findTarget } from "./findTarget.ts";

const dir = tempDir("find-target");
let cluster: TestCluster;
let kubeconfig: string;
let connection: ClusterConnection;

const pod = (name: string, containers: string, extra = "") => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: shop, labels: {app: ${name}}${extra}}
spec:
  containers:
${containers}`;
const container = (name: string, port?: number) => `  - {name: ${name}, image: node:22, command: ["node", "-e", "setInterval(() => {}, 1000)"]${port ? `, ports: [{name: http, containerPort: ${port}}]` : ""}}\n`;
const service = (name: string, selector: string, port = 80, target: string | number = 8080) =>
  `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: shop}\nspec:\n  ${selector ? `selector: {${selector}}\n  ` : ""}ports: [{port: ${port}, targetPort: ${target}}]\n`;

beforeAll(async () => {
  cluster = await startTestCluster({ images: [demoImages] });
  installDemo(cluster);
  await waitForDemo(cluster);
  kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
  const extra = [
    pod("solo", container("solo", 9000)),
    pod("duo", container("app", 8080) + container("metrics", 9090)),
    service("duo", "app: duo", 80, 8080),
    pod("twins", container("left", 8080) + container("right", 8080)),
    service("twins", "app: twins"),
    pod("meshed", container("istio-proxy", 15001) + container("shop", 8080)),
    pod("annotated", container("a") + container("b"), ", annotations: {kubectl.kubernetes.io/default-container: b}"),
    service("external", ""),
    service("nobody", "app: nobody"),
    `apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: orphan-rs, namespace: shop}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: orphan}}\n  template:\n    metadata: {labels: {app: orphan}}\n    spec:\n      containers:\n${container("orphan", 8080).replace(/^/gm, "    ").trimEnd()}\n`,
    service("orphan", "app: orphan"),
  ];
  const applied = await kubectlFor(kubeconfig)(["apply", "-f", "-"], { stdin: extra.join("---\n") });
  if (applied.code !== 0) throw new Error(applied.stderr);
  connection = openCluster([kubeconfig], "kbridge-demo");
});
afterAll(() => cluster.stop());

async function codeOf(ref: TargetRef): Promise<{ code: string; message: string; hint?: string }> {
  try {
    await findTarget(connection, ref);
  } catch (error) {
    if (error instanceof KbridgeError) return { code: error.info.code, message: error.message, hint: error.info.hint };
    throw error;
  }
  throw new Error("expected an error");
}

describe("findTarget", () => {
  test("a Service resolves through its pods to the owning Deployment, with named target ports and every replica", async () => {
    const target = await findTarget(connection, { kind: "service", name: "api", namespace: "shop" });
    expect(target).toMatchObject({
      namespace: "shop",
      service: "api",
      workload: { kind: "Deployment", name: "api", replicas: 2 },
      container: "api",
      containerReason: "only container",
      ports: [{ servicePort: 80, name: "http", containerPort: 8080, protocol: "TCP" }],
    });
    expect(target.pods).toHaveLength(2);
    expect(target.pods.every((p) => p.startsWith("api-"))).toBe(true);
    expect(await findTarget(connection, { kind: "service", name: "store", namespace: "shop" })).toMatchObject({ workload: { kind: "Deployment", name: "store" }, ports: [{ servicePort: 8080, containerPort: 8080 }] });
  });

  test("a Deployment and a bare Pod resolve directly", async () => {
    expect(await findTarget(connection, { kind: "deployment", name: "web", namespace: "shop" })).toMatchObject({ workload: { kind: "Deployment", name: "web", replicas: 1 }, container: "web", ports: [{ containerPort: 8080, name: "http" }] });
    expect(await findTarget(connection, { kind: "pod", name: "solo", namespace: "shop" })).toMatchObject({ workload: { kind: "Pod", name: "solo" }, container: "solo", pods: ["solo"] });
  });

  test("container choice: requested, annotation, only non-sidecar, the one serving the service's ports", async () => {
    expect(await findTarget(connection, { kind: "pod", name: "duo", namespace: "shop", container: "metrics" })).toMatchObject({ container: "metrics", containerReason: "requested" });
    expect(await findTarget(connection, { kind: "pod", name: "annotated", namespace: "shop" })).toMatchObject({ container: "b", containerReason: "default-container annotation" });
    expect(await findTarget(connection, { kind: "pod", name: "meshed", namespace: "shop" })).toMatchObject({ container: "shop", containerReason: "only non-sidecar container" });
    expect(await findTarget(connection, { kind: "service", name: "duo", namespace: "shop" })).toMatchObject({ container: "app", containerReason: "serves the service's ports" });
  });

  test("every bad target gets an error that says what and what to do", async () => {
    expect(await codeOf({ kind: "service", name: "nope", namespace: "shop" })).toMatchObject({ code: "service-not-found", hint: expect.stringContaining("kubectl get services -n shop") });
    expect(await codeOf({ kind: "service", name: "external", namespace: "shop" })).toMatchObject({ code: "service-without-selector", hint: expect.stringContaining("deployment or pod") });
    expect(await codeOf({ kind: "service", name: "nobody", namespace: "shop" })).toMatchObject({ code: "no-pods", message: expect.stringContaining("app=nobody") });
    expect(await codeOf({ kind: "service", name: "orphan", namespace: "shop" })).toMatchObject({ code: "unsupported-owner", message: expect.stringContaining('ReplicaSet "orphan-rs"') });
    expect(await codeOf({ kind: "service", name: "twins", namespace: "shop" })).toMatchObject({ code: "ambiguous-container", message: expect.stringContaining("left, right") });
    expect(await codeOf({ kind: "pod", name: "duo", namespace: "shop", container: "nope" })).toMatchObject({ code: "container-not-found", hint: "Its containers are: app, metrics." });
    expect(await codeOf({ kind: "deployment", name: "nope", namespace: "shop" })).toMatchObject({ code: "deployment-not-found" });
    const apiPod = (await findTarget(connection, { kind: "service", name: "api", namespace: "shop" })).pods[0] as string;
    expect(await codeOf({ kind: "pod", name: apiPod, namespace: "shop" })).toMatchObject({ code: "pod-has-owner" });
  });

  test("an unknown context and an unreachable cluster are clear errors", async () => {
    expect(() => openCluster([kubeconfig], "prod")).toThrow(/kube context "prod" is not in your kubeconfig/);
    const unreachable = path.join(dir, "unreachable");
    const config = JSON.parse(fs.readFileSync(kubeconfig, "utf8")) as { clusters: { cluster: { server: string } }[] };
    const closed = await freePort();
    config.clusters[0]!.cluster.server = `https://127.0.0.1:${closed}`;
    fs.writeFileSync(unreachable, JSON.stringify(config));
    const error = await findTarget(openCluster([unreachable], "kbridge-demo"), { kind: "service", name: "api", namespace: "shop" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KbridgeError);
    expect((error as KbridgeError).info).toMatchObject({ code: "cluster-unreachable", category: "cluster", message: expect.stringMatching(new RegExp(`Cannot reach the cluster of context "kbridge-demo" \\(https://127\\.0\\.0\\.1:${closed}\\) to read service shop/api: ECONNREFUSED`)) });
  });
});
