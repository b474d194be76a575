/**
 * The kubelet honours the container security context: the process runs as runAsUser and
 * runAsGroup, runAsNonRoot refuses a root container, and a port below 1024 needs
 * NET_BIND_SERVICE — EACCES and CrashLoopBackOff without it, as on a real node.
 */
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { tempDir } from "../../support/tempDir.ts";
import { until } from "../../support/until.ts";
import { startTestCluster, type TestCluster } from "../cluster.ts";
import { kind } from "../controllers/objects.ts";
import { kubectlFor } from "../support/kubectl.ts";

const dir = tempDir("security-context");
let cluster: TestCluster;
let kubectl: ReturnType<typeof kubectlFor>;

beforeAll(async () => {
  cluster = await startTestCluster({ backoffBaseMs: 300 });
  kubectl = kubectlFor(cluster.writeKubeconfig(path.join(dir, "kubeconfig")));
});
afterAll(() => cluster.stop());

// Says who it is, reads its token, then serves on PORT (or reports the bind error and exits 1).
const PROGRAM = `
const fs = require("fs");
let token = "unreadable";
try { token = fs.readFileSync("/var/run/secrets/kubernetes.io/serviceaccount/token", "utf8").length > 0 ? "readable" : "empty"; } catch (e) { token = e.code; }
console.log("uid=" + process.getuid() + " gid=" + process.getgid() + " groups=" + process.getgroups().sort().join(",") + " token=" + token);
require("http").createServer((q, s) => s.end("ok " + process.getuid())).listen(Number(process.env.PORT), () => console.log("serving")).on("error", (e) => { console.log("listen failed: " + e.code); process.exit(1); });
`;

const pod = (name: string, port: number, podContext: object, containerContext: object = {}) =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { securityContext: podContext, containers: [{ name: "app", image: "node:22", command: ["node", "-e", PROGRAM], env: [{ name: "PORT", value: String(port) }], securityContext: containerContext }] },
  });

type Status = { podIP?: string; containerStatuses?: { restartCount: number; state: Record<string, { reason?: string; message?: string }> }[] };
const status = (name: string) => cluster.store.find(kind("Pod"), "default", name)?.status as Status | undefined;
const logs = async (name: string) => (await kubectl(["logs", name])).stdout + (await kubectl(["logs", name, "--previous"])).stdout;

test("the process runs as runAsUser/runAsGroup with its supplemental groups, and can read its token", async () => {
  expect((await kubectl(["apply", "-f", "-"], { stdin: pod("who", 8080, { runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000] }) })).code).toBe(0);
  const line = await until(async () => (await kubectl(["logs", "who"])).stdout.match(/uid=.*/)?.[0], "who's first line");
  expect(line).toBe("uid=1000 gid=3000 groups=3000,4000 token=readable");
  const ip = await until(() => status("who")?.podIP, "who's IP");
  await until(async () => (await fetch(`http://${ip}:8080/`).then((r) => r.text()).catch(() => "")) === "ok 1000", "who serving as 1000");
});

test("runAsNonRoot refuses a container that would run as root", async () => {
  expect((await kubectl(["apply", "-f", "-"], { stdin: pod("rooted", 8080, { runAsNonRoot: true }) })).code).toBe(0);
  const waiting = await until(() => status("rooted")?.containerStatuses?.[0]?.state.waiting, "rooted waiting");
  expect(waiting.reason).toBe("CreateContainerConfigError");
  expect(waiting.message).toMatch(/^container has runAsNonRoot and image will run as root \(pod: "rooted_default\([0-9a-f-]+\)", container: app\)$/);
});

test("a non-root process binding port 80 fails with EACCES and crash-loops; with NET_BIND_SERVICE it serves", async () => {
  expect((await kubectl(["apply", "-f", "-"], { stdin: pod("low", 80, { runAsUser: 1000 }, { capabilities: { drop: ["ALL"] } }) })).code).toBe(0);
  await until(() => (status("low")?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 && status("low")?.containerStatuses?.[0]?.state.waiting?.reason === "CrashLoopBackOff", "low in CrashLoopBackOff");
  expect(await logs("low")).toContain("listen failed: EACCES");

  expect((await kubectl(["apply", "-f", "-"], { stdin: pod("low-capable", 80, { runAsUser: 1000 }, { capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] } }) })).code).toBe(0);
  const ip = await until(() => status("low-capable")?.podIP, "low-capable's IP");
  await until(async () => (await fetch(`http://${ip}:80/`).then((r) => r.text()).catch(() => "")) === "ok 1000", "low-capable serving on 80");
});

test("root that dropped every capability cannot bind port 80 either; plain root can", async () => {
  expect((await kubectl(["apply", "-f", "-"], { stdin: pod("root-dropped", 80, {}, { capabilities: { drop: ["ALL"] } }) })).code).toBe(0);
  expect((await kubectl(["apply", "-f", "-"], { stdin: pod("root-plain", 80, {}) })).code).toBe(0);
  await until(async () => (await logs("root-dropped")).includes("listen failed: EACCES"), "root-dropped refused");
  const ip = await until(() => status("root-plain")?.podIP, "root-plain's IP");
  await until(async () => (await fetch(`http://${ip}:80/`).then((r) => r.text()).catch(() => "")) === "ok 0", "root-plain serving on 80");
});

test("readOnlyRootFilesystem: writes outside the volumes fail with EROFS, an emptyDir stays writable", async () => {
  const script = `const fs = require("fs"); const attempt = (file) => { try { fs.writeFileSync(file, "x"); return "ok"; } catch (e) { return e.code; } }; console.log("tmp=" + attempt("/tmp/kbridge-ro-probe-" + process.pid) + " scratch=" + attempt("/scratch/file")); setInterval(() => {}, 1000);`;
  const manifest = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "readonly", namespace: "default" },
    spec: {
      volumes: [{ name: "scratch", emptyDir: {} }],
      containers: [{ name: "app", image: "node:22", command: ["node", "-e", script], securityContext: { readOnlyRootFilesystem: true, runAsUser: 1000 }, volumeMounts: [{ name: "scratch", mountPath: "/scratch" }] }],
    },
  };
  expect((await kubectl(["apply", "-f", "-"], { stdin: JSON.stringify(manifest) })).code).toBe(0);
  const line = await until(async () => (await kubectl(["logs", "readonly"])).stdout.match(/tmp=.*/)?.[0], "readonly's line");
  expect(line).toBe("tmp=EROFS scratch=ok");
});
