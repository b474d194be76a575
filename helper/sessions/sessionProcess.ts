/**
 * A session's workstation process: started once connected, with the session's environment,
 * its output in the session log and its exit reported; and, while connected, whether the
 * cluster's traffic finds it — a process that exited, or a port nothing listens on, is a
 * problem of the session, said on its view.
 */
import fs from "node:fs";
import type { ProcessView } from "../protocol/index.ts";
import { runsCommand, WorkstationProcess } from "../process/workstationProcess.ts";
import type { Entry, SessionHost } from "./sessionEntry.ts";
import { watchWorkstationPorts } from "./workstationPorts.ts";

/** How long a launched process may take to listen before the cluster's failing traffic counts as a problem. */
const PROCESS_GRACE_MS = 15_000;

export function startProcess(host: SessionHost, entry: Entry, launch: { command: string; cwd: string }, restart = false): void {
  const env = Object.fromEntries((entry.session?.environment() ?? []).map((v) => [v.name, v.value]));
  const restarts = (entry.view.process?.restarts ?? 0) + (restart ? 1 : 0);
  entry.view.process = { command: launch.command, cwd: launch.cwd, state: "starting", restarts };
  entry.processStartedAt = Date.now();
  host.setProblem(entry, "process-exited", null);
  entry.log.append("helper", "info", `Starting ${launch.command} in ${launch.cwd} with the pod's environment (${Object.keys(env).length} variables).`);
  const child = new WorkstationProcess({
    command: launch.command,
    cwd: launch.cwd,
    env,
    onStart: (pid) => {
      entry.view.process = { ...(entry.view.process as ProcessView), state: "running", pid };
      if (entry.journal) {
        entry.journal.processPid = pid;
        host.deps.journal?.write(entry.journal);
      }
      host.publish(entry);
    },
    onLine: (line) => entry.log.append("process", line.stream === "stderr" ? "warn" : "info", line.text),
    onExit: (exit) => {
      const how = exit.signal ? `was ended by ${exit.signal}` : `exited with code ${exit.code}`;
      entry.log.append("helper", exit.stopped || exit.code === 0 ? "info" : "error", `The process ${how}${exit.stopped ? " (stopped by kbridge)" : ""}.`);
      entry.view.process = { ...(entry.view.process as ProcessView), state: exit.stopped ? "stopped" : "exited", exitCode: exit.code, signal: exit.signal };
      delete entry.view.process.pid;
      if (entry.process === child) entry.process = undefined;
      if (!exit.stopped && entry.view.state === "connected") {
        host.setProblem(entry, "process-exited", { message: `Cluster traffic to ${entry.view.target.kind}/${entry.view.target.name} is failing: ${launch.command} ${how}. Restart it, or start your process yourself.` });
      }
      host.publish(entry);
    },
  });
  entry.process = child;
  try {
    child.start();
  } catch (error) {
    entry.process = undefined;
    entry.view.process = { ...(entry.view.process as ProcessView), state: "exited", exitCode: null };
    entry.log.append("helper", "error", (error as Error).message);
  }
  host.publish(entry);
}

export async function stopProcess(entry: Entry): Promise<void> {
  if (!entry.process) return;
  entry.log.append("helper", "info", "Stopping the workstation process…");
  await entry.process.stop();
}

/** The process group a killed helper left running: ended, so a resume does not start a second one. */
export function endOrphanedProcess(entry: Entry): void {
  const pid = entry.journal?.processPid;
  const command = entry.journal?.input.launch?.command;
  if (!pid || !command) return;
  try {
    if (!runsCommand(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8"), command)) return;
    process.kill(-pid, "SIGTERM");
    entry.log.append("helper", "warn", `Ended the workstation process (pid ${pid}) the stopped helper left running.`);
  } catch {
    // gone already, or not ours
  }
}

/**
 * While connected: whether the cluster's traffic finds the workstation process. A launched
 * process gets a few seconds to start listening before it counts as a problem.
 */
export function watchPorts(host: SessionHost, entry: Entry): void {
  const plan = entry.journal?.plan;
  if (!plan) return;
  const what = `${entry.view.target.kind}/${entry.view.target.name}`;
  entry.stopPortWatch?.();
  entry.stopPortWatch = watchWorkstationPorts([...new Set(plan.routes.map(([, port]) => port))], (refused) => {
    if (entry.view.state !== "connected") return;
    const process = entry.view.process;
    const starting = process && (process.state === "waiting" || process.state === "starting" || (process.state === "running" && Date.now() - (entry.processStartedAt ?? 0) < PROCESS_GRACE_MS));
    if (refused && starting) return;
    host.setProblem(entry, "workstation-refused", refused ? { message: `Cluster traffic to ${what} is failing: nothing listens on 127.0.0.1:${refused.port} (${refused.error}).` } : null);
  });
}
