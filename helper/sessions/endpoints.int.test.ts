/**
 * The workstation reaching the cluster's services: the demo's own `web`, run on the
 * workstation in place of the cluster's, calls `api` by name through kbridge's endpoints.
 * Name resolution is real: workstation processes run in a mount namespace whose /etc/hosts
 * is the test's hosts file (the machine's own is shared and never touched).
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestCluster, type TestCluster } from "../../test/cluster/cluster.ts";
import { demoImages, installDemo, viaIngress, waitForDemo } from "../../test/cluster/demo/demoApp.ts";
import { kind } from "../../test/cluster/controllers/objects.ts";
import { hostnameImage, OTHER_WORKLOADS } from "../../test/cluster/support/hostnameImage.ts";
import { kubectlFor } from "../../test/cluster/support/kubectl.ts";
import { startCommand, waitForOutput, type Started } from "../../test/support/kbridgeProcess.ts";
import { freePort } from "../../test/support/ports.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";
import { writeHostsBlock } from "../endpoints/hostsFile.ts";
import { homeId, kbridgeHome } from "../shared/kbridgeHome.ts";
import { silentLogger } from "../logs/logger.ts";
import { runHelper } from "../server/runHelper.ts";
import { checkNames, checkPorts } from "../endpoints/diagnostics.ts";
import { connect } from "./connectSession.ts";
import type { ConnectOptions } from "./sessionPlan.ts";

const dir = tempDir("endpoints");
const hostsFile = String(process.env.KBRIDGE_HOSTS_FILE);
// What the machine's hosts file might hold; kbridge must keep every byte of it.
const ORIGINAL = "127.0.0.1\tlocalhost\n# keep me\n::1 localhost ip6-localhost\n\n10.9.8.7   build-cache.internal   # team cache\n";
let cluster: TestCluster;
let kubeconfig: string;
let kubectl: ReturnType<typeof kubectlFor>;

beforeAll(async () => {
  fs.writeFileSync(hostsFile, ORIGINAL);
  cluster = await startTestCluster({ images: [demoImages, hostnameImage("echo")], backoffBaseMs: 500 });
  installDemo(cluster);
  await waitForDemo(cluster);
  kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
  kubectl = kubectlFor(kubeconfig);
  expect((await kubectl(["apply", "-f", "-"], { stdin: OTHER_WORKLOADS })).code).toBe(0);
  expect((await kubectl(["rollout", "status", "sts/ledger", "-n", "shop", "--timeout=30s"], { timeoutMs: 35_000 })).code).toBe(0);
}, 90_000);
afterAll(async () => {
  await cluster?.stop();
});

const options = (overrides: Partial<ConnectOptions>): ConnectOptions => ({
  kubeconfig: [kubeconfig],
  context: "kbridge-demo",
  target: { kind: "service", name: "web", namespace: "shop" },
  ports: [{ port: 80, workstationPort: 1 }],
  log: silentLogger(),
  timeoutMs: 30_000,
  ...overrides,
});

/** `node -e script` on the workstation, in a mount namespace whose /etc/hosts is the test's hosts file. */
function onWorkstation(args: string[], env: Record<string, string> = {}): Started {
  return startCommand(["unshare", "--mount", "--propagation", "private", "sh", "-c", 'mount --bind "$HOSTS" /etc/hosts && exec "$@"', "sh", process.execPath, ...args], { ...process.env, ...env, HOSTS: hostsFile });
}

/** GETs each URL from the workstation (by name, through the hosts file); returns status and body per URL. */
async function fetchFromWorkstation(urls: string[]): Promise<Record<string, string>> {
  const script = `Promise.all(${JSON.stringify(urls)}.map((u) => fetch(u, { signal: AbortSignal.timeout(10000) }).then(async (r) => [u, r.status + " " + (await r.text())], (e) => [u, "error " + (e.cause?.code ?? e.message)]))).then((all) => console.log(JSON.stringify(Object.fromEntries(all))))`;
  const run = onWorkstation(["-e", script]);
  await run.exited;
  const line = run.output().trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as Record<string, string>;
  } catch {
    throw new Error(`the workstation script failed:\n${run.output()}`);
  }
}

