/**
 * The helper's way into the one restore kbridge has (helper/agent/restore.mjs, which the
 * session's restorer runs in the cluster too): the connection's requests, the helper's log,
 * and a restore's failure as an error a user can act on.
 */
import { restoreSession as runRestore, RestoreError, unrouteIfIdle as runUnroute, type RestoreResult } from "../agent/restore.mjs";
import { KbridgeError } from "../protocol/index.ts";
import type { Logger } from "../logs/logger.ts";
import type { ClusterConnection } from "./clusterConnection.ts";

export interface RestoreOptions {
  /** The workload the session targets (when known): tells "restored already" from "original lost". */
  workload?: { kind: "Deployment" | "StatefulSet" | "Pod"; name: string };
  log?: Logger;
  /** Where the restore stands, in a few words (the session's restore step shows it). */
  progress?(text: string): void;
  verifyTimeoutMs?: number;
}

/**
 * Puts a session's workload back, verifies it, and removes every object of the session (the
 * routers too, when it was the namespace's last isolation session). Its saved original is
 * deleted only after that; a failure leaves it, and says why and what to do.
 */
export async function restoreSession(connection: ClusterConnection, namespace: string, sessionId: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  try {
    return await runRestore({
      api: connection.request,
      namespace,
      session: sessionId,
      ...(options.workload ? { workload: options.workload } : {}),
      log: (message, fields) => options.log?.info({ session: sessionId, ...fields }, message),
      ...(options.progress ? { progress: options.progress } : {}),
      ...(options.verifyTimeoutMs ? { verifyTimeoutMs: options.verifyTimeoutMs } : {}),
    });
  } catch (error) {
    throw restoreFailure(error, sessionId);
  }
}

/** With no isolated agent left in the namespace: every routed Service gets its selector back and the routers go. Returns those Services. */
export async function unrouteIfIdle(connection: ClusterConnection, namespace: string, log?: Logger): Promise<string[]> {
  try {
    return await runUnroute({ api: connection.request, namespace, log: (message, fields) => log?.info(fields ?? {}, message) });
  } catch (error) {
    throw restoreFailure(error);
  }
}

function restoreFailure(error: unknown, sessionId?: string): unknown {
  if (!(error instanceof RestoreError)) return error;
  return new KbridgeError(
    { code: error.code, category: "cluster", message: `${sessionId ? `Restoring session ${sessionId} failed` : "Removing the routers failed"}: ${error.message}.`, ...(error.hint ? { hint: error.hint } : {}) },
    { cause: error },
  );
}
