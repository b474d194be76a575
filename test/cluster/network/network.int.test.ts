/**
 * Cluster networking from inside a pod: DNS names of every form, ClusterIPs forwarded to
 * ready pods, headless per-pod names, ExternalName, service links, and the API server
 * through the `kubernetes` Service with the pod's mounted token and CA.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { tempDir } from "../../support/tempDir.ts";
import { startTestCluster, type TestCluster } from "../cluster.ts";
import { kind } from "../controllers/objects.ts";
import { kubectlFor } from "../support/kubectl.ts";
import { until } from "../../support/until.ts";

const dir = tempDir("network");
let cluster: TestCluster;
let kubectl: ReturnType<typeof kubectlFor>;
let probeIp: string;

// A pod that answers /lookup?name=…, /fetch?url=…, /env and /api?path=… from inside the cluster.
const PROBE = `
const http = require("http"), https = require("https"), dns = require("dns"), fs = require("fs");
const sa = "/var/run/secrets/kubernetes.io/serviceaccount";
http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  const reply = (value) => res.end(JSON.stringify(value));
  try {
    if (url.pathname === "/lookup") return dns.lookup(url.searchParams.get("name"), { all: true, family: 4 }, (err, addresses) => reply(err ? { error: err.code } : addresses.map((a) => a.address).sort()));
    if (url.pathname === "/cname") return dns.resolveCname(url.searchParams.get("name"), (err, names) => reply(err ? { error: err.code } : names));
    // A new connection per request (agent: false): the service proxy balances connections.
    if (url.pathname === "/fetch") return http.get(url.searchParams.get("url"), { agent: false }, (r) => { let body = ""; r.on("data", (c) => (body += c)); r.on("end", () => reply({ body })); }).on("error", (e) => reply({ error: e.code || e.message }));
    if (url.pathname === "/env") return reply(process.env);
    if (url.pathname === "/api") {
      const token = fs.readFileSync(sa + "/token", "utf8");
      https.get({ host: "kubernetes.default.svc", path: url.searchParams.get("path"), ca: fs.readFileSync(sa + "/ca.crt"), headers: { authorization: "Bearer " + token } }, (r) => {
        let body = ""; r.on("data", (c) => (body += c)); r.on("end", () => reply({ status: r.statusCode, body: JSON.parse(body), namespace: fs.readFileSync(sa + "/namespace", "utf8") }));
      }).on("error", (e) => reply({ error: e.message }));
      return;
    }
    res.statusCode = 404; res.end();
  } catch (e) { reply({ error: String(e) }); }
}).listen(8080);
`;

const web = (name: string, extra = "") => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: web}}
spec:
${extra}  containers:
  - name: web
    image: node:22
    command: ["node", "-e", "require('http').createServer((q, s) => s.end(process.env.HOSTNAME)).listen(8080)"]
    ports: [{name: http, containerPort: 8080}]
`;


const ready = (name: string) => {
  const pod = cluster.store.find(kind("Pod"), "default", name) as { status: { podIP?: string; conditions?: { type: string; status: string }[] } } | undefined;
  return pod?.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? pod.status.podIP : undefined;
};
const ask = async <T>(route: string) => (await fetch(`http://${probeIp}:8080${route}`)).json() as Promise<T>;

beforeAll(async () => {
  cluster = await startTestCluster({ backoffBaseMs: 300 });
  kubectl = kubectlFor(cluster.writeKubeconfig(path.join(dir, "kubeconfig")));
  const manifests = [
    web("web-1", "  hostname: web-1\n  subdomain: web-headless\n"),
    web("web-2", "  hostname: web-2\n  subdomain: web-headless\n"),
    "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{name: http, port: 80, targetPort: http}]\n",
    "apiVersion: v1\nkind: Service\nmetadata: {name: web-headless}\nspec:\n  clusterIP: None\n  selector: {app: web}\n  ports: [{name: http, port: 8080}]\n",
    "apiVersion: v1\nkind: Service\nmetadata: {name: docs}\nspec:\n  type: ExternalName\n  externalName: docs.example.org\n",
    `apiVersion: v1\nkind: Pod\nmetadata: {name: probe}\nspec:\n  containers:\n  - name: probe\n    image: node:22\n    command: ["node", "-e", ${JSON.stringify(PROBE)}]\n`,
  ];
  const applied = await kubectl(["apply", "-f", "-"], { stdin: manifests.join("---\n") });
  if (applied.code !== 0) throw new Error(applied.stderr);
  await until(() => ready("web-1") && ready("web-2"), "web pods ready");
  probeIp = await until(() => ready("probe"), "probe ready");
  await until(() => (cluster.store.find(kind("Endpoints"), "default", "web-headless") as { subsets?: { addresses?: unknown[] }[] } | undefined)?.subsets?.[0]?.addresses?.length === 2, "headless endpoints");
});
afterAll(() => cluster.stop());

describe("networking inside the test cluster", () => {
  test("a service resolves by every DNS name form to its ClusterIP", async () => {
    const clusterIp = (cluster.store.get(kind("Service"), "default", "web").spec as { clusterIP: string }).clusterIP;
    for (const name of ["web", "web.default", "web.default.svc", "web.default.svc.cluster.local"]) {
      expect(await ask(`/lookup?name=${name}`), name).toEqual([clusterIp]);
    }
    expect(await ask("/lookup?name=nothing-here")).toEqual({ error: "ENOTFOUND" });
  });

  test("the ClusterIP and the service name reach the ready pods (both, round robin)", async () => {
    const clusterIp = (cluster.store.get(kind("Service"), "default", "web").spec as { clusterIP: string }).clusterIP;
    const served = new Set<string>();
    for (let i = 0; i < 4; i++) served.add((await ask<{ body: string }>(`/fetch?url=http://web/`)).body);
    expect([...served].sort()).toEqual(["web-1", "web-2"]);
    expect(["web-1", "web-2"]).toContain((await ask<{ body: string }>(`/fetch?url=http://${clusterIp}/`)).body);
  });

  test("a headless service resolves to its pods, and each pod by its hostname", async () => {
    const ips = [ready("web-1"), ready("web-2")].sort();
    expect(await ask("/lookup?name=web-headless")).toEqual(ips);
    expect(await ask("/lookup?name=web-2.web-headless.default.svc.cluster.local")).toEqual([ready("web-2")]);
    expect(await ask("/lookup?name=web-1.web-headless")).toEqual([ready("web-1")]);
  });

  test("an ExternalName service is a CNAME; nothing is resolved off the machine", async () => {
    expect(await ask("/cname?name=docs.default.svc.cluster.local")).toEqual(["docs.example.org"]);
  });

  test("service-link variables point at the ClusterIPs", async () => {
    const env = await ask<Record<string, string>>("/env");
    const clusterIp = (cluster.store.get(kind("Service"), "default", "web").spec as { clusterIP: string }).clusterIP;
    expect(env).toMatchObject({ WEB_SERVICE_HOST: clusterIp, WEB_SERVICE_PORT: "80", WEB_SERVICE_PORT_HTTP: "80", WEB_PORT_80_TCP_ADDR: clusterIp, KUBERNETES_SERVICE_HOST: cluster.addresses.apiServiceIp, KUBERNETES_SERVICE_PORT: "443" });
    expect(env).not.toHaveProperty("WEB_HEADLESS_SERVICE_HOST");
  });

  test("the pod reaches the API server through the kubernetes Service with its service-account token, which may do only what RBAC grants", async () => {
    type Reply = { status: number; body: { kind: string; message?: string }; namespace: string };
    const unbound = await ask<Reply>("/api?path=/api/v1/namespaces/default/pods");
    expect(unbound.status).toBe(403);
    expect(unbound.body.message).toBe('pods is forbidden: User "system:serviceaccount:default:default" cannot list resource "pods" in API group "" in the namespace "default"');
    expect((await ask<Reply>("/api?path=/api/v1/namespaces/kube-system/secrets")).status).toBe(403);
    const bound = await kubectl(["create", "rolebinding", "probe-view", "--clusterrole=view", "--serviceaccount=default:default", "-n", "default"]);
    expect(bound.stderr).toBe("");
    const reply = await ask<Reply>("/api?path=/api/v1/namespaces/default/services");
    expect(reply.status).toBe(200);
    expect(reply.body.kind).toBe("ServiceList");
    expect(reply.namespace).toBe("default");
    expect((await ask<Reply>("/api?path=/api/v1/namespaces/default/secrets")).status).toBe(403);
  });

  test("a service without ready pods resets connections", async () => {
    expect((await kubectl(["apply", "-f", "-"], { stdin: "apiVersion: v1\nkind: Service\nmetadata: {name: empty}\nspec:\n  selector: {app: none}\n  ports: [{port: 80}]\n" })).code).toBe(0);
    const reply = await until(async () => {
      const r = await ask<{ error?: string; body?: string }>("/fetch?url=http://empty/");
      return r.error ? r : undefined;
    }, "an error from the empty service");
    expect(reply.error).toMatch(/fetch failed|ECONNRESET|socket/i);
  });
});
