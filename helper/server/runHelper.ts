/**
 * Starts the helper: home, token, log file, Socket.IO server with its command handlers.
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import v8 from "node:v8";
import { DEFAULT_DASHBOARD_PORT, DEFAULT_HELPER_PORT, HELPER_NAMESPACE, PROTOCOL_VERSION, sessionRoom, type HelperStatus, type LogLineView, type SessionView } from "../protocol/index.ts";
import { ensureHome, homeId, kbridgeHome, readOrCreateToken, type Env } from "../shared/kbridgeHome.ts";
import { createProcessLogger } from "../logs/logger.ts";
import { kubeconfigPaths, listContexts } from "../k8s/kubeconfig.ts";
import { checkCluster } from "../sessions/clusterCheck.ts";
import { listKbridgeObjects, listNamespaces, listPods, listServices } from "../k8s/clusterBrowse.ts";
import { listIsolations } from "../k8s/isolation.ts";
import { previewLocalProcessConfig } from "../environment/localProcessConfig.ts";
import { openCluster } from "../k8s/clusterConnection.ts";
import { startHelperServer, type HelperServer } from "./startHelperServer.ts";
import { ClusterWatches } from "./clusterWatches.ts";
import { HOSTS_FILE_DEFAULT, removeHostsBlocks } from "../endpoints/hostsFile.ts";
import { SessionJournal } from "../sessions/sessionJournal.ts";
import { SessionManager } from "../sessions/sessionManager.ts";
import { KBRIDGE_VERSION } from "./version.ts";
import { portFromEnv } from "../shared/portFromEnv.ts";

export interface RunningHelper extends HelperServer {
  sessions: SessionManager;
}

export async function runHelper(env: Env = process.env): Promise<RunningHelper> {
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

  // Sessions broadcast to every client; the server exists once listening, so late-bind it.
  let broadcast: (view: SessionView) => void = () => undefined;
  let publishLog: (sessionId: string, lines: LogLineView[]) => void = () => undefined;
  const journal = new SessionJournal(path.join(home.root, "sessions"), log);
  // This helper's blocks in the hosts file carry a prefix of its home; a crashed run's are removed once it listens.
  const hostsFile = env.KBRIDGE_HOSTS_FILE || HOSTS_FILE_DEFAULT;
  const blockPrefix = homeId(home);
  const sessions = new SessionManager({
    kubeconfig: () => kubeconfigPaths(env),
    log,
    broadcast: (view) => broadcast(view),
    journal,
    endpoints: { hostsFile, blockPrefix },
    logsDir: path.join(home.logs, "sessions"),
    volumesDir: path.join(home.root, "volumes"),
    publishLog: (sessionId, lines) => publishLog(sessionId, lines),
  });
  const watches = new ClusterWatches({ open: (kubeContext) => openCluster(kubeconfigPaths(env), kubeContext), log });
  const server = await startHelperServer({
    token,
    port,
    dashboardPort,
    status,
    log,
    handlers: {
      "helper:getStatus": () => status(),
      "kube:listContexts": () => listContexts(kubeconfigPaths(env)),
      "session:start": (input) => sessions.start(input),
      "session:stop": ({ sessionId }) => sessions.stop(sessionId),
      "session:resume": ({ sessionId }) => sessions.resume(sessionId),
      "session:env": ({ sessionId }) => sessions.environment(sessionId),
      "session:diagnostics": ({ sessionId }) => sessions.diagnostics(sessionId),
      "session:logs": ({ sessionId, after, limit }) => sessions.logs(sessionId, after, limit),
      "session:restartProcess": ({ sessionId }) => sessions.restartProcess(sessionId),
      "session:list": () => sessions.list(),
      "cluster:clean": ({ kubeContext, namespace }) => sessions.clean(kubeContext, namespace),
      "cluster:check": (args) => checkCluster(openCluster(kubeconfigPaths(env), args.kubeContext), args),
      "kube:listNamespaces": ({ kubeContext }) => listNamespaces(openCluster(kubeconfigPaths(env), kubeContext)),
      "kube:listServices": ({ kubeContext, namespace }) => listServices(openCluster(kubeconfigPaths(env), kubeContext), namespace),
      "cluster:listObjects": ({ kubeContext, namespace }) => listKbridgeObjects(openCluster(kubeconfigPaths(env), kubeContext), namespace),
      "team:list": ({ kubeContext, namespace }) => listIsolations(openCluster(kubeconfigPaths(env), kubeContext), namespace),
      "cluster:watch": (place) => watches.watch(place),
      "cluster:unwatch": () => ({ watching: false }),
      "config:preview": ({ path }) => previewLocalProcessConfig(path),
      "kube:listPods": ({ kubeContext, namespace }) => listPods(openCluster(kubeconfigPaths(env), kubeContext), namespace),
      "session:followPod": ({ sessionId, pod, container, follow }) => sessions.followPod(sessionId, pod, container, follow),
      "cluster:removeObjects": ({ kubeContext, namespace, sessionId, object }) => sessions.removeObjects(kubeContext, namespace, sessionId ? { sessionId } : { object: object as { kind: string; name: string } }),
    },
  });
  broadcast = (view) => void server.io.of(HELPER_NAMESPACE).emit("session:updated", view);
  publishLog = (sessionId, lines) => void server.io.of(HELPER_NAMESPACE).to(sessionRoom(sessionId)).emit("session:logged", { sessionId, lines });
  // A watch ends with its room: when its last client leaves, or disconnects as the server closes.
  watches.attach(server.io.of(HELPER_NAMESPACE));
  log.info({ port: server.port, bootId, version: KBRIDGE_VERSION }, "helper listening");
  // Only now, as the one helper of this home (a second one fails to listen above): a crashed run's hosts-file blocks go.
  try {
    const stale = removeHostsBlocks(hostsFile, (id) => id.startsWith(`${blockPrefix}-`));
    if (stale.length > 0) log.info({ hostsFile, blocks: stale }, "removed hosts-file blocks a stopped helper left");
  } catch (error) {
    log.warn({ hostsFile, err: (error as Error).message }, "could not remove the hosts-file blocks a stopped helper left");
  }
  // Sessions a stopped helper left: reported at once, checked against the cluster in the background.
  void sessions.recoverInterrupted().catch((error: Error) => log.error({ err: error.message }, "could not recover interrupted sessions"));
  return { ...server, sessions };
}

/**
 * How much the helper's old generation may grow past what the last full collection kept
 * before the next one starts, in percent (V8 chooses 10 to 300 by itself otherwise).
 *
 * With V8's own choice, a relay's uploads made it run a full collection every 100 ms or so;
 * why, and what 100 % measured: docs/tunnel.md.
 */
const HEAP_GROWING_PERCENT = 100;

/** Sets the helper process's garbage collector for relaying (see HEAP_GROWING_PERCENT); call once, in the process that runs the helper. */
export function tuneHeapForRelaying(): void {
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

/**
 * Stops the helper on SIGINT/SIGTERM, and when the launcher that started it with an IPC
 * channel (`npm start`) goes away, even if it was killed outright.
 */
export function stopOnSignalsAndParentExit(server: RunningHelper): void {
  let stopping = false;
  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`kbridge helper: stopping (${reason}); restoring live sessions`);
    // Restore first (bounded), then close: a graceful stop never leaves a workload replaced.
    void Promise.race([server.sessions.stopAll(), new Promise((resolve) => setTimeout(resolve, 60_000))])
      .then(() => server.close())
      .then(() => process.exit(0));
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("disconnect", () => stop("the process that started it exited"));
}
