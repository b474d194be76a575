/** exec and port-forward as kubectl and client-node use them, byte-exact. */
import type { ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import type https from "node:https";
import net from "node:net";
import path from "node:path";
import { PassThrough } from "node:stream";
import { Exec, KubeConfig, Log, PortForward, type V1Status } from "@kubernetes/client-node";
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { tempDir } from "../../support/tempDir.ts";
import { startTestCluster, type TestCluster } from "../cluster.ts";
import { kind } from "../controllers/objects.ts";
import { kubectlFor, startPortForward } from "../support/kubectl.ts";
import { until } from "../../support/until.ts";

const dir = tempDir("streams");
let cluster: TestCluster;
let kubeconfig: string;
let kubectl: ReturnType<typeof kubectlFor>;
const children: ChildProcess[] = [];

const ECHO = "require('net').createServer((s) => s.pipe(s)).listen(7000, () => console.log('echo ready'))";

beforeAll(async () => {
  cluster = await startTestCluster({ backoffBaseMs: 300 });
  kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
  kubectl = kubectlFor(kubeconfig);
  const applied = await kubectl(["apply", "-f", "-"], {
    stdin: `apiVersion: v1
kind: Pod
metadata: {name: echo, labels: {app: echo}}
spec:
  containers:
  - name: echo
    image: node:22
    command: ["node", "-e", ${JSON.stringify(ECHO)}]
    ports: [{name: tcp-echo, containerPort: 7000}]
---
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  selector: {app: echo}
  ports: [{port: 80, targetPort: tcp-echo}]
`,
  });
  if (applied.code !== 0) throw new Error(applied.stderr);
  await until(() => (cluster.store.find(kind("Pod"), "default", "echo")?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.some((c) => c.type === "Ready" && c.status === "True"), "the echo pod to be ready");
});
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await cluster.stop();
});

/**
 * Sends `size` random bytes through host:port and checks the echo, byte for byte. With
 * `halfClose` the sender ends its side first (kubectl's SPDY streams carry that); without
 * it the sender waits for every byte before closing (client-node's v4 port-forward closes
 * the whole WebSocket when its input ends, on a real cluster too).
 */
async function roundTrip(port: number, size: number, halfClose = true): Promise<void> {
  const payload = randomBytes(size);
  const received = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const socket = net.connect({ host: "127.0.0.1", port }, () => (halfClose ? socket.end(payload) : socket.write(payload)));
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (!halfClose && length >= size) {
        socket.destroy();
        resolve(Buffer.concat(chunks));
      }
    });
    socket.on("end", () => resolve(Buffer.concat(chunks)));
    socket.on("error", reject);
  });
  expect(received.length).toBe(size);
  expect(createHash("sha256").update(received).digest("hex")).toBe(createHash("sha256").update(payload).digest("hex"));
}

/** Starts `kubectl port-forward` and resolves with the local port it chose. */
async function portForward(args: string[], env: Record<string, string> = {}): Promise<number> {
  const { port, child } = await startPortForward(kubeconfig, args, env);
  children.push(child);
  return port;
}

