/**
 * What the restore tests look at in a test cluster running the demo shop, and the helper
 * processes they kill: written once for all of them.
 */
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { TestCluster } from "../cluster/cluster.ts";
import { kind } from "../cluster/controllers/objects.ts";
import { until } from "./until.ts";

/** kbridge's objects in the cluster (optionally of one session), as `Kind/name`. */
export function kbridgeObjects(cluster: TestCluster, session?: string): string[] {
  return cluster.store
    .all()
    .filter(({ object }) => object.metadata.labels?.["app.kubernetes.io/managed-by"] === "kbridge" && (session === undefined || object.metadata.labels?.["kbridge.dev/session"] === session))
    .map(({ object }) => `${object.kind}/${object.metadata.name}`);
}

/** A Deployment of the shop with all its replicas updated and available, and no other. */
export function deploymentReady(cluster: TestCluster, name: string, replicas = 2): boolean {
  const status = cluster.store.get(kind("Deployment"), "shop", name).status as { availableReplicas?: number; updatedReplicas?: number; replicas?: number };
  return status.availableReplicas === replicas && status.updatedReplicas === replicas && status.replicas === replicas;
}

/** A workstation process standing in for the demo's services: answers every request with `body` (on `port`, or a free one). Resolves the server and its port. */
export async function workstationServer(body: Record<string, unknown> = { pod: "workstation", items: [], store: "none" }, port = 0): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((_req, res) => res.end(JSON.stringify(body)));
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

export interface HelperProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves the session id once it printed CONNECTED (rejects with its output if it failed first). */
  connected(timeoutMs?: number): Promise<string>;
}

/**
 * test/support/connectedHelper.ts in a process of its own: a helper connecting `env`'s target
 * (TARGET_NAME, SERVICE_PORT, WORKSTATION_PORT, DEADMAN_SECONDS, ROUTING_KEY, …). `preload`:
 * modules to --import first (a skewed clock).
 */
export function connectedHelper(kubeconfig: string, env: Record<string, string>, preload: string[] = []): HelperProcess {
  const child = spawn(process.execPath, ["--import", "tsx", ...preload.flatMap((module) => ["--import", module]), "test/support/connectedHelper.ts"], {
    env: { ...process.env, KUBECONFIG: kubeconfig, TARGET_NAMESPACE: "shop", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return {
    child,
    output: () => output,
    connected: async (timeoutMs = 60_000) =>
      String(
        (
          await until(() => {
            const connected = /CONNECTED (\w+)/.exec(output);
            if (connected) return connected;
            if (child.exitCode !== null) throw new Error(`the helper exited with ${child.exitCode} before it connected:\n${output}`);
            return undefined;
          }, `the helper connecting ${env.TARGET_NAME}`, timeoutMs)
        )[1],
      ),
  };
}
