/**
 * A pod's network as a real one is: its loopback is its own (reachable by its containers and
 * by port-forward, not by other pods), and NetworkPolicy ingress rules decide which pods may
 * connect — by pod IP, through a ClusterIP, or through the ingress.
 */
import http from "node:http";
import path from "node:path";
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stringify } from "yaml";
import { tempDir } from "../../support/tempDir.ts";
import { until } from "../../support/until.ts";
import { startTestCluster, type TestCluster } from "../cluster.ts";
import { kind } from "../controllers/objects.ts";
import { kubectlFor, startPortForward } from "../support/kubectl.ts";

const dir = tempDir("pod-network");
let cluster: TestCluster;
let kubectl: ReturnType<typeof kubectlFor>;
let kubeconfig: string;
const forwards: ChildProcess[] = [];

// Serves "<name>" on 8080 and "<name> private" on 127.0.0.1:9000; /fetch?url= fetches from inside the pod.
const PROGRAM = `
const http = require("http");
http.createServer((q, s) => s.end(process.env.HOSTNAME + " private")).listen(9000, "127.0.0.1");
http.createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  if (url.pathname !== "/fetch") return res.end(process.env.HOSTNAME);
  http.get(url.searchParams.get("url"), { agent: false, timeout: 3000 }, (r) => { let body = ""; r.on("data", (c) => (body += c)); r.on("end", () => res.end(body)); })
    .on("error", (e) => res.end("error " + (e.code || e.message)));
}).listen(8080);
`;
const pod = (name: string, app: string) => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "fenced", labels: { app } }, spec: { containers: [{ name: "app", image: "node:22", command: ["node", "-e", PROGRAM], ports: [{ name: "http", containerPort: 8080 }] }] } });
const list = (...items: object[]) => items.map((item) => stringify(item)).join("---\n");
const ipOf = (name: string) => (cluster.store.find(kind("Pod"), "fenced", name)?.status as { podIP?: string; conditions?: { type: string; status: string }[] } | undefined);
const ready = (name: string) => (ipOf(name)?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? ipOf(name)?.podIP : undefined);
const ips: Record<string, string> = {};
/** What pod `from` gets fetching `url` from inside the cluster. */
const fetchFrom = async (from: string, url: string) => (await fetch(`http://${ips[from]}:8080/fetch?url=${encodeURIComponent(url)}`)).text();
let apiClusterIp: string;

beforeAll(async () => {
  cluster = await startTestCluster({ backoffBaseMs: 300 });
  kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
  kubectl = kubectlFor(kubeconfig);
  const objects = list(
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "fenced" } },
    pod("api", "api"),
    pod("client", "client"),
    pod("other", "other"),
    { apiVersion: "v1", kind: "Service", metadata: { name: "api", namespace: "fenced" }, spec: { selector: { app: "api" }, ports: [{ port: 80, targetPort: "http" }] } },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: "api", namespace: "fenced" },
      spec: { rules: [{ host: "api.fenced.test", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "api", port: { number: 80 } } } }] } }] },
    },
  );
  const applied = await kubectl(["apply", "-f", "-"], { stdin: objects });
  if (applied.code !== 0) throw new Error(applied.stderr);
  for (const name of ["api", "client", "other"]) ips[name] = await until(() => ready(name), `${name} ready`);
  apiClusterIp = (cluster.store.get(kind("Service"), "fenced", "api").spec as { clusterIP: string }).clusterIP;
  await until(async () => (await fetchFrom("client", `http://${apiClusterIp}/`)) === "api", "api behind its ClusterIP");
});
afterAll(async () => {
  forwards.forEach((child) => child.kill());
  await cluster.stop();
});

const viaIngress = () =>
  new Promise<number>((resolve) => {
    http.get({ host: cluster.ingress.address, port: cluster.ingress.port, path: "/", headers: { host: "api.fenced.test" }, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on("error", () => resolve(0));
  });

describe("the pod's loopback", () => {
  test("is reachable by the pod itself and by port-forward, not by other pods", async () => {
    expect(await fetchFrom("api", "http://127.0.0.1:9000/")).toBe("api private");
    expect(await fetchFrom("api", "http://localhost:9000/")).toBe("api private");
    // Another pod's 127.0.0.1 is its own: nothing listens there.
    expect(await fetchFrom("client", "http://127.0.0.1:9000/")).toBe("client private");
    expect(await fetchFrom("other", `http://${ips.api}:9000/`)).toMatch(/^error (ECONNRESET|ECONNREFUSED|socket hang up)/);
    // What a pod serves on every address is on its loopback too.
    expect(await fetchFrom("api", "http://127.0.0.1:8080/")).toBe("api");
    const { port, child } = await startPortForward(kubeconfig, ["-n", "fenced", "pod/api", ":9000"]);
    forwards.push(child);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("api private");
  });
});

describe("NetworkPolicy", () => {
  test("a default-deny policy blocks pod-to-pod, ClusterIP and ingress traffic; an allow rule admits what it names", async () => {
    expect(await fetchFrom("other", `http://${ips.api}:8080/`)).toBe("api");
    expect(await viaIngress()).toBe(200);
    const deny = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "default-deny", namespace: "fenced" }, spec: { podSelector: {}, policyTypes: ["Ingress"] } };
    expect((await kubectl(["apply", "-f", "-"], { stdin: JSON.stringify(deny) })).stderr).toBe("");
    expect(await fetchFrom("client", `http://${ips.api}:8080/`)).toMatch(/^error /);
    expect(await fetchFrom("client", `http://${apiClusterIp}/`)).toMatch(/^error /);
    expect(await viaIngress()).toBe(502);
    // The node itself (probes, port-forward) is never blocked.
    expect(await (await fetch(`http://${ips.api}:8080/`)).text()).toBe("api");

    const allowClient = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "api-from-client", namespace: "fenced" },
      spec: { podSelector: { matchLabels: { app: "api" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "client" } } }], ports: [{ port: "http" }] }] },
    };
    expect((await kubectl(["apply", "-f", "-"], { stdin: JSON.stringify(allowClient) })).stderr).toBe("");
    expect(await fetchFrom("client", `http://${ips.api}:8080/`)).toBe("api");
    expect(await fetchFrom("client", `http://${apiClusterIp}/`)).toBe("api");
    expect(await fetchFrom("other", `http://${ips.api}:8080/`)).toMatch(/^error /);
    expect(await fetchFrom("other", `http://${apiClusterIp}/`)).toMatch(/^error /);
    expect(await viaIngress()).toBe(502);

    const allowIngress = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "api-from-ingress", namespace: "fenced" },
      spec: { podSelector: { matchLabels: { app: "api" } }, ingress: [{ from: [{ ipBlock: { cidr: `${cluster.ingress.address}/32` } }] }] },
    };
    expect((await kubectl(["apply", "-f", "-"], { stdin: JSON.stringify(allowIngress) })).stderr).toBe("");
    expect(await viaIngress()).toBe(200);
  });
});
