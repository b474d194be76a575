/** The API server as the machine's real kubectl sees it. */
import fs from "node:fs";
import https from "node:https";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { tempDir } from "../../support/tempDir.ts";
import { startTestCluster, type TestCluster } from "../cluster.ts";
import { kubectlFor } from "../support/kubectl.ts";

const dir = tempDir("kubectl");
let cluster: TestCluster;
let kubectl: ReturnType<typeof kubectlFor>;

beforeAll(async () => {
  cluster = await startTestCluster();
  kubectl = kubectlFor(cluster.writeKubeconfig(path.join(dir, "kubeconfig")));
});
afterAll(() => cluster.stop());

const manifest = (name: string, greeting: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  labels: {app: demo, tier: ${name}}
data:
  greeting: ${greeting}
`;

describe("kubectl against the test cluster", () => {
  test("reports server v1.32 (so the dispatcher runs kubectl 1.32) and lists the default namespaces", async () => {
    const version = JSON.parse((await kubectl(["version", "-o", "json"])).stdout) as { serverVersion: { gitVersion: string } };
    expect(version.serverVersion.gitVersion).toMatch(/^v1\.32\./);
    const namespaces = await kubectl(["get", "namespaces", "-o", "name"]);
    expect(namespaces.stdout.split("\n").filter(Boolean)).toEqual(["namespace/default", "namespace/kube-node-lease", "namespace/kube-public", "namespace/kube-system"]);
  });

  test("api-resources lists kinds with short names from discovery", async () => {
    const { stdout } = await kubectl(["api-resources", "--no-headers"]);
    expect(stdout).toMatch(/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    expect(stdout).toMatch(/^services\s+svc\s+v1\s+true\s+Service$/m);
  });

  test("apply -f with default validation creates; get filters by label; delete removes", async () => {
    const file = path.join(dir, "cm.yaml");
    fs.writeFileSync(file, manifest("web", "hello") + "---\n" + manifest("api", "hi"));
    const applied = await kubectl(["apply", "-f", file]);
    expect(applied.stderr).toBe("");
    expect(applied.stdout).toBe("configmap/web created\nconfigmap/api created\n");

    expect((await kubectl(["get", "cm", "-l", "tier=api", "-o", "name"])).stdout).toBe("configmap/api\n");
    expect((await kubectl(["get", "cm", "-l", "tier in (web,api),app=demo", "-o", "name"])).stdout).toBe("configmap/api\nconfigmap/web\n");
    expect((await kubectl(["get", "cm", "web", "-o", "jsonpath={.data.greeting}"])).stdout).toBe("hello");

    expect((await kubectl(["delete", "cm", "web"])).stdout).toBe('configmap "web" deleted\n');
    const gone = await kubectl(["get", "cm", "web"]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/Error from server \(NotFound\): configmaps "web" not found/);
  });

  test("server-side dry run answers as if created and stores nothing", async () => {
    const file = path.join(dir, "dry.yaml");
    fs.writeFileSync(file, manifest("dry", "x"));
    expect((await kubectl(["apply", "--dry-run=server", "-f", file])).stdout).toBe("configmap/dry created (server dry run)\n");
    expect((await kubectl(["get", "cm", "dry"])).stderr).toMatch(/NotFound/);
  });

  test("a missing namespace, a duplicate and a protobuf body get Kubernetes errors (or are decoded)", async () => {
    const file = path.join(dir, "elsewhere.yaml");
    fs.writeFileSync(file, manifest("x", "y").replace("metadata:\n", "metadata:\n  namespace: nowhere\n"));
    expect((await kubectl(["create", "-f", file])).stderr).toMatch(/Error from server \(NotFound\).*namespaces "nowhere" not found/);
    const twice = path.join(dir, "twice.yaml");
    fs.writeFileSync(twice, manifest("twice", "1"));
    expect((await kubectl(["create", "-f", twice])).code).toBe(0);
    expect((await kubectl(["create", "-f", twice])).stderr).toMatch(/AlreadyExists.*configmaps "twice" already exists/);
    // kubectl's typed create sends protobuf: decoded for the simple kinds, a clear 415 for the rest.
    expect((await kubectl(["create", "configmap", "proto", "--from-literal=a=b"])).stderr).toBe("");
    expect((await kubectl(["get", "configmap", "proto", "-o", "jsonpath={.data.a}"])).stdout).toBe("b");
    expect((await kubectl(["create", "deployment", "proto", "--image=node:22"])).stderr).toMatch(/does not decode protobuf Deployment bodies; send JSON/);
  });

  test("re-apply (strategic merge), server-side apply, scale, set image, label and patch", async () => {
    const deploy = (image: string, replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers:
      - name: shop
        image: ${image}
        env: [{name: MODE, value: demo}]
`;
    const file = path.join(dir, "deploy.yaml");
    fs.writeFileSync(file, deploy("shop:1", 1));
    expect((await kubectl(["apply", "-f", file])).stdout).toBe("deployment.apps/shop created\n");
    fs.writeFileSync(file, deploy("shop:2", 2));
    const reapplied = await kubectl(["apply", "-f", file]);
    expect(reapplied.stderr).toBe("");
    expect(reapplied.stdout).toBe("deployment.apps/shop configured\n");
    const get = async () => JSON.parse((await kubectl(["get", "deploy", "shop", "-o", "json"])).stdout) as {
      metadata: { generation: number; labels?: Record<string, string> };
      spec: { replicas: number; template: { spec: { containers: { name: string; image: string; env?: unknown[] }[] } } };
    };
    expect((await get()).spec.replicas).toBe(2);
    expect((await get()).spec.template.spec.containers[0]).toMatchObject({ image: "shop:2", env: [{ name: "MODE", value: "demo" }] });
    expect((await get()).metadata.generation).toBe(2);

    expect((await kubectl(["scale", "deploy/shop", "--replicas=4"])).stdout).toBe("deployment.apps/shop scaled\n");
    expect((await get()).spec.replicas).toBe(4);
    expect((await kubectl(["set", "image", "deploy/shop", "shop=shop:3"])).stdout).toBe("deployment.apps/shop image updated\n");
    expect((await get()).spec.template.spec.containers).toEqual([expect.objectContaining({ name: "shop", image: "shop:3", env: [{ name: "MODE", value: "demo" }] })]);
    expect((await kubectl(["label", "deploy/shop", "team=payments"])).code).toBe(0);
    expect((await kubectl(["patch", "deploy/shop", "--type=merge", "-p", '{"metadata":{"labels":{"team":null}}}'])).code).toBe(0);
    expect((await get()).metadata.labels?.team).toBeUndefined();
    expect((await kubectl(["patch", "deploy/shop", "--type=json", "-p", '[{"op":"replace","path":"/spec/replicas","value":1}]'])).code).toBe(0);
    expect((await get()).spec.replicas).toBe(1);

    const ssaFile = path.join(dir, "ssa.yaml");
    fs.writeFileSync(ssaFile, manifest("ssa", "one").replace("data:\n  greeting: one\n", "data:\n  greeting: one\n  extra: x\n"));
    expect((await kubectl(["apply", "--server-side", "-f", ssaFile])).stdout).toBe("configmap/ssa serverside-applied\n");
    fs.writeFileSync(ssaFile, manifest("ssa", "two"));
    expect((await kubectl(["apply", "--server-side", "-f", ssaFile])).stdout).toBe("configmap/ssa serverside-applied\n");
    // The field the manager stopped applying is gone.
    expect(JSON.parse((await kubectl(["get", "cm", "ssa", "-o", "json"])).stdout).data).toEqual({ greeting: "two" });
  });

  test("HTTPS accepts the token or the client certificate, and refuses a client with neither", async () => {
    const withCertificate = kubectlFor(cluster.writeKubeconfig(path.join(dir, "kubeconfig-cert"), { auth: "certificate" }));
    expect((await withCertificate(["get", "namespace", "default", "-o", "name"])).stdout).toBe("namespace/default\n");
    // Without credentials (kubectl would prompt for a password here): 401 with a Status body.
    const anonymous = await new Promise<{ code: number; body: string }>((resolve, reject) => {
      https
        .get(`${cluster.api.url}/api/v1/namespaces`, { ca: cluster.certificates?.caCert }, (res) => {
          let body = "";
          res.on("data", (chunk: Buffer) => (body += chunk.toString()));
          res.on("end", () => resolve({ code: res.statusCode ?? 0, body }));
        })
        .on("error", reject);
    });
    expect(anonymous.code).toBe(401);
    expect(JSON.parse(anonymous.body)).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401 });
  });

  test("plain HTTP serves kubectl without credentials", async () => {
    const plain = await startTestCluster({ scheme: "http" });
    try {
      expect(plain.api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const run = kubectlFor(plain.writeKubeconfig(path.join(dir, "kubeconfig-http")));
      expect((await run(["get", "namespace", "kube-system", "-o", "name"])).stdout).toBe("namespace/kube-system\n");
    } finally {
      await plain.stop();
    }
  });

  test("deleting a namespace deletes what is in it", async () => {
    const file = path.join(dir, "ns.yaml");
    fs.writeFileSync(file, `apiVersion: v1\nkind: Namespace\nmetadata: {name: scratch}\n---\n${manifest("inside", "x").replace("metadata:\n", "metadata:\n  namespace: scratch\n")}`);
    expect((await kubectl(["apply", "-f", file])).code).toBe(0);
    expect((await kubectl(["get", "cm", "-n", "scratch", "-l", "app=demo", "-o", "name"])).stdout).toBe("configmap/inside\n");
    expect((await kubectl(["delete", "namespace", "scratch"])).code).toBe(0);
    expect((await kubectl(["get", "cm", "-n", "scratch", "-o", "name"])).stdout).toBe("");
  });
});
