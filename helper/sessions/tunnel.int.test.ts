/**
 * The tunnel under load: a server-speaks-first protocol, 100 concurrent connections and a
 * 256 MiB body each way, all checked byte for byte, through agent → HTTP/2 over
 * port-forward → helper → workstation.
 */
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startTestCluster, type TestCluster } from "../../test/cluster/cluster.ts";
import { kind } from "../../test/cluster/controllers/objects.ts";
import { kubectlFor } from "../../test/cluster/support/kubectl.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";
import { silentLogger } from "../logging/logger.ts";
import { connect, type ConnectedSession } from "./connectSession.ts";

const dir = tempDir("tunnel");
let cluster: TestCluster;
let session: ConnectedSession;
let workstation: net.Server;
let clusterIp: string;

// In the cluster: a TCP service that greets first, then echoes (replaced by the workstation's).
const GREETER = "require('net').createServer((s) => { s.write('cluster-hello\\n'); s.pipe(s); }).listen(7000)";

beforeAll(async () => {
  cluster = await startTestCluster({ backoffBaseMs: 500 });
  const kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
  const applied = await kubectlFor(kubeconfig)(["apply", "-f", "-"], {
    stdin: `apiVersion: apps/v1
kind: Deployment
metadata: {name: greeter}
spec:
  replicas: 1
  selector: {matchLabels: {app: greeter}}
  template:
    metadata: {labels: {app: greeter}}
    spec:
      containers:
      - name: greeter
        image: node:22
        command: ["node", "-e", ${JSON.stringify(GREETER)}]
        ports: [{name: tcp, containerPort: 7000}]
---
apiVersion: v1
kind: Service
metadata: {name: greeter}
spec:
  selector: {app: greeter}
  ports: [{port: 7000, targetPort: tcp}]
`,
  });
  if (applied.code !== 0) throw new Error(applied.stderr);
  clusterIp = (cluster.store.get(kind("Service"), "default", "greeter").spec as { clusterIP: string }).clusterIP;
  workstation = net.createServer((socket) => {
    socket.write("workstation-hello\n");
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => workstation.listen(0, "127.0.0.1", resolve));
  await until(
    () => cluster.store.list(kind("Pod"), "default").some((p) => (p.status as { conditions?: { type: string; status: string }[] }).conditions?.some((c) => c.type === "Ready" && c.status === "True")),
    "the greeter to be ready",
    20_000,
  );
  session = await connect({
    kubeconfig: [kubeconfig],
    context: "kbridge-demo",
    target: { kind: "service", name: "greeter", namespace: "default" },
    ports: [{ port: 7000, workstationPort: (workstation.address() as net.AddressInfo).port }],
    log: silentLogger(),
  });
}, 60_000);

afterAll(async () => {
  await session?.disconnect();
  workstation?.close();
  await cluster?.stop();
});

/** Connects through the service, checks the greeting, sends `payload`, and returns the echo. */
function exchange(payload: Buffer): Promise<{ greeting: string; echo: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: clusterIp, port: 7000 });
    const chunks: Buffer[] = [];
    let length = 0;
    const greetingLength = "workstation-hello\n".length;
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= greetingLength + payload.length) {
        const all = Buffer.concat(chunks);
        socket.destroy();
        resolve({ greeting: all.subarray(0, greetingLength).toString(), echo: all.subarray(greetingLength) });
      }
    });
    socket.on("error", reject);
    // Server speaks first: write only after the greeting arrived.
    socket.once("data", () => {
      let offset = 0;
      const pump = () => {
        while (offset < payload.length) {
          const slice = payload.subarray(offset, offset + 1024 * 1024);
          offset += slice.length;
          if (!socket.write(slice)) return void socket.once("drain", pump);
        }
      };
      pump();
    });
  });
}

const sha = (data: Buffer) => createHash("sha256").update(data).digest("hex");

test("a server-speaks-first protocol works: the greeting arrives before the client sends anything", async () => {
  const { greeting, echo } = await exchange(Buffer.from("ping"));
  expect(greeting).toBe("workstation-hello\n");
  expect(echo.toString()).toBe("ping");
});

test("100 concurrent connections, each with its own bytes intact", async () => {
  const payloads = Array.from({ length: 100 }, () => randomBytes(64 * 1024));
  const results = await Promise.all(payloads.map((payload) => exchange(payload)));
  results.forEach((result, i) => expect(sha(result.echo), `connection ${i}`).toBe(sha(payloads[i] as Buffer)));
});

test("a 256 MiB body each way, checksum intact", async () => {
  const payload = randomBytes(Number(process.env.KB_TUNNEL_MIB ?? 256) * 1024 * 1024);
  const started = Date.now();
  const { echo } = await exchange(payload);
  expect(echo.length).toBe(payload.length);
  expect(sha(echo)).toBe(sha(payload));
  console.log(`256 MiB each way through the tunnel in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}, 180_000);
