/**
 * One container of a pod as a process: started through a mount namespace that places the
 * pod's volumes at their mount paths (when running as root), as the user its security
 * context names, with its ports on the pod IP (bind shim), output kept as CRI-format log files (one per restart, for `--previous`),
 * restarts by policy with exponential back-off, and a graceful stop.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Program } from "./images.ts";
import { asIdentity, type ProcessIdentity } from "./securityContext.ts";

export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}

export interface ContainerSpec {
  name: string;
  program: Program;
  env: Record<string, string>;
  /** Who the process runs as (securityContext.ts); root when absent. */
  identity?: ProcessIdentity;
  /** securityContext.readOnlyRootFilesystem: everything but the volumes is read-only. */
  readOnlyRoot?: boolean;
  workingDir?: string;
  mounts: Mount[];
  logDir: string;
}

export type ContainerState =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: string } }
  | { terminated: { exitCode: number; signal?: number; reason: string; startedAt: string; finishedAt: string } };

export interface RunnerEvents {
  onChange(): void;
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

export class ContainerRunner {
  state: ContainerState = { waiting: { reason: "ContainerCreating" } };
  lastState: ContainerState | Record<string, never> = {};
  restartCount = 0;
  pid: number | undefined;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    readonly spec: ContainerSpec,
    private readonly events: RunnerEvents,
    private readonly options: { useMountNamespace: boolean; bindShim: string },
  ) {
    fs.mkdirSync(spec.logDir, { recursive: true });
  }

  /** The log file of the current run, or of an earlier one (`previous`). */
  logFile(previous = false): string {
    return path.join(this.spec.logDir, `${previous ? this.restartCount - 1 : this.restartCount}.log`);
  }

  start(): void {
    if (this.stopped) return;
    const { program, env, mounts } = this.spec;
    const startedAt = now();
    const useNamespace = this.options.useMountNamespace && (mounts.length > 0 || this.spec.readOnlyRoot === true);
    const [run, runArgs] = this.spec.identity ? asIdentity(this.spec.identity, program.command, program.args) : [program.command, program.args];
    const [command, args] = useNamespace ? ["unshare", ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", mountScript(mounts, this.spec.readOnlyRoot === true), "kbridge-mounts", run, ...runArgs]] : [run, runArgs];
    const log = fs.createWriteStream(this.logFile(), { flags: "a" });
    const child: ChildProcess = spawn(command as string, args as string[], {
      cwd: this.spec.workingDir && fs.existsSync(this.spec.workingDir) ? this.spec.workingDir : "/",
      // Only the container's own environment, as in a container (the pod worker adds PATH, HOSTNAME, HOME).
      env: { ...env, LD_PRELOAD: this.options.bindShim } as unknown as NodeJS.ProcessEnv, // Next.js types make NODE_ENV mandatory
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.child = child;
    this.pid = child.pid;
    const capture = (stream: "stdout" | "stderr") => {
      let partial = "";
      child[stream]?.on("data", (chunk: Buffer) => {
        const lines = (partial + chunk.toString("utf8")).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) log.write(`${new Date().toISOString()} ${stream} F ${line}\n`);
      });
      child[stream]?.on("end", () => {
        if (partial) log.write(`${new Date().toISOString()} ${stream} F ${partial}\n`);
      });
    };
    capture("stdout");
    capture("stderr");
    this.state = { running: { startedAt } };
    this.events.onChange();
    this.exited = new Promise((resolve) => {
      child.once("error", (error: Error) => {
        log.write(`${new Date().toISOString()} stderr F kbridge test cluster: cannot start ${program.command}: ${error.message}\n`);
      });
      child.once("close", (code, signal) => {
        log.end();
        this.child = undefined;
        const exitCode = code ?? 128 + (signal ? (SIGNALS[signal] ?? 9) : 0);
        this.state = { terminated: { exitCode, reason: exitCode === 0 ? "Completed" : signal === "SIGKILL" ? "OOMKilled" : "Error", startedAt, finishedAt: now() } };
        if (signal) (this.state.terminated as { signal?: number }).signal = SIGNALS[signal];
        resolve();
        this.events.onChange();
      });
    });
  }

  /** After an exit: restart after `delayMs` (the pod worker decides policy and back-off). */
  scheduleRestart(delayMs: number): void {
    if (this.stopped || !("terminated" in this.state)) return;
    this.lastState = this.state;
    this.restartCount += 1;
    this.state = { waiting: { reason: "CrashLoopBackOff", message: `back-off ${Math.round(delayMs / 1000)}s restarting failed container=${this.spec.name}` } };
    this.events.onChange();
    setTimeout(() => this.start(), delayMs).unref();
  }

  /** Ends the running process (SIGTERM, SIGKILL after the grace period) without stopping the container: the pod worker restarts it per policy (a failed liveness probe). */
  kill(graceSeconds: number): void {
    const pid = this.child?.pid;
    if (!pid) return;
    signalGroup(pid, "SIGTERM");
    const timer = setTimeout(() => signalGroup(pid, "SIGKILL"), Math.max(0, graceSeconds) * 1000);
    timer.unref();
    void this.exited.then(() => clearTimeout(timer));
  }

  /** SIGTERM to the container's process group, SIGKILL after the grace period. */
  async stop(graceSeconds: number): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (!child?.pid) return;
    signalGroup(child.pid, "SIGTERM");
    const timer = setTimeout(() => signalGroup(child.pid as number, "SIGKILL"), Math.max(0, graceSeconds) * 1000);
    await this.exited;
    clearTimeout(timer);
  }

  get running(): boolean {
    return "running" in this.state;
  }
}

const SIGNALS: Partial<Record<NodeJS.Signals, number>> = { SIGTERM: 15, SIGKILL: 9, SIGINT: 2, SIGHUP: 1 };

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** A shell script (run inside the new mount namespace) that bind-mounts each volume (then makes `/` read-only if asked), then execs the program. */
function mountScript(mounts: Mount[], readOnlyRoot: boolean): string {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const lines = ["set -e"];
  for (const mount of mounts) {
    lines.push(`if [ -d ${quote(mount.source)} ]; then mkdir -p ${quote(mount.target)}; else mkdir -p "$(dirname ${quote(mount.target)})"; [ -e ${quote(mount.target)} ] || : > ${quote(mount.target)}; fi`);
    lines.push(`mount --bind ${quote(mount.source)} ${quote(mount.target)}`);
    if (mount.readOnly) lines.push(`mount -o remount,bind,ro ${quote(mount.target)}`);
  }
  // The volumes are mounts of their own: they stay writable under a read-only root.
  if (readOnlyRoot) lines.push("mount -o remount,bind,ro /");
  lines.push('exec "$@"');
  return lines.join("\n");
}
