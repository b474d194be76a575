/** Runs the machine's kubectl against a test cluster, with a fresh discovery cache per cluster. */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function kubectlFor(kubeconfig: string) {
  const cacheDir = fs.mkdtempSync(path.join(path.dirname(kubeconfig), "kubecache-"));
  return (args: string[], options: { stdin?: string; timeoutMs?: number } = {}): Promise<KubectlResult> =>
    new Promise((resolve) => {
      const child = execFile(
        "kubectl",
        args,
        { env: { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: cacheDir }, timeout: options.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
      );
      // Always close stdin: on a 401 kubectl would otherwise sit at a username prompt.
      child.stdin?.end(options.stdin ?? "");
    });
}

/** Starts `kubectl port-forward` (on 127.0.0.1) and resolves with the process and the local port it chose; the caller kills it. */
export async function startPortForward(kubeconfig: string, args: string[], env: Record<string, string> = {}): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn("kubectl", ["port-forward", "--address", "127.0.0.1", ...args], {
    env: { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: fs.mkdtempSync(path.join(path.dirname(kubeconfig), "kubecache-")), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kubectl port-forward did not start:\n${output}`)), 15_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ port: Number(match[1]), child });
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.on("exit", (code) => reject(new Error(`kubectl port-forward exited ${code}:\n${output}`)));
  });
}
