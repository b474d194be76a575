/** What the benches share: bulk transfers against a blast server, kubectl port-forward, the median. */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

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
