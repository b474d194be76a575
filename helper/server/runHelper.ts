/**
 * Starts the helper: home, token, log file, Socket.IO server with its command handlers.
 */
import { randomUUID } from "node:crypto";
import { DEFAULT_DASHBOARD_PORT, DEFAULT_HELPER_PORT, PROTOCOL_VERSION, type HelperStatus } from "../protocol/index.ts";
import { ensureHome, kbridgeHome, readOrCreateToken, type Env } from "../home/kbridgeHome.ts";
import { createProcessLogger } from "../logging/logger.ts";
import { kubeconfigPaths, listContexts } from "../k8s/kubeconfig.ts";
import { startHelperServer, type HelperServer } from "./createHelperServer.ts";
import { KBRIDGE_VERSION } from "./version.ts";
import { portFromEnv } from "./portFromEnv.ts";

export async function runHelper(env: Env = process.env): Promise<HelperServer> {
  const home = ensureHome(kbridgeHome(env));
  const log = createProcessLogger(home, "helper");
  const token = readOrCreateToken(home);
  const port = portFromEnv(env, "KBRIDGE_HELPER_PORT", DEFAULT_HELPER_PORT);
  const dashboardPort = portFromEnv(env, "KBRIDGE_PORT", DEFAULT_DASHBOARD_PORT);
  const bootId = randomUUID();
  const startedAt = new Date().toISOString();
  const status = (): HelperStatus => ({
    version: KBRIDGE_VERSION,
    protocolVersion: PROTOCOL_VERSION,
    bootId,
    pid: process.pid,
    startedAt,
    kubeconfig: kubeconfigPaths(env),
  });

  const server = await startHelperServer({
    token,
    port,
    dashboardPort,
    status,
    log,
    handlers: {
      "helper:getStatus": () => status(),
      "kube:listContexts": () => listContexts(kubeconfigPaths(env)),
    },
  });
  log.info({ port: server.port, bootId, version: KBRIDGE_VERSION }, "helper listening");
  return server;
}

/**
 * Stops the helper on SIGINT/SIGTERM, and when the launcher that started it with an IPC
 * channel (`npm start`) goes away, even if it was killed outright.
 */
export function stopOnSignalsAndParentExit(server: HelperServer): void {
  let stopping = false;
  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`kbridge helper: stopping (${reason})`);
    void server.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("disconnect", () => stop("the process that started it exited"));
}
