/**
 * kubectl port-forward throughput through the test cluster, measured side by side with a
 * direct connection to the pod IP: download and upload of 256 MiB, median of 3 runs, for
 * the WebSocket-tunnelled SPDY transport (kubectl's default) and plain SPDY.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startTestCluster } from "../test/cluster/cluster.ts";
import { kind } from "../test/cluster/controllers/objects.ts";
import { download as downloadBytes, kubectlPortForward, median, MIB, upload as uploadBytes } from "./transfer.ts";

const download = (port: number, host?: string) => downloadBytes(port, SIZE, host);
const upload = (port: number, host?: string) => uploadBytes(port, SIZE, host);
const forward = (kubeconfig: string, remote: number, env: Record<string, string>) => kubectlPortForward({ kubeconfig, namespace: "default", remote, env });

const SIZE = 256 * MIB;
const RUNS = 3;

// Port 7001 sends SIZE bytes and closes; port 7002 counts what it receives and answers "ok".
const BLAST = `
const net = require("net");
const size = ${SIZE};
const chunk = Buffer.alloc(1024 * 1024, 7);
net.createServer((s) => {
  let sent = 0;
  const pump = () => { while (sent < size) { sent += chunk.length; if (!s.write(chunk)) return s.once("drain", pump); } s.end(); };
  pump();
}).listen(7001);
net.createServer((s) => { let n = 0; s.on("data", (d) => (n += d.length)); s.on("end", () => s.end(n === size ? "ok" : "short " + n)); }).listen(7002);
`;

export async function benchPortForward(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kbridge-bench-"));
  const cluster = await startTestCluster();
  try {
    const kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
    cluster.store.create(kind("Pod"), { metadata: { name: "blast", namespace: "default" }, spec: { containers: [{ name: "blast", image: "node:22", command: ["node", "-e", BLAST], readinessProbe: { tcpSocket: { port: 7002 }, periodSeconds: 1 } }] } });
    let podIp: string | undefined;
    for (let i = 0; i < 200 && !podIp; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const status = cluster.store.find(kind("Pod"), "default", "blast")?.status as { podIP?: string; containerStatuses?: { ready: boolean }[] } | undefined;
      if (status?.containerStatuses?.[0]?.ready) podIp = status.podIP;
    }
    if (!podIp) throw new Error("the benchmark pod did not become ready");

    const rows: { name: string; down: number; up: number }[] = [];
    const measure = async (name: string, ports: { down: number; up: number }, host = "127.0.0.1") => {
      const down: number[] = [];
      const up: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        down.push(await download(ports.down, host));
        up.push(await upload(ports.up, host));
      }
      rows.push({ name, down: median(down), up: median(up) });
    };
    await measure("direct to the pod IP", { down: 7001, up: 7002 }, podIp);
    for (const [name, env] of [
      ["kubectl port-forward (SPDY in WebSocket)", {}],
      ["kubectl port-forward (plain SPDY)", { KUBECTL_PORT_FORWARD_WEBSOCKETS: "false" }],
    ] as const) {
      const down = await forward(kubeconfig, 7001, env);
      const up = await forward(kubeconfig, 7002, env);
      try {
        await measure(name, { down: down.port, up: up.port });
      } finally {
        down.child.kill();
        up.child.kill();
      }
    }
    const [direct] = rows;
    console.log(`\nport-forward throughput, ${SIZE / MIB} MiB per transfer, median of ${RUNS} (MB/s = MiB/s)`);
    for (const row of rows) {
      console.log(
        `  ${row.name.padEnd(42)} download ${row.down.toFixed(0).padStart(5)} MB/s (${(row.down / (direct?.down ?? 1)).toFixed(2)}x direct)   upload ${row.up.toFixed(0).padStart(5)} MB/s (${(row.up / (direct?.up ?? 1)).toFixed(2)}x direct)`,
      );
    }
  } finally {
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
