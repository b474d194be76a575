/**
 * Structured logs (pino), one file per process under `<home>/logs`, child loggers per
 * module. Never log tokens, kubeconfig contents or environment values.
 */
import path from "node:path";
import { pino, type Logger } from "pino";
import type { HomePaths } from "../shared/kbridgeHome.ts";

export type { Logger };

export function processLogFile(home: HomePaths, processName: string): string {
  return path.join(home.logs, `${processName}.log`);
}

/** A logger writing to `<home>/logs/<processName>.log`, synchronously so nothing is lost on exit. */
export function createProcessLogger(home: HomePaths, processName: string, level = process.env.KBRIDGE_LOG_LEVEL ?? "info"): Logger {
  const destination = pino.destination({ dest: processLogFile(home, processName), mkdir: true, sync: true });
  return pino({ level, base: { process: processName, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
