/** Pods as real processes, seen through kubectl and plain HTTP to pod IPs. */
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { tempDir } from "../../support/tempDir.ts";
import { startTestCluster, type TestCluster } from "../cluster.ts";
import { kind } from "../controllers/objects.ts";
import { kubectlFor } from "../support/kubectl.ts";
import { until } from "../../support/until.ts";

const dir = tempDir("kubelet");
let cluster: TestCluster;
let kubectl: ReturnType<typeof kubectlFor>;

beforeAll(async () => {
  cluster = await startTestCluster({ backoffBaseMs: 300 });
  kubectl = kubectlFor(cluster.writeKubeconfig(path.join(dir, "kubeconfig")));
});
afterAll(() => cluster.stop());

const SERVER = `
const fs = require("fs");
require("http").createServer((req, res) => {
  const file = req.url.startsWith("/file/") ? fs.readFileSync(decodeURIComponent(req.url.slice(5)), "utf8") : undefined;
  res.end(JSON.stringify({ host: process.env.HOSTNAME, env: process.env, file }));
}).listen(8080, () => console.log("listening on 8080"));
process.on("SIGTERM", () => { console.log("got SIGTERM"); process.exit(0); });
`;

const podYaml = (name: string, extra = "", image = "node:22-alpine") => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: ${name}}}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: main
    image: ${image}
    command: ["node", "-e", ${JSON.stringify(SERVER)}]
    ports: [{containerPort: 8080, name: http}]
${extra}`;

async function apply(yaml: string): Promise<void> {
  const result = await kubectl(["apply", "-f", "-"], { stdin: yaml });
  if (result.code !== 0) throw new Error(result.stderr);
}


type PodView = { status: { phase: string; podIP?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { restartCount: number; containerID?: string; state: Record<string, { reason?: string; message?: string }> }[] } };
const pod = (name: string) => cluster.store.find(kind("Pod"), "default", name) as unknown as PodView | undefined;
const readyIp = (name: string) => {
  const p = pod(name);
  return p?.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? p.status.podIP : undefined;
};
const get = async (url: string) => (await fetch(url)).json() as Promise<{ host: string; env: Record<string, string>; file?: string }>;

describe("kubelet", () => {
  test("node images run as processes on their own pod IPs; two pods share a port", async () => {
    await apply(podYaml("alpha") + "---\n" + podYaml("beta"));
    const alpha = await until(() => readyIp("alpha"), "alpha ready");
    const beta = await until(() => readyIp("beta"), "beta ready");
    expect(alpha?.startsWith(`${cluster.addresses.podPrefix}.`)).toBe(true);
    expect(alpha).not.toBe(beta);
    expect((await get(`http://${alpha}:8080/`)).host).toBe("alpha");
    expect((await get(`http://${beta}:8080/`)).host).toBe("beta");
    expect((await kubectl(["get", "pod", "alpha", "-o", "jsonpath={.status.phase}"])).stdout).toBe("Running");
  });

  test("the environment comes from ConfigMaps, Secrets and the downward API; a ConfigMap volume is a file at its mount path", async () => {
    await apply(`apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {MODE: demo, "app.properties": "color=blue\\n"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {PASSWORD: "s3 cr3t"}
---
${podYaml(
  "configured",
  `    envFrom: [{configMapRef: {name: settings}, prefix: CFG_}]
    env:
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: PASSWORD}}}
    - {name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: GREETING, value: "mode=$(CFG_MODE)"}
    volumeMounts: [{name: config, mountPath: /etc/kbridge-test-config, readOnly: true}]
  volumes: [{name: config, configMap: {name: settings}}]
`,
)}`);
    const ip = await until(() => readyIp("configured"), "configured ready");
    const { env } = await get(`http://${ip}:8080/`);
    expect(env).toMatchObject({ CFG_MODE: "demo", PASSWORD: "s3 cr3t", MY_IP: ip, GREETING: "mode=demo", HOSTNAME: "configured" });
    expect((await get(`http://${ip}:8080/file/etc/kbridge-test-config/app.properties`)).file).toBe("color=blue\n");
  });

  test("logs: tail, timestamps, follow; a crashing container restarts with back-off and keeps its previous log", async () => {
    await until(() => readyIp("alpha"), "alpha ready");
    expect((await kubectl(["logs", "alpha"])).stdout).toBe("listening on 8080\n");
    expect((await kubectl(["logs", "alpha", "--timestamps"])).stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z listening on 8080\n$/);

    await apply(`apiVersion: v1
kind: Pod
metadata: {name: crasher}
spec:
  containers:
  - name: main
    image: node:22
    command: ["node", "-e", "console.log('run at', Date.now()); setTimeout(() => process.exit(3), 200)"]
`);
    const crashed = await until(() => {
      const status = pod("crasher")?.status.containerStatuses?.[0];
      return status && status.restartCount >= 2 ? status : undefined;
    }, "two restarts");
    expect(crashed.restartCount).toBeGreaterThanOrEqual(2);
    const previous = await kubectl(["logs", "crasher", "--previous"]);
    expect(previous.stdout).toMatch(/^run at \d+\n$/);
    const states = await until(async () => {
      const out = (await kubectl(["get", "pod", "crasher", "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason} {.status.containerStatuses[0].lastState.terminated.exitCode}"])).stdout;
      return out.startsWith("CrashLoopBackOff") ? out : undefined;
    }, "CrashLoopBackOff");
    expect(states).toBe("CrashLoopBackOff 3");
  });

  test("probes come with kube-probe's User-Agent; a failing liveness probe restarts the container", async () => {
    // Answers /healthz with 500 and records each probe's User-Agent in its log.
    const sick = `require("http").createServer((req, res) => { console.log(req.url, req.headers["user-agent"], req.headers["x-probe"] ?? ""); res.statusCode = req.url === "/healthz" ? 500 : 200; res.end(); }).listen(8080)`;
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: sick}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: node:22
    command: ["node", "-e", ${JSON.stringify(sick)}]
    readinessProbe: {httpGet: {path: /ready, port: 8080, httpHeaders: [{name: X-Probe, value: readiness}]}, periodSeconds: 1}
    livenessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1, failureThreshold: 2}