describe("port-forward", () => {
  test("kubectl, SPDY tunnelled in a WebSocket (default): more than 1 MiB each way, several connections in a row", async () => {
    const port = await portForward(["pod/echo", ":7000"]);
    await roundTrip(port, 3 * 1024 * 1024 + 17);
    for (let i = 0; i < 3; i++) await roundTrip(port, 64 * 1024 + i);
  });

  test("kubectl, plain SPDY (KUBECTL_PORT_FORWARD_WEBSOCKETS=false), through a Service's named target port", async () => {
    const port = await portForward(["svc/echo", ":80"], { KUBECTL_PORT_FORWARD_WEBSOCKETS: "false" });
    await roundTrip(port, 2 * 1024 * 1024 + 5);
    for (let i = 0; i < 3; i++) await roundTrip(port, 1000 + i);
  });

  test("client-node PortForward (WebSocket v4 channels)", async () => {
    const config = new KubeConfig();
    config.loadFromFile(kubeconfig);
    const forward = new PortForward(config);
    const server = net.createServer((socket) => void forward.portForward("default", "echo", [7000], socket, null, socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      await roundTrip(port, 1024 * 1024 + 3, false);
      await roundTrip(port, 10, false);
    } finally {
      server.close();
    }
  });
});

describe("logs", () => {
  test("client-node Log follows new lines as the container writes them", async () => {
    const applied = await kubectl(["apply", "-f", "-"], {
      stdin: `apiVersion: v1\nkind: Pod\nmetadata: {name: ticker}\nspec:\n  containers:\n  - name: ticker\n    image: node:22\n    command: ["node", "-e", "let n = 0; setInterval(() => console.log('tick ' + n++), 100)"]\n`,
    });
    expect(applied.code).toBe(0);
    const config = new KubeConfig();
    config.loadFromFile(kubeconfig);
    const lines = new PassThrough();
    let text = "";
    lines.on("data", (chunk: Buffer) => (text += chunk.toString()));
    await until(() => (cluster.store.find(kind("Pod"), "default", "ticker")?.status as { phase?: string } | undefined)?.phase === "Running", "the ticker to run");
    const ended = new Promise<void>((resolve) => lines.on("end", resolve));
    await new Log(config).log("default", "ticker", "ticker", lines, { follow: true, tailLines: 1 });
    await until(() => /tick (\d+)\n[\s\S]*tick \d+\n[\s\S]*tick \d+\n/.test(text), "three followed lines");
    // Deleting the pod ends the container, which ends the followed stream. (Aborting
    // client-node's Log instead leaves an unhandled AbortError inside client-node.)
    expect((await kubectl(["delete", "pod", "ticker", "--grace-period=1"])).code).toBe(0);
    await ended;
    const numbers = [...text.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
    // Consecutive lines, none twice: follow continues where the tail ended.
    expect(numbers.slice(0, 3)).toEqual([numbers[0], (numbers[0] as number) + 1, (numbers[0] as number) + 2]);
  });
});

describe("exec", () => {
  test("kubectl exec passes stdin and propagates the exit code", async () => {
    const upper = await kubectl(["exec", "-i", "echo", "--", "node", "-e", "process.stdin.on('data', (d) => process.stdout.write(d.toString().toUpperCase()))"], { stdin: "hello from stdin\n" });
    expect(upper).toMatchObject({ code: 0, stdout: "HELLO FROM STDIN\n" });
    const failed = await kubectl(["exec", "echo", "--", "sh", "-c", "echo to-stderr >&2; exit 3"]);
    expect(failed.code).toBe(3);
    expect(failed.stderr).toContain("to-stderr");
    expect(failed.stderr).toContain("command terminated with exit code 3");
    // The command sees the container's environment and files.
    expect((await kubectl(["exec", "echo", "--", "sh", "-c", "echo $HOSTNAME; cat /var/run/secrets/kubernetes.io/serviceaccount/namespace"])).stdout).toBe("echo\ndefault");
  });

  test("exec reads its stdout and stderr flags as the real server does: True and 1 are true, False is false", async () => {
    const config = new KubeConfig();
    config.loadFromFile(kubeconfig);
    const options: https.RequestOptions = {};
    await config.applyToHTTPSOptions(options);
    // A raw exec WebSocket (v4 channels: the first byte of each message names the stream), so the flags are sent as written.
    const run = (flags: string) =>
      new Promise<{ out: string; err: string }>((resolve, reject) => {
        const url = `${config.getCurrentCluster()?.server.replace(/^http/, "ws")}/api/v1/namespaces/default/pods/echo/exec?command=sh&command=-c&command=${encodeURIComponent("echo out; echo err >&2")}&${flags}`;
        const socket = new WebSocket(url, ["v4.channel.k8s.io"], { ca: options.ca, cert: options.cert, key: options.key, headers: options.headers as Record<string, string> });
        const seen = { out: "", err: "" };
        socket.on("message", (data: Buffer) => {
          if (data[0] === 1) seen.out += data.subarray(1).toString();
          if (data[0] === 2) seen.err += data.subarray(1).toString();
        });
        socket.on("close", () => resolve(seen));
        socket.on("error", reject);
      });
    expect(await run("stdout=True&stderr=1")).toEqual({ out: "out\n", err: "err\n" });
    expect(await run("stdout=TRUE&stderr=False")).toEqual({ out: "out\n", err: "" });
  });

  test("client-node Exec reports stdout and the status", async () => {
    const config = new KubeConfig();
    config.loadFromFile(kubeconfig);
    const stdout = new PassThrough();
    let text = "";
    stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
    const status = await new Promise<V1Status>((resolve) => {
      void new Exec(config).exec("default", "echo", "echo", ["sh", "-c", "echo out; exit 5"], stdout, null, null, false, resolve);
    });
    expect(text).toBe("out\n");
    expect(status).toMatchObject({ status: "Failure", reason: "NonZeroExitCode", details: { causes: [{ reason: "ExitCode", message: "5" }] } });
  });
});
