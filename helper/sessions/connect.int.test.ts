/** Connect (inbound redirection and restore) against the test cluster's demo shop. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestCluster, type TestCluster } from "../../test/cluster/cluster.ts";
import { kind } from "../../test/cluster/controllers/objects.ts";
import { demoImages, installDemo, viaIngress, waitForDemo } from "../../test/cluster/demo/demoApp.ts";
import { hostnameImage, OTHER_WORKLOADS } from "../../test/cluster/support/hostnameImage.ts";
import { kubectlFor } from "../../test/cluster/support/kubectl.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";
import { silentLogger } from "../logs/logger.ts";
import { KbridgeError } from "../protocol/index.ts";
import { connect } from "./connectSession.ts";
import type { ConnectOptions } from "./sessionPlan.ts";
import { deployment, manifests, service } from "../../test/support/manifests.ts";

const dir = tempDir("connect");
let cluster: TestCluster;
let kubeconfig: string;
let workstation: http.Server;
let workstationPort: number;

beforeAll(async () => {
  cluster = await startTestCluster({ images: [demoImages, hostnameImage("echo")], backoffBaseMs: 500 });
  installDemo(cluster);
  await waitForDemo(cluster);
  kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
  // The developer's version of `api`, on the workstation.
  workstation = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ pod: "workstation", greeting: "from the workstation", items: [], store: "none", path: req.url }));
  });
  await new Promise<void>((resolve) => workstation.listen(0, "127.0.0.1", resolve));
  workstationPort = (workstation.address() as AddressInfo).port;
});
afterAll(async () => {
  workstation.close();
  await cluster.stop();
});

const options = (overrides: Partial<ConnectOptions> = {}): ConnectOptions => ({
  kubeconfig: [kubeconfig],
  context: "kbridge-demo",
  target: { kind: "service", name: "api", namespace: "shop" },
  ports: [{ port: 80, workstationPort }],
  log: silentLogger(),
  timeoutMs: 30_000,
  ...overrides,
});

const httpGet = (url: string) =>
  new Promise<string>((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
const deploymentSpec = (name: string) => cluster.store.get(kind("Deployment"), "shop", name).spec;
const kbridgeObjects = () => cluster.store.all().filter(({ object }) => object.metadata.labels?.["app.kubernetes.io/managed-by"] === "kbridge").map(({ object }) => `${object.kind}/${object.metadata.name}`);
const apiAnswers = async (count: number) => {
  const answers = new Set<string>();
  for (let i = 0; i < count; i++) answers.add((JSON.parse((await viaIngress(cluster, "/status")).body) as { api: string }).api);
  return [...answers];
};

describe("connect", () => {
  test("the service's traffic reaches the workstation from every replica, through the ingress and the ClusterIP; disconnect restores the exact spec", async () => {
    const before = deploymentSpec("api");
    const steps: string[] = [];
    const session = await connect(options({ onStep: (s) => s.status === "done" && steps.push(s.name) }));
    try {
      expect(steps).toEqual(["resolve target", "preflight", "deploy agent", "wait for agent pods", "open tunnels", "read environment", "connected"]);
      expect(session.tunnels()).toHaveLength(2);
      expect(kbridgeObjects().sort()).toEqual(
        [
          `ConfigMap/kbridge-${session.id}-agent`,
          `Pod/kbridge-${session.id}-restorer`,
          `Role/kbridge-${session.id}-restorer`,
          `RoleBinding/kbridge-${session.id}-restorer`,
          `Secret/kbridge-${session.id}-original`,
          `ServiceAccount/kbridge-${session.id}-restorer`,
        ].sort(),
      );
      // All but the Secret are owned by it: the restorer deletes the Secret last and the garbage collector takes its own pod and rights.
      const secretUid = cluster.store.get(kind("Secret"), "shop", `kbridge-${session.id}-original`).metadata.uid;
      for (const [type, name] of [["ConfigMap", "agent"], ["Pod", "restorer"], ["Role", "restorer"], ["RoleBinding", "restorer"], ["ServiceAccount", "restorer"]] as const) {
        expect(cluster.store.get(kind(type), "shop", `kbridge-${session.id}-${name}`).metadata.ownerReferences, `${type} ${name}`).toEqual([{ apiVersion: "v1", kind: "Secret", name: `kbridge-${session.id}-original`, uid: secretUid }]);
      }
      // The restorer's identity reaches its session's Secret and no other: asked with its own token, from inside its pod.
      const asRestorer = `const fs = require("fs"), https = require("https"), sa = "/var/run/secrets/kubernetes.io/serviceaccount", out = {};
const paths = { own: "secrets/kbridge-${session.id}-original", other: "secrets/shop-secrets", list: "secrets", configmaps: "configmaps" };
let left = Object.keys(paths).length;
for (const [name, p] of Object.entries(paths)) https.get({ host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT, path: "/api/v1/namespaces/shop/" + p, ca: fs.readFileSync(sa + "/ca.crt"), headers: { authorization: "Bearer " + fs.readFileSync(sa + "/token", "utf8").trim() } }, (r) => { r.resume(); out[name] = r.statusCode; if (--left === 0) console.log(JSON.stringify(out)); });`;
      const asked = await kubectlFor(kubeconfig)(["exec", "-n", "shop", `kbridge-${session.id}-restorer`, "--", "node", "-e", asRestorer]);
      expect(JSON.parse(asked.stdout || "{}"), asked.stderr).toEqual({ own: 200, other: 403, list: 403, configmaps: 403 });
      expect(await apiAnswers(8)).toEqual(["workstation"]);
      const web = cluster.store.list(kind("Pod"), "shop").find((p) => p.metadata.name?.startsWith("web-"))?.metadata.name ?? "";
      const inside = await kubectlFor(kubeconfig)(["exec", "-n", "shop", web, "--", "node", "-e", "require('http').get('http://api/api/items?from=inside', (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => console.log(b)); })"]);
      expect(JSON.parse(inside.stdout)).toMatchObject({ pod: "workstation", path: "/api/items?from=inside" });
    } finally {
      // Two at once (the CLI and the dashboard): one restore, and both return once it is done.
      await Promise.all([session.disconnect(), session.disconnect()]);
    }
    expect(steps.filter((s) => s === "restore")).toEqual(["restore"]);
    expect(deploymentSpec("api")).toStrictEqual(before);
    expect(kbridgeObjects()).toEqual([]);
    await waitForDemo(cluster);
    expect((await apiAnswers(6)).every((pod) => pod.startsWith("api-"))).toBe(true);
  });

  test("bad input gets a clear error and leaves the cluster unchanged", async () => {
    const before = deploymentSpec("api");
    const failure = async (overrides: Partial<ConnectOptions>) => {
      const error = await connect(options(overrides)).then(
        () => new Error("connected"),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(KbridgeError);
      return (error as KbridgeError).info;
    };
    expect(await failure({ target: { kind: "service", name: "nope", namespace: "shop" } })).toMatchObject({ code: "service-not-found" });
    expect(await failure({ context: "prod" })).toMatchObject({ code: "context-not-found" });
    expect(await failure({ ports: [{ port: 81, workstationPort }] })).toMatchObject({ code: "unknown-port", message: expect.stringContaining("its ports: 80") });
    const started = Date.now();
    expect(await failure({ agentImage: "registry.invalid/kbridge/node:22" })).toMatchObject({ code: "agent-failed", message: expect.stringMatching(/ErrImagePull|ImagePullBackOff/) });
    expect(Date.now() - started).toBeLessThan(30_000);
    // A failure half-way through the replacement (the agent ConfigMap's name is taken, after
    // the original was saved) is rolled back too; the object in the way is left alone.
    cluster.store.create(kind("ConfigMap"), { metadata: { name: "kbridge-collide1-agent", namespace: "shop" }, data: { mine: "yes" } });
    expect(await failure({ sessionId: "collide1" })).toMatchObject({ code: "cluster-error", message: expect.stringContaining("409") });
    expect(cluster.store.get(kind("ConfigMap"), "shop", "kbridge-collide1-agent").data).toEqual({ mine: "yes" });
    expect(deploymentSpec("api")).toStrictEqual(before);
    expect(kbridgeObjects()).toEqual([]);
  });

  test("a StatefulSet (2 replicas) and a bare Pod are replaced and come back exactly as they were", async () => {
    const kubectl = kubectlFor(kubeconfig);
    expect((await kubectl(["apply", "-f", "-"], { stdin: OTHER_WORKLOADS })).code).toBe(0);
    expect((await kubectl(["rollout", "status", "sts/ledger", "-n", "shop", "--timeout=30s"], { timeoutMs: 35_000 })).code).toBe(0);
    await until(() => (cluster.store.find(kind("Pod"), "shop", "solo")?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.some((c) => c.type === "Ready" && c.status === "True"), "pod solo ready");
    const clusterIp = (service: string) => String((cluster.store.get(kind("Service"), "shop", service).spec as { clusterIP: string }).clusterIP);
    const answers = async (service: string, count: number) => {
      const seen = new Set<string>();
      for (let i = 0; i < count; i++) seen.add(await httpGet(`http://${clusterIp(service)}/`).then((body) => (body.startsWith("{") ? (JSON.parse(body) as { pod: string }).pod : body)));
      return [...seen].sort();
    };
    // Until the pods answer (connections are reset while a service has no ready endpoint).
    const answering = (service: string, expected: string) => until(() => answers(service, 4).then((seen) => seen.join() === expected, () => false), `${service} answering from ${expected}`);
    await answering("ledger", "ledger-0,ledger-1");
    expect(await answers("ledger", 6)).toEqual(["ledger-0", "ledger-1"]);
    const setBefore = cluster.store.get(kind("StatefulSet"), "shop", "ledger").spec;
    const podBefore = cluster.store.get(kind("Pod"), "shop", "solo");

    const ledger = await connect(options({ target: { kind: "service", name: "ledger", namespace: "shop" } }));
    try {
      expect(ledger.target.workload).toEqual({ kind: "StatefulSet", name: "ledger", replicas: 2 });
      expect(ledger.tunnels().sort()).toEqual(["ledger-0", "ledger-1"]);
      expect(await answers("ledger", 6)).toEqual(["workstation"]);
    } finally {
      await ledger.disconnect();
    }
    expect(cluster.store.get(kind("StatefulSet"), "shop", "ledger").spec).toStrictEqual(setBefore);
    expect((await kubectl(["rollout", "status", "sts/ledger", "-n", "shop", "--timeout=30s"], { timeoutMs: 35_000 })).code).toBe(0);
    await answering("ledger", "ledger-0,ledger-1");

    const solo = await connect(options({ target: { kind: "pod", name: "solo", namespace: "shop" }, ports: [{ port: 8080, workstationPort }] }));
    try {
      expect(solo.target.workload).toEqual({ kind: "Pod", name: "solo", replicas: 1 });
      expect(await answers("solo", 4)).toEqual(["workstation"]);
      expect(cluster.store.find(kind("Pod"), "shop", "solo")?.metadata.deletionTimestamp ?? "deleted").toBeTruthy();
    } finally {
      await solo.disconnect();
    }
    const podAfter = await until(() => cluster.store.find(kind("Pod"), "shop", "solo"), "pod solo re-created");
    expect(podAfter.spec).toStrictEqual(podBefore.spec);
    expect(podAfter.metadata.labels).toStrictEqual(podBefore.metadata.labels);
    expect(podAfter.metadata.annotations).toStrictEqual(podBefore.metadata.annotations);
    await answering("solo", "solo");
    expect(kbridgeObjects()).toEqual([]);
    expect((await kubectl(["delete", "-f", "-"], { stdin: OTHER_WORKLOADS })).code).toBe(0);
  });

  test("connecting mid-rollout: the restore puts back the new spec and the rollout completes", async () => {
    const kubectl = kubectlFor(kubeconfig);
    // A new version that takes 3 s to become ready: the rollout is surely in progress when connect reads the Deployment.
    const patch = { spec: { template: { spec: { containers: [{ name: "api", image: "kbridge-demo/api:1.1", readinessProbe: { tcpSocket: { port: 8080 }, initialDelaySeconds: 3, periodSeconds: 1 } }] } } } };
    expect((await kubectl(["patch", "deploy/api", "-n", "shop", "-p", JSON.stringify(patch)])).code).toBe(0);
    const apiPods = () => cluster.store.list(kind("Pod"), "shop").filter((p) => p.metadata.labels?.app === "api" && !p.metadata.deletionTimestamp);
    const imageOf = (p: { spec?: unknown }) => (p.spec as { containers: { image: string }[] }).containers[0]?.image;
    await until(() => apiPods().some((p) => imageOf(p) === "kbridge-demo/api:1.1"), "a pod of the new version");
    expect(apiPods().filter((p) => imageOf(p) === "kbridge-demo/api:1.0"), "mid-rollout: the old pods serve while the new ones start").toHaveLength(2);
    const before = deploymentSpec("api");
    const session = await connect(options());
    try {
      expect(await apiAnswers(6)).toEqual(["workstation"]);
    } finally {
      await session.disconnect();
    }
    expect(deploymentSpec("api")).toStrictEqual(before);
    expect((await kubectl(["rollout", "status", "deploy/api", "-n", "shop", "--timeout=30s"], { timeoutMs: 35_000 })).code).toBe(0);
    await until(() => apiPods().length === 2, "two api pods");
    expect(apiPods().map(imageOf)).toEqual(["kbridge-demo/api:1.1", "kbridge-demo/api:1.1"]);
    expect(kbridgeObjects()).toEqual([]);
    await waitForDemo(cluster);
    expect((await apiAnswers(4)).every((pod) => pod.startsWith("api-"))).toBe(true);
  });

  test("a Deployment changed between kbridge's read and its replace is read again, and its new spec is the one the restore puts back", async () => {
    // Right after kbridge saved the original (its Secret appears), someone rolls out a new template.
    let changed = false;
    const stop = cluster.store.watch(Number(cluster.store.get(kind("Deployment"), "shop", "api").metadata.resourceVersion), (event) => {
      if (changed || event.type !== "ADDED" || event.resource.kind !== "Secret" || event.object.metadata.labels?.["app.kubernetes.io/managed-by"] !== "kbridge") return;
      changed = true;
      setImmediate(() => {
        const deployment = cluster.store.get(kind("Deployment"), "shop", "api");
        const template = (deployment.spec as { template: { metadata: { annotations?: Record<string, string> } } }).template;
        template.metadata.annotations = { ...template.metadata.annotations, "example.com/restarted-at": "mid-connect" };
        cluster.store.update(kind("Deployment"), deployment);
      });
    });
    try {
      const session = await connect(options());
      try {
        expect(changed).toBe(true);
        expect(await apiAnswers(6)).toEqual(["workstation"]);
      } finally {
        await session.disconnect();
      }
    } finally {
      stop();
    }
    expect((deploymentSpec("api") as { template: { metadata: { annotations?: Record<string, string> } } }).template.metadata.annotations).toMatchObject({ "example.com/restarted-at": "mid-connect" });
    expect(kbridgeObjects()).toEqual([]);
    await waitForDemo(cluster);
    expect((await apiAnswers(4)).every((pod) => pod.startsWith("api-"))).toBe(true);
  });

  test("a Deployment that changes faster than kbridge can replace it: connect gives up after 5 tries, says why, and leaves it as it was", async () => {
    const before = structuredClone(deploymentSpec("api"));
    // From the moment kbridge saved the original, something writes the Deployment every 2 ms.
    let ticker: NodeJS.Timeout | undefined;
    let writes = 0;
    const stop = cluster.store.watch(Number(cluster.store.get(kind("Deployment"), "shop", "api").metadata.resourceVersion), (event) => {
      if (ticker || event.type !== "ADDED" || event.resource.kind !== "Secret" || event.object.metadata.labels?.["app.kubernetes.io/managed-by"] !== "kbridge") return;
      ticker = setInterval(() => {
        const deployment = cluster.store.get(kind("Deployment"), "shop", "api");
        deployment.metadata.annotations = { ...deployment.metadata.annotations, "example.com/tick": String((writes += 1)) };
        cluster.store.update(kind("Deployment"), deployment);
      }, 2);
    });
    try {
      const failure = await connect(options()).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(KbridgeError);
      expect((failure as KbridgeError).info).toMatchObject({ code: "workload-conflict", message: "The deployment api kept changing while kbridge put the agent in (5 tries).", hint: expect.stringContaining("kubectl rollout status") });
      expect(writes).toBeGreaterThan(5);
    } finally {
      clearInterval(ticker);
      stop();
    }
    expect(deploymentSpec("api")).toEqual(before);
    expect(kbridgeObjects()).toEqual([]);
    await waitForDemo(cluster);
    expect((await apiAnswers(4)).every((pod) => pod.startsWith("api-"))).toBe(true);
  });

  test("disconnect while something writes the Deployment every 2 ms for 1.5 s: the restore waits it out and puts the spec back", async () => {
    const before = structuredClone(deploymentSpec("api"));
    const session = await connect(options());
    let writes = 0;
    const ticker = setInterval(() => {
      const deployment = cluster.store.get(kind("Deployment"), "shop", "api");
      deployment.metadata.annotations = { ...deployment.metadata.annotations, "example.com/tick": String((writes += 1)) };
      cluster.store.update(kind("Deployment"), deployment);
    }, 2);
    const calm = setTimeout(() => clearInterval(ticker), 1500);
    try {
      await session.disconnect();
    } finally {
      clearTimeout(calm);
      clearInterval(ticker);
    }
    expect(writes).toBeGreaterThan(5);
    expect(deploymentSpec("api")).toEqual(before);
    expect(cluster.store.get(kind("Deployment"), "shop", "api").metadata.annotations?.["kbridge.dev/session"]).toBeUndefined();
    expect(kbridgeObjects()).toEqual([]);
    await waitForDemo(cluster);
    expect((await apiAnswers(4)).every((pod) => pod.startsWith("api-"))).toBe(true);
  });

  test("kept probes are answered by the agent: the pod stays live while the workstation fails them, and other requests still reach it", async () => {
    const kubectl = kubectlFor(kubeconfig);
    const probed = manifests(
      deployment({
        name: "probed",
        namespace: "shop",
        image: "echo:1",
        replicas: 1,
        ports: [{ name: "http", containerPort: 8080 }],
        container: { livenessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 1, failureThreshold: 1 } },
      }),
      service({ name: "probed", namespace: "shop", ports: [{ port: 80, targetPort: "http" }] }),
    );
    expect((await kubectl(["apply", "-f", "-"], { stdin: probed })).code).toBe(0);
    expect((await kubectl(["rollout", "status", "deploy/probed", "-n", "shop", "--timeout=30s"], { timeoutMs: 35_000 })).code).toBe(0);
    // A workstation process that fails every health check, and records who asked.
    const seen: string[] = [];
    const failing = http.createServer((req, res) => {
      seen.push(`${req.url} ${req.headers["user-agent"] ?? ""}`);
      res.statusCode = req.url === "/healthz" ? 500 : 200;
      res.end("workstation");
    });
    await new Promise<void>((resolve) => failing.listen(0, "127.0.0.1", resolve));
    const session = await connect(options({ target: { kind: "service", name: "probed", namespace: "shop" }, ports: [{ port: 80, workstationPort: (failing.address() as AddressInfo).port }], keep: { probes: true, lifecycleHooks: false } }));
    try {
      const agentPod = () => cluster.store.list(kind("Pod"), "shop").find((p) => p.metadata.labels?.app === "probed" && p.metadata.labels?.["kbridge.dev/role"] === "agent");
      expect((agentPod()?.spec as { containers: { livenessProbe?: unknown }[] }).containers[0]?.livenessProbe).toMatchObject({ httpGet: { path: "/healthz", port: "http" }, periodSeconds: 1, failureThreshold: 1 });
      await new Promise((resolve) => setTimeout(resolve, 4000)); // four liveness periods
      expect((agentPod()?.status as { containerStatuses: { restartCount: number }[] }).containerStatuses[0]?.restartCount).toBe(0);
      const clusterIp = String((cluster.store.get(kind("Service"), "shop", "probed").spec as { clusterIP: string }).clusterIP);
      expect(await httpGet(`http://${clusterIp}/healthz`)).toBe("workstation");
      expect(seen.filter((line) => line.includes("kube-probe"))).toEqual([]);
      expect(seen).toContain("/healthz ");
    } finally {
      await session.disconnect();
      failing.close();
    }
    expect((await kubectl(["delete", "-f", "-"], { stdin: probed })).code).toBe(0);
  });
});