`);
    await until(() => (pod("sick")?.status.containerStatuses?.[0]?.restartCount ?? 0) >= 1, "a restart after the liveness probe failed", 20_000);
    expect((await kubectl(["logs", "sick", "--previous"])).stdout).toMatch(/^\/ready kube-probe\/1\.\d+ readiness$/m);
    expect((await kubectl(["logs", "sick", "--previous"])).stdout).toMatch(/^\/healthz kube-probe\/1\.\d+ $/m);
    const events = JSON.parse((await kubectl(["get", "events", "--field-selector", "involvedObject.name=sick,reason=Unhealthy", "-o", "json"])).stdout) as { items: { message: string }[] };
    expect(events.items[0]?.message).toMatch(/Liveness probe failed/);
    expect((await kubectl(["delete", "pod", "sick", "--wait=false"])).code).toBe(0);
  });

  test("an unknown image fails to pull; a missing ConfigMap holds the container until it exists", async () => {
    await apply(podYaml("unpullable", "", "registry.example/nothing:1"));
    const reason = await until(() => {
      const state = pod("unpullable")?.status.containerStatuses?.[0]?.state.waiting?.reason;
      return state === "ImagePullBackOff" ? state : undefined;
    }, "ImagePullBackOff");
    expect(reason).toBe("ImagePullBackOff");
    expect((await kubectl(["get", "pod", "unpullable", "-o", "jsonpath={.status.phase}"])).stdout).toBe("Pending");

    await apply(podYaml("waits-for-config", "    envFrom: [{configMapRef: {name: later}}]\n"));
    await until(() => pod("waits-for-config")?.status.containerStatuses?.[0]?.state.waiting?.reason === "CreateContainerConfigError", "CreateContainerConfigError");
    expect(pod("waits-for-config")?.status.containerStatuses?.[0]?.state.waiting?.message).toBe('configmap "later" not found');
    await apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: later}\ndata: {X: '1'}\n");
    const ip = await until(() => readyIp("waits-for-config"), "started once the ConfigMap exists");
    expect((await get(`http://${ip}:8080/`)).env.X).toBe("1");
  });

  test("delete is graceful: SIGTERM, then the pod object goes; restartPolicy Never ends Succeeded", async () => {
    await until(() => readyIp("beta"), "beta ready");
    const pid = Number(pod("beta")?.status.containerStatuses?.[0]?.containerID?.replace("kbridge://", ""));
    const logs = kubectl(["logs", "-f", "beta"]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await kubectl(["delete", "pod", "beta"])).stdout).toBe('pod "beta" deleted\n');
    expect(pod("beta")).toBeUndefined();
    expect(() => process.kill(pid, 0)).toThrow();
    // The followed log saw the SIGTERM handler's line, then ended with the container.
    expect((await logs).stdout).toBe("listening on 8080\ngot SIGTERM\n");

    await apply(`apiVersion: v1
kind: Pod
metadata: {name: once}
spec:
  restartPolicy: Never
  containers: [{name: main, image: node:22, command: ["node", "-e", "console.log('done')"]}]
`);
    await until(() => pod("once")?.status.phase === "Succeeded", "Succeeded");
  });

  test("stopping the cluster ends every pod process", async () => {
    const pids = cluster.store
      .list(kind("Pod"))
      .map((p) => Number((p as unknown as PodView).status.containerStatuses?.[0]?.containerID?.replace("kbridge://", "")))
      .filter((pid) => pid > 0);
    expect(pids.length).toBeGreaterThan(2);
    await cluster.kubelet.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0), `pid ${pid}`).toThrow();
  });

  test("pod processes die with a cluster that is killed outright", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/cluster/support/clusterWithOnePod.ts"], { stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const pid = Number(await until(() => /POD_PID=(\d+)/.exec(output)?.[1], "the pod's pid", 20_000));
    expect(() => process.kill(pid, 0)).not.toThrow();
    child.kill("SIGKILL");
    await until(() => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, `pod process ${pid} to end`, 5000);
  });
});
