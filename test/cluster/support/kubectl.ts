/** Runs the machine's kubectl against a test cluster, with a fresh discovery cache per cluster. */
import { execFile } from "node:child_process";
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
