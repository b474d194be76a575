/** What the benches share: bulk transfers against a blast server, kubectl port-forward, an HTTP load generator, the median. */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";

export const MIB = 1024 * 1024;

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/** Reads `size` bytes from host:port (the blast server's sending port); MB/s. */
export async function download(port: number, size: number, host = "127.0.0.1"): Promise<number> {
  const start = process.hrtime.bigint();
  const received = await new Promise<number>((resolve, reject) => {
    let n = 0;
    net.connect({ host, port }).on("data", (d: Buffer) => (n += d.length)).on("end", () => resolve(n)).on("error", reject);
  });
  if (received !== size) throw new Error(`download got ${received} bytes of ${size}`);
  return size / MIB / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** Sends `size` bytes to host:port and half-closes; the blast server answers "ok" when it got them all. MB/s. */
export async function upload(port: number, size: number, host = "127.0.0.1"): Promise<number> {
  const start = process.hrtime.bigint();
  const chunk = Buffer.alloc(MIB, 3);
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = net.connect({ host, port });
    let reply = "";
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        sent += chunk.length;
        if (!socket.write(chunk)) return void socket.once("drain", pump);
      }
      socket.end();
    };
    socket.on("connect", pump).on("data", (d: Buffer) => (reply += d.toString())).on("end", () => resolve(reply)).on("error", reject);
  });
  if (answer !== "ok") throw new Error(`upload: the pod answered ${answer}`);
  return size / MIB / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** `kubectl port-forward pod/blast :remote`; resolves with the local port once kubectl says so. */
export async function kubectlPortForward(options: { kubeconfig: string; namespace: string; remote: number; env?: Record<string, string> }): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn("kubectl", ["port-forward", "-n", options.namespace, "--address", "127.0.0.1", "pod/blast", `:${options.remote}`], {
    env: { ...process.env, KUBECONFIG: options.kubeconfig, KUBECACHEDIR: fs.mkdtempSync(path.join(os.tmpdir(), "kbridge-bench-cache-")), ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    const read = (c: Buffer) => {
      output += c.toString();
      const match = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    };
    child.stdout?.on("data", read);
    child.stderr?.on("data", read);
    child.on("exit", () => reject(new Error(`kubectl port-forward exited:\n${output}`)));
  });
  return { port, child };
}

const LOAD = `
const http = require("http");
const { parentPort, workerData } = require("worker_threads");
const { target, seconds, concurrency, path, headers } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
let done = 0, errors = 0;
const deadline = Date.now() + seconds * 1000;
const one = () => new Promise((resolve) => {
  http.get({ host: target.host, port: target.port, path, headers, agent }, (res) => { res.resume(); res.on("end", () => { res.statusCode === 200 ? done++ : errors++; resolve(); }); }).on("error", () => { errors++; resolve(); });
});
const loop = async () => { while (Date.now() < deadline) await one(); };
const started = Date.now();
Promise.all(Array.from({ length: concurrency }, loop)).then(() => { agent.destroy(); parentPort.postMessage({ rps: done / ((Date.now() - started) / 1000), requests: done, errors }); });
`;

/** HTTP GETs with keep-alive from a worker thread, `concurrency` at a time for `seconds`: requests/s, requests answered 200, errors. */
export function load(target: { host: string; port: number }, options: { seconds: number; concurrency: number; path: string; headers?: Record<string, string> }): Promise<{ rps: number; requests: number; errors: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOAD, { eval: true, workerData: { target, ...options, headers: options.headers ?? {} } });
    worker.once("error", reject);
    worker.once("message", (result: { rps: number; requests: number; errors: number }) => {
      resolve(result);
      void worker.terminate();
    });
  });
}

/** CPU time (user + system) of a process group, or of one process with `own` (all its threads), in ms; 0 once gone. Linux /proc. */
function cpuMs(pid: number, own = false): number {
  const ticks = (stat: string) => {
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { group: Number(fields[2]), cpu: Number(fields[11]) + Number(fields[12]) };
  };
  const TICK_MS = 10; // USER_HZ is 100 on Linux
  if (own) {
    try {
      return ticks(fs.readFileSync(`/proc/${pid}/stat`, "utf8")).cpu * TICK_MS;
    } catch {
      return 0;
    }
  }
  let total = 0;
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const { group, cpu } = ticks(fs.readFileSync(`/proc/${entry}/stat`, "utf8"));
      if (group === pid) total += cpu;
    } catch {
      // exited meanwhile
    }
  }
  return total * TICK_MS;
}

/**
 * Where the CPU goes: `start()` then `stop()` around a measurement adds each process's CPU
 * time to its row. Processes are named by group leader pid (helpers, kubectl, pods — each
 * started in its own group), or `own` for this process (the test cluster and the load
 * generator's thread).
 */
export function cpuMeter(processes: Record<string, { pid: number; own?: boolean }>) {
  const spent: Record<string, number> = Object.fromEntries(Object.keys(processes).map((name) => [name, 0]));
  let before: Record<string, number> = {};
  const read = () => Object.fromEntries(Object.entries(processes).map(([name, p]) => [name, cpuMs(p.pid, p.own)]));
  return {
    start: () => void (before = read()),
    stop() {
      const after = read();
      for (const name of Object.keys(processes)) spent[name] = (spent[name] ?? 0) + Math.max(0, (after[name] ?? 0) - (before[name] ?? 0));
    },
    spent: () => spent,
  };
}
