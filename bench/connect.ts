/**
 * Connect, measured: the time from `kbridge connect` to the first request through the
 * cluster answered by the workstation (and from Ctrl-C to the restored cluster), and
 * inbound HTTP requests/s with p50/p99 latency through the tunnel against the same
 * requests sent straight to the workstation process.
 *
 * The cluster runs in this process; the helper, the CLI, the workstation server and the
 * load generator each run in their own, so no measurement shares an event loop with the
 * emulator.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { startTestCluster } from "../test/cluster/cluster.ts";
import { kind } from "../test/cluster/controllers/objects.ts";
import { demoImages, installDemo, viaIngress, waitForDemo } from "../test/cluster/demo/demoApp.ts";
import { freePort } from "../test/support/ports.ts";
import { startEntry, waitForOutput, type Started } from "../test/support/kbridgeProcess.ts";
import { median } from "./transfer.ts";

const CONNECT_RUNS = 3;
const LOAD_SECONDS = 5;
const CONCURRENCY = 16;
const ROOT = path.resolve(import.meta.dirname, "..");

// The developer's `api`: answers every request with a small JSON body.
const WORKSTATION = `
const http = require("http");
const body = JSON.stringify({ pod: "workstation", items: [], store: "none" });
http.createServer((req, res) => { res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }); res.end(body); })
  .listen(0, "127.0.0.1", function () { console.log("PORT " + this.address().port); });
`;

// Keep-alive HTTP load against a set of host:port targets, round-robin; reports latencies.
const LOAD = `
const http = require("http");
const { parentPort, workerData } = require("worker_threads");
const { targets, seconds, concurrency } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const latencies = [];
let errors = 0;
const deadline = Date.now() + seconds * 1000;
const one = (target) => new Promise((resolve) => {
  const start = process.hrtime.bigint();
  http.get({ host: target.host, port: target.port, path: "/items", agent }, (res) => {
    res.resume();
    res.on("end", () => { if (res.statusCode === 200) latencies.push(Number(process.hrtime.bigint() - start) / 1e6); else errors++; resolve(); });
  }).on("error", () => { errors++; resolve(); });
});
const loop = async (i) => { let n = i; while (Date.now() < deadline) await one(targets[n++ % targets.length]); };
const started = Date.now();
Promise.all(Array.from({ length: concurrency }, (_, i) => loop(i))).then(() => {
  agent.destroy();
  parentPort.postMessage({ latencies, errors, ms: Date.now() - started });
});
`;

interface Load {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function load(targets: { host: string; port: number }[]): Promise<Load> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOAD, { eval: true, workerData: { targets, seconds: LOAD_SECONDS, concurrency: CONCURRENCY } });
    worker.once("error", reject);
    worker.once("message", ({ latencies, errors, ms }: { latencies: number[]; errors: number; ms: number }) => {
      const sorted = latencies.sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
      resolve({ rps: sorted.length / (ms / 1000), p50: at(0.5), p99: at(0.99), errors });
      void worker.terminate();
    });
  });
}

const apiAnswer = async (cluster: Awaited<ReturnType<typeof startTestCluster>>) => {
  try {
    return (JSON.parse((await viaIngress(cluster, "/status")).body) as { api?: string }).api;
  } catch {
    return undefined;
  }
};

export async function benchConnect(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kbridge-bench-connect-"));
  const cluster = await startTestCluster({ images: [demoImages] });
  const children: ChildProcess[] = [];
  let helper: Started | undefined;
  try {
    installDemo(cluster);
    await waitForDemo(cluster);
    const env = { ...process.env, KBRIDGE_HOME: path.join(dir, "home"), KUBECONFIG: cluster.writeKubeconfig(path.join(dir, "kubeconfig")), KBRIDGE_HELPER_PORT: String(await freePort()) };
    helper = startEntry(path.join(ROOT, "helper/main.ts"), env);
    await waitForOutput(helper, /helper listening/, 30_000);
    const workstation = spawn(process.execPath, ["-e", WORKSTATION], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(workstation);
    const workstationPort = await new Promise<number>((resolve) => workstation.stdout.on("data", (chunk: Buffer) => /PORT (\d+)/.test(chunk.toString()) && resolve(Number(/PORT (\d+)/.exec(chunk.toString())?.[1]))));

    const connectMs: number[] = [];
    const restoreMs: number[] = [];
    let loads: { direct: Load; tunnel: Load } | undefined;
    for (let run = 0; run < CONNECT_RUNS; run++) {
      const started = Date.now();
      const cli = spawn(process.execPath, [path.join(ROOT, "bin/kbridge.js"), "connect", "--context", "kbridge-demo", "--namespace", "shop", "--service", "api", "--local-port", String(workstationPort)], { env, stdio: ["ignore", "pipe", "pipe"] });
      children.push(cli);
      let output = "";
      cli.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      cli.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<void>((resolve) => cli.once("exit", () => resolve()));
      while ((await apiAnswer(cluster)) !== "workstation") {
        if (cli.exitCode !== null) throw new Error(`kbridge connect exited:\n${output}`);
        if (Date.now() - started > 90_000) throw new Error(`no redirected answer after 90 s:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      connectMs.push(Date.now() - started);
      if (process.env.KBRIDGE_BENCH_VERBOSE) console.log(output);
      if (!loads) {
        // Both replicas' agents, straight on their pod IPs: cluster side → tunnel → workstation.
        const agents = cluster.store
          .list(kind("Pod"), "shop")
          .filter((p) => p.metadata.labels?.["kbridge.dev/role"] === "agent" && (p.status as { podIP?: string } | undefined)?.podIP)
          .map((p) => ({ host: (p.status as { podIP: string }).podIP, port: 8080 }));
        const direct = await load([{ host: "127.0.0.1", port: workstationPort }]);
        const tunnel = await load(agents);
        loads = { direct, tunnel };
      }
      const stopping = Date.now();
      cli.kill("SIGINT");
      await exited;
      restoreMs.push(Date.now() - stopping);
      if ((await apiAnswer(cluster)) === "workstation") throw new Error("the cluster still answered from the workstation after disconnect");
    }

    console.log(`\nconnect (demo shop, service api, 2 replicas; helper already running), median of ${CONNECT_RUNS}`);
    console.log(`  kbridge connect → first request through the ingress answered by the workstation   ${median(connectMs)} ms  (runs: ${connectMs.join(", ")})`);
    console.log(`  Ctrl-C → deployment restored and agent pods gone (connect exits)                   ${median(restoreMs)} ms  (runs: ${restoreMs.join(", ")})`);
    if (loads) {
      const { direct, tunnel } = loads;
      const row = (name: string, l: Load) => `  ${name.padEnd(48)} ${l.rps.toFixed(0).padStart(6)} req/s   p50 ${l.p50.toFixed(2).padStart(6)} ms   p99 ${l.p99.toFixed(2).padStart(6)} ms   errors ${l.errors}`;
      console.log(`\ninbound HTTP, ${CONCURRENCY} keep-alive connections, ${LOAD_SECONDS} s each`);
      console.log(row("straight to the workstation process", direct));
      console.log(row("agent pods → tunnel → workstation process", tunnel));
      console.log(`  ratio (tunnel / direct): ${(tunnel.rps / direct.rps).toFixed(2)}x req/s, p50 ${(tunnel.p50 / direct.p50).toFixed(1)}x, p99 ${(tunnel.p99 / direct.p99).toFixed(1)}x`);
    }
  } finally {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await helper?.stop();
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
