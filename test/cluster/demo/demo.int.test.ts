/** The demo shop: ordinary manifests, end to end through the ingress, and the `npm run cluster` entry point. */
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { tempDir } from "../../support/tempDir.ts";
import { startTestCluster, type TestCluster } from "../cluster.ts";
import { kind } from "../controllers/objects.ts";
import { kubectlFor } from "../support/kubectl.ts";
import { DEMO_MANIFESTS, demoImages, viaIngress, waitForDemo } from "./demoApp.ts";

const dir = tempDir("demo");
let cluster: TestCluster;
let kubectl: ReturnType<typeof kubectlFor>;

beforeAll(async () => {
  cluster = await startTestCluster({ images: [demoImages], backoffBaseMs: 500 });
  kubectl = kubectlFor(cluster.writeKubeconfig(path.join(dir, "kubeconfig")));
});
afterAll(() => cluster.stop());

describe("demo shop", () => {
  test("kubectl apply -f accepts the manifests with default validation; every deployment rolls out", async () => {
    const applied = await kubectl(["apply", "-f", DEMO_MANIFESTS]);
    expect(applied.stderr).toBe("");
    expect(applied.stdout).toMatch(/^namespace\/shop created\n[\s\S]*ingress\.networking\.k8s\.io\/shop created\n$/);
    for (const deployment of ["store", "api", "web"]) {
      const status = await kubectl(["rollout", "status", `deploy/${deployment}`, "-n", "shop", "--timeout=60s"], { timeoutMs: 65_000 });
      expect(status.stdout, status.stderr).toMatch(/successfully rolled out/);
    }
  });

  test("through the ingress with the demo host: web → api → store, each naming its pod; both api replicas serve", async () => {
    await waitForDemo(cluster);
    const pods = cluster.store.list(kind("Pod"), "shop").map((p) => p.metadata.name ?? "");
    const apis = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const reply = await viaIngress(cluster, "/status");
      expect(reply.status).toBe(200);
      const body = JSON.parse(reply.body) as { web: string; api: string; store: string; greeting: string };
      expect(body.greeting).toBe("Welcome");
      expect(pods).toContain(body.web);
      expect(pods).toContain(body.store);
      expect(body.web).toMatch(/^web-/);
      expect(body.store).toMatch(/^store-/);
      apis.add(body.api);
    }
    expect([...apis].sort()).toEqual(pods.filter((p) => p.startsWith("api-")).sort());
    const page = await viaIngress(cluster, "/");
    expect(page.body).toContain("<li>teapot</li>");
    expect(page.headers["x-kbridge-demo-pod"]).toMatch(/^web-/);
    // The routing header reaches the next hop.
    expect(JSON.parse((await viaIngress(cluster, "/status", { "kubernetes-route-as": "alice-1a2b" })).body).routeAs).toBe("alice-1a2b");
    // Another host gets the default backend.
    expect((await viaIngress(cluster, "/status", { host: "elsewhere.test" })).status).toBe(404);
  });

  test("the ingress publishes its address in the Ingress status", async () => {
    const ip = (await kubectl(["get", "ingress", "shop", "-n", "shop", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}"])).stdout;
    expect(ip).toBe(cluster.addresses.ingress);
  });
});

describe("what kubectl shows", () => {
  test("get prints the printer columns of pods, deployments, services and ingresses", async () => {
    const pods = (await kubectl(["get", "pods", "-n", "shop"])).stdout;
    expect(pods).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n/);
    expect(pods).toMatch(/^api-\w+-\w+\s+1\/1\s+Running\s+0\s+\d+s$/m);
    expect((await kubectl(["get", "deploy", "api", "-n", "shop"])).stdout).toMatch(/^api\s+2\/2\s+2\s+2\s+\d+s$/m);
    expect((await kubectl(["get", "svc", "store", "-n", "shop"])).stdout).toMatch(/^store\s+ClusterIP\s+None\s+<none>\s+8080\/TCP\s+\d+s$/m);
    expect((await kubectl(["get", "ingress", "-n", "shop"])).stdout).toMatch(new RegExp(`^shop\\s+<none>\\s+shop\\.kbridge\\.test\\s+${cluster.addresses.ingress.replace(/\./g, "\\.")}\\s+80`, "m"));
    expect((await kubectl(["get", "pods", "-n", "shop", "-o", "wide"])).stdout).toMatch(/^web-\S+\s+1\/1\s+Running\s+0\s+\d+s\s+127\.\d+\.\d+\.\d+\s+kbridge-node/m);
  });

  test("get -w prints changes as they happen", async () => {
    const watch = spawn("kubectl", ["get", "deploy", "-n", "shop", "-w", "--output-watch-events"], {
      env: { ...process.env, KUBECONFIG: path.join(dir, "kubeconfig"), KUBECACHEDIR: path.join(dir, "watch-cache") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    watch.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    try {
      const deadline = Date.now() + 15_000;
      while (!/ADDED\s+web/.test(output)) {
        if (Date.now() > deadline) throw new Error(`no initial rows:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect((await kubectl(["scale", "deploy/store", "-n", "shop", "--replicas=2"])).code).toBe(0);
      while (!/MODIFIED\s+store\s+\d\/2/.test(output)) {
        if (Date.now() > deadline) throw new Error(`no MODIFIED row:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      watch.kill();
    }
    expect((await kubectl(["scale", "deploy/store", "-n", "shop", "--replicas=1"])).code).toBe(0);
  });

  test("describe shows status and events; logs of a deployment, since an hour ago", async () => {
    const describedPod = (await kubectl(["describe", "pod", "-n", "shop", "-l", "app=web"])).stdout;
    expect(describedPod).toMatch(/^Status:\s+Running$/m);
    expect(describedPod).toMatch(/^IP:\s+127\./m);
    const describedDeploy = (await kubectl(["describe", "deploy", "api", "-n", "shop"])).stdout;
    expect(describedDeploy).toMatch(/^Replicas:\s+2 desired \| 2 updated \| 2 total \| 2 available \| 0 unavailable$/m);
    expect(describedDeploy).toMatch(/ScalingReplicaSet .*Scaled up replica set api-\w+ from 0 to 2/);
    expect((await kubectl(["logs", "deploy/web", "-n", "shop", "--since=1h"])).stdout).toMatch(/^web listening on :8080 as web-/);
  });
});

describe("npm run cluster -- --demo", () => {
  test("prints a ready line with the ingress once the shop answers, and SIGTERM stops every pod process", async () => {
    const kubeconfig = path.join(dir, "entry-kubeconfig");
    const child = spawn(process.execPath, ["--import", "tsx", "test/cluster/main.ts", "--kubeconfig", kubeconfig, "--demo"], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      const deadline = Date.now() + 90_000;
      while (!/ready in [\d.]+ s: .*ingress http:\/\/127\.\d+\.0\.1/.test(output)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ready line:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      console.log(`npm run cluster --demo: ${/ready in [\d.]+ s/.exec(output)?.[0]}`);
      // The developer is current, as on a shared dev cluster: edit in shop, nothing cluster-wide.
      const asCurrent = kubectlFor(kubeconfig);
      expect((await asCurrent(["config", "current-context"])).stdout.trim()).toBe("kbridge-demo-developer");
      expect((await asCurrent(["auth", "can-i", "create", "roles", "-n", "shop"])).stdout.trim()).toBe("no");
      expect((await asCurrent(["get", "namespaces"])).stderr).toContain('User "developer" cannot list resource "namespaces" in API group "" at the cluster scope');
      const pods = JSON.parse((await asCurrent(["get", "pods", "-n", "shop", "-o", "json"])).stdout) as { items: { status: { containerStatuses: { containerID: string }[] } }[] };
      const pids = pods.items.map((p) => Number(p.status.containerStatuses[0]?.containerID.replace("kbridge://", "")));
      expect(pids.length).toBe(4);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      for (const pid of pids) expect(() => process.kill(pid, 0), `pod process ${pid}`).toThrow();
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