const body = (answer: string | undefined) => JSON.parse((answer ?? "").replace(/^\d+ /, "")) as { pod?: string; items?: unknown[] };

describe("endpoints", () => {
  test("the workstation's web calls api by each name form, a headless pod and an ExternalName service; services come and go live; the hosts file is restored byte for byte", async () => {
    const webPort = await freePort();
    const session = await connect(options({ ports: [{ port: 80, workstationPort: webPort }], endpoints: { mode: "auto", hostsFile, blockId: "test-web" } }));
    let web: Started | undefined;
    try {
      const endpoints = session.endpoints();
      expect(endpoints?.mode).toBe("hosts");
      const api = endpoints?.list.find((e) => e.key === "shop/api");
      expect(api).toMatchObject({ names: ["api", "api.shop", "api.shop.svc", "api.shop.svc.cluster.local"], ports: [{ port: 80, listenPort: 80 }] });
      expect(api?.address).toMatch(/^127\.1\.\d+\.\d+$/);
      expect(endpoints?.list.map((e) => e.key)).toEqual(expect.arrayContaining(["shop/ledger-peers/ledger-0", "shop/ledger-peers/ledger-1", "shop/catalog", "shop/store"]));
      const text = fs.readFileSync(hostsFile, "utf8");
      expect(text.startsWith(ORIGINAL)).toBe(true);
      expect(text).toContain("ledger-0.ledger-peers ledger-0.ledger-peers.shop ledger-0.ledger-peers.shop.svc ledger-0.ledger-peers.shop.svc.cluster.local");

      // The demo's web, unchanged, on the workstation: the ingress reaches it, and it reaches api → store.
      web = onWorkstation(["test/cluster/demo/web.mjs"], { PORT: String(webPort), HOSTNAME: "workstation-web" });
      await waitForOutput(web, /web listening/, 20_000);
      const status = JSON.parse((await viaIngress(cluster, "/status")).body) as Record<string, string>;
      expect(status).toMatchObject({ web: "workstation-web", api: expect.stringMatching(/^api-/), store: expect.stringMatching(/^store-/) });

      const answers = await fetchFromWorkstation([
        "http://api/api/items",
        "http://api.shop/api/items",
        "http://api.shop.svc/api/items",
        "http://api.shop.svc.cluster.local/api/items",
        "http://ledger-0.ledger-peers:8080/",
        "http://ledger-1.ledger-peers.shop.svc.cluster.local:8080/",
        "http://catalog/api/items",
      ]);
      for (const url of ["http://api/api/items", "http://api.shop/api/items", "http://api.shop.svc/api/items", "http://api.shop.svc.cluster.local/api/items", "http://catalog/api/items"]) {
        expect(answers[url], url).toMatch(/^200 /);
        expect(body(answers[url]).pod, url).toMatch(/^api-/);
      }
      expect(answers["http://ledger-0.ledger-peers:8080/"]).toBe("200 ledger-0");
      expect(answers["http://ledger-1.ledger-peers.shop.svc.cluster.local:8080/"]).toBe("200 ledger-1");

      // Diagnostics: every name resolves to its endpoint through the hosts file; api's port answers through the
      // agent; an endpoint whose service does not exist says why.
      const mapped = session.endpoints() as NonNullable<ReturnType<typeof session.endpoints>>;
      const names = await checkNames(mapped, hostsFile);
      expect(names.length).toBe(mapped.list.reduce((n, e) => n + e.names.length, 0));
      expect(names.filter((n) => !n.ok)).toEqual([]);
      expect(names.find((n) => n.name === "api.shop.svc.cluster.local")).toEqual({ name: "api.shop.svc.cluster.local", expected: api?.address, hostsFile: api?.address, ok: true });
      const broken = { ...mapped, list: [api as NonNullable<typeof api>, { ...(api as NonNullable<typeof api>), key: "shop/nope", dialHost: "nope.shop.svc.cluster.local" }] };
      const ports = await checkPorts(broken, session.dial);
      expect(ports[0]).toMatchObject({ endpoint: "shop/api", port: 80, ok: true });
      expect(ports[1]).toMatchObject({ endpoint: "shop/nope", ok: false, error: expect.stringMatching(/nope\.shop\.svc\.cluster\.local:80 in the cluster: ENOTFOUND/) });

      // A service created while connected is mapped within seconds, and unmapped when deleted.
      expect((await kubectl(["create", "-f", "-"], { stdin: "apiVersion: v1\nkind: Service\nmetadata: {name: late, namespace: shop}\nspec:\n  selector: {app: solo}\n  ports: [{port: 80, targetPort: 8080}]\n" })).code).toBe(0);
      await until(() => / late late\.shop /.test(fs.readFileSync(hostsFile, "utf8")), "the new service in the hosts file", 15_000);
      expect((await fetchFromWorkstation(["http://late/"]))["http://late/"]).toBe("200 solo");
      expect((await kubectl(["delete", "service", "late", "-n", "shop"])).code).toBe(0);
      await until(() => !/ late /.test(fs.readFileSync(hostsFile, "utf8")), "the deleted service gone from the hosts file", 15_000);
    } finally {
      await web?.stop(1000);
      await session.disconnect();
    }
    expect(fs.readFileSync(hostsFile, "utf8")).toBe(ORIGINAL);
  });

  test("the environment equals the pod's for every declared name, secrets included; the service variables reach the services", async () => {
    const envy = `apiVersion: v1
kind: ConfigMap
metadata: {name: envy-config, namespace: shop}
data: {LEVEL: debug, MODE: from-config}
---
apiVersion: v1
kind: Secret
metadata: {name: envy-secret, namespace: shop}
stringData:
  MODE: from-secret
  PASSWORD: |-
    p@ss "quoted" 'single' $HOME \\n
    second line
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: envy, namespace: shop}
spec:
  selector: {matchLabels: {app: envy}}
  template:
    metadata: {labels: {app: envy, tier: backend}, annotations: {team: payments}}
    spec:
      containers:
      - name: envy
        image: echo:1
        ports: [{name: http, containerPort: 8080}]
        envFrom:
        - configMapRef: {name: envy-config}
        - secretRef: {name: envy-secret}
          prefix: SECRET_
        env:
        - {name: PLAIN, value: "hello world"}
        - {name: EXPANDED, value: "$(LEVEL)-$(PLAIN)-$(API_SERVICE_HOST)"}
        - name: TOKEN
          valueFrom: {secretKeyRef: {name: shop-secrets, key: API_TOKEN}}
        - name: GREETING
          valueFrom: {configMapKeyRef: {name: shop-config, key: GREETING}}
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        - name: TIER
          valueFrom: {fieldRef: {fieldPath: "metadata.labels['tier']"}}
        - name: NODE
          valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
        - name: MEMORY_MI
          valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}
        - name: CPU_MILLI
          valueFrom: {resourceFieldRef: {resource: requests.cpu, divisor: 1m}}
        resources: {limits: {memory: 192Mi}, requests: {cpu: 150m}}
---
apiVersion: v1
kind: Service
metadata: {name: envy, namespace: shop}
spec:
  selector: {app: envy}
  ports: [{port: 80, targetPort: http}]
`;
    const applied = await kubectl(["apply", "-f", "-"], { stdin: envy });
    expect(applied.code, applied.stderr).toBe(0);
    expect((await kubectl(["rollout", "status", "deploy/envy", "-n", "shop", "--timeout=30s"], { timeoutMs: 35_000 })).code).toBe(0);
    const session = await connect(options({ target: { kind: "service", name: "envy", namespace: "shop" }, ports: [{ port: 80, workstationPort: await freePort() }], endpoints: { mode: "auto", hostsFile, blockId: "test-envy" }, envOverrides: { PLAIN: "overridden" } }));
    try {
      const env = Object.fromEntries(session.environment().map((v) => [v.name, v.value]));
      // The pod's own environment, read through exec in the (agent) pod whose identity the workstation takes.
      const agent = cluster.store.list(kind("Pod"), "shop").find((p) => p.metadata.labels?.app === "envy" && p.metadata.labels?.["kbridge.dev/role"] === "agent");
      const exec = await kubectl(["exec", "-n", "shop", String(agent?.metadata.name), "-c", "envy", "--", "node", "-e", "console.log(JSON.stringify(process.env))"]);
      const podEnv = JSON.parse(exec.stdout) as Record<string, string>;
      // (EXPANDED names a service variable, which points at the workstation's endpoint: checked below.)
      const declared = ["LEVEL", "MODE", "SECRET_PASSWORD", "SECRET_MODE", "TOKEN", "GREETING", "POD_NAME", "POD_IP", "TIER", "NODE", "MEMORY_MI", "CPU_MILLI"];
      for (const name of declared) expect(env[name], name).toBe(podEnv[name]);
      expect(env.SECRET_PASSWORD).toBe(`p@ss "quoted" 'single' $HOME \\n\nsecond line`);
      expect(env.PLAIN).toBe("overridden");
      expect(env.GRPC_DNS_RESOLVER).toBe("native");
      expect(session.environment().find((v) => v.name === "TOKEN")?.secret).toBe(true);
      // The service variables point at the workstation's endpoints, and those answer.
      expect(env.API_SERVICE_HOST).toMatch(/^127\.1\.\d+\.\d+$/);
      expect(env.EXPANDED).toBe(`debug-hello world-${env.API_SERVICE_HOST}`);
      expect(env.API_PORT_80_TCP).toBe(`tcp://${env.API_SERVICE_HOST}:80`);
      const answer = await fetch(`http://${env.API_SERVICE_HOST}:${env.API_SERVICE_PORT}/api/items`);
      expect(((await answer.json()) as { pod: string }).pod).toMatch(/^api-/);
    } finally {
      await session.disconnect();
      await kubectl(["delete", "-f", "-"], { stdin: envy });
    }
  });

  test("a KubernetesLocalProcessConfig.yaml downloads a volume to its localPath and resolves its tokens; a broken one fails naming the line, changing nothing", async () => {
    const local = path.join(dir, "store-config");
    const configFile = path.join(dir, "KubernetesLocalProcessConfig.yaml");
    fs.writeFileSync(
      configFile,
      `version: 0.1
volumeMounts:
  - name: conf*
    localPath: ${local}
env:
  - name: ITEMS_FILE
    value: $(volumeMounts:config)/items.json
  - name: API_URL
    value: http://$(services:api)/api
  - name: LEDGER
    value: $(services:ledger.shop)
  - name: PEER
    value: $(externalEndpoints:ledger-1.ledger-peers.shop.svc.cluster.local:8080)
  - name: PLAIN
    value: "as written"
`,
    );
    const session = await connect(options({ target: { kind: "service", name: "store", namespace: "shop" }, ports: [{ port: 8080, workstationPort: await freePort() }], endpoints: { mode: "auto", hostsFile, blockId: "test-store" }, configFile, volumesDir: path.join(dir, "volumes") }));
    try {
      const env = Object.fromEntries(session.environment().map((v) => [v.name, v.value]));
      const configMap = cluster.store.get(kind("ConfigMap"), "shop", "shop-config") as unknown as { data: Record<string, string> };
      expect(fs.readFileSync(path.join(local, "items.json"), "utf8")).toBe(configMap.data["items.json"]);
      expect(env.ITEMS_FILE).toBe(path.join(local, "items.json"));
      const endpoints = session.endpoints()?.list ?? [];
      expect(env.API_URL).toBe(`http://${endpoints.find((e) => e.key === "shop/api")?.address}/api`);
      expect(env.LEDGER).toBe(endpoints.find((e) => e.key === "shop/ledger")?.address);
      expect(env.PEER).toBe("ledger-1.ledger-peers.shop.svc.cluster.local");
      expect(endpoints.find((e) => e.key === "external/ledger-1.ledger-peers.shop.svc.cluster.local")).toMatchObject({ dialHost: "ledger-1.ledger-peers.shop.svc.cluster.local", ports: [{ port: 8080 }] });
      expect(env.PLAIN).toBe("as written");
      expect(session.environment().find((v) => v.name === "PLAIN")?.source).toBe("config-file");
      const answers = await fetchFromWorkstation([`${env.API_URL}/items`]);
      expect(body(answers[`${env.API_URL}/items`]).pod).toMatch(/^api-/);
    } finally {
      await session.disconnect();
    }

    const before = cluster.store.get(kind("Deployment"), "shop", "store").spec;
    fs.writeFileSync(configFile, "version: 0.1\nenv:\n  - name: OK\n    value: fine\n  - name: BAD\n    value: $(service:api)\n");
    const failed = await connect(options({ target: { kind: "service", name: "store", namespace: "shop" }, ports: [{ port: 8080, workstationPort: 1 }], configFile })).then(
      () => null,
      (error: { info: { code: string; message: string } }) => error.info,
    );
    expect(failed).toMatchObject({ code: "config-file-invalid", message: `${configFile} line 5: BAD: unknown token type "service" (services, volumeMounts or externalEndpoints)` });
    expect(cluster.store.get(kind("Deployment"), "shop", "store").spec).toStrictEqual(before);
    expect(fs.readFileSync(hostsFile, "utf8")).toBe(ORIGINAL);
  });

  test("unprivileged: services on 127.0.0.1 ports, and the hosts file untouched", async () => {
    const session = await connect(options({ target: { kind: "service", name: "solo", namespace: "shop" }, ports: [{ port: 80, workstationPort: await freePort() }], endpoints: { mode: "unprivileged", hostsFile, blockId: "test-solo" } }));
    try {
      const endpoints = session.endpoints();
      expect(endpoints?.mode).toBe("unprivileged");
      expect(new Set(endpoints?.list.map((e) => e.address))).toEqual(new Set(["127.0.0.1"]));
      // The same calls, through the service variables the process gets.
      const env = Object.fromEntries(session.environment().map((v) => [v.name, v.value]));
      expect(env.API_SERVICE_HOST).toBe("127.0.0.1");
      expect(env.API_SERVICE_PORT).toBe(String(endpoints?.list.find((e) => e.key === "shop/api")?.ports[0]?.listenPort));
      const answer = await fetch(`http://${env.API_SERVICE_HOST}:${env.API_SERVICE_PORT}/api/items`);
      expect(((await answer.json()) as { pod: string }).pod).toMatch(/^api-/);
      const ledger = await fetch(`http://${env.LEDGER_SERVICE_HOST}:${env.LEDGER_SERVICE_PORT}/`);
      expect(await ledger.text()).toMatch(/^ledger-[01]$/);
      expect(fs.readFileSync(hostsFile, "utf8")).toBe(ORIGINAL);

      // A connection still open through an endpoint (an unfinished request) does not hold up the disconnect: it is cut.
      const held = net.connect({ host: "127.0.0.1", port: Number(env.API_SERVICE_PORT) });
      await new Promise((resolve) => held.once("connect", resolve));
      held.write("GET /api/items HTTP/1.1\r\nHost: api\r\n");
      const cut = new Promise((resolve) => held.once("close", resolve));
      held.on("error", () => undefined);
      const started = Date.now();
      await session.disconnect();
      await cut;
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      await session.disconnect();
    }
    expect(fs.readFileSync(hostsFile, "utf8")).toBe(ORIGINAL);
  });

  test("a block a crashed helper left is removed when the next helper starts; other lines and other homes' blocks stay", async () => {
    const home = path.join(dir, "home");
    // What a helper of this home killed mid-session leaves behind.
    writeHostsBlock(hostsFile, `${homeId(kbridgeHome({ KBRIDGE_HOME: home }))}-crashed`, [{ address: "127.1.1.1", names: ["api", "api.shop"] }], "kbridge");
    const other = "# kbridge begin 00000000-other — someone else's\n127.1.1.9 theirs\n# kbridge end 00000000-other\n";
    fs.appendFileSync(hostsFile, other);
    expect(fs.readFileSync(hostsFile, "utf8")).toMatch(/# kbridge begin [0-9a-f]{8}-crashed/);
    const helper = await runHelper({ ...process.env, KBRIDGE_HOME: home, KBRIDGE_HELPER_PORT: String(await freePort()) });
    await helper.close();
    expect(fs.readFileSync(hostsFile, "utf8")).toBe(ORIGINAL + other);
    fs.writeFileSync(hostsFile, ORIGINAL);
  });
});
