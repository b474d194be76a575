/**
 * The user's process on the workstation (`npm run dev`, the profile's launch command): run
 * through the shell in its working directory with the session's environment, in a process
 * group of its own so that stopping it stops what it started; its output arrives as lines,
 * its exit with the code or signal. Restartable.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { KbridgeError } from "../protocol/index.ts";

export interface ProcessLine {
  stream: "stdout" | "stderr";
  text: string;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Ended by kbridge (stop or restart), not on its own. */
  stopped: boolean;
}

export interface WorkstationProcessOptions {
  command: string;
  cwd: string;
  env: Record<string, string>;
  onLine(line: ProcessLine): void;
  onStart?(pid: number): void;
  onExit(exit: ProcessExit): void;
  /** SIGTERM first; SIGKILL after this long (default 10 s). */
  stopGraceMs?: number;
}

/** Words the shell runs itself: nothing to find on the PATH. */
const SHELL_WORDS = new Set(["cd", "exec", "export", "set", "unset", ".", "source", "eval", "test", "[", "true", "false", "echo", "printf", "read", "trap", "ulimit", "umask", "wait", "if", "for", "while", "until", "case", "{", "(", "!"]);

/**
 * Checks a launch command before anything changes in the cluster: its working directory
 * exists and its program (the first word after any NAME=value assignments) is a builtin,
 * an executable path, or on the PATH. The error names the field to fix.
 */
export function checkLaunch(command: string, cwd: string, pathVariable = process.env.PATH ?? ""): void {
  if (!fs.statSync(cwd, { throwIfNoEntry: false })?.isDirectory()) {
    throw new KbridgeError({ code: "working-directory-missing", category: "user", message: `The working directory ${cwd} does not exist.`, hint: "Fix the profile's working directory (or the project's folder).", fields: { workingDirectory: `${cwd} does not exist` } });
  }
  const words = command.trim().split(/\s+/);
  const program = words.find((word) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(word));
  if (!program || SHELL_WORDS.has(program) || /[$`"'|;&<>()]/.test(program)) return; // the shell's business
  const executable = (file: string) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  };
  const found = program.includes("/") ? executable(path.resolve(cwd, program)) : pathVariable.split(":").some((dir) => dir !== "" && executable(path.join(dir, program)));
  if (!found) {
    throw new KbridgeError({
      code: "launch-program-not-found",
      category: "user",
      message: program.includes("/") ? `The launch command's program ${program} is not an executable file (in ${cwd}).` : `The launch command's program "${program}" is not on this workstation's PATH.`,
      hint: `Install ${program} or fix the profile's launch command (for example: npm run dev).`,
      fields: { launchCommand: `"${program}" not found` },
    });
  }
}

export class WorkstationProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;

  constructor(private readonly options: WorkstationProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  start(): void {
    if (this.child) return;
    const { command, cwd } = this.options;
    checkLaunch(command, cwd);
    // The session's environment, plus what a shell needs to find programs.
    const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin", HOME: process.env.HOME ?? "", USER: process.env.USER ?? "", LANG: process.env.LANG ?? "C.UTF-8", TERM: process.env.TERM ?? "dumb", ...this.options.env };
    const child = spawn("/bin/sh", ["-c", command], { cwd, env: env as unknown as NodeJS.ProcessEnv, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    this.stopping = false;
    for (const stream of ["stdout", "stderr"] as const) {
      let rest = "";
      const readable = stream === "stdout" ? child.stdout : child.stderr;
      readable?.setEncoding("utf8");
      readable?.on("data", (chunk: string) => {
        const lines = (rest + chunk).split(/\r?\n/);
        rest = lines.pop() ?? "";
        for (const text of lines) this.options.onLine({ stream, text });
      });
      readable?.on("end", () => {
        if (rest) this.options.onLine({ stream, text: rest });
        rest = "";
      });
    }
    this.exited = new Promise((resolve) => {
      child.once("error", (error) => {
        this.options.onLine({ stream: "stderr", text: `kbridge: could not start "${command}": ${error.message}` });
      });
      child.once("close", (code, signal) => {
        if (this.child === child) this.child = undefined;
        this.options.onExit({ code, signal, stopped: this.stopping });
        resolve();
      });
    });
    if (child.pid) this.options.onStart?.(child.pid);
  }

  /** SIGTERM to the process group, SIGKILL after the grace period; resolves once it exited. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child?.pid) return;
    this.stopping = true;
    signalGroup(child.pid, "SIGTERM");
    const timer = setTimeout(() => signalGroup(child.pid as number, "SIGKILL"), this.options.stopGraceMs ?? 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  async restart(): Promise<void> {
    await this.stop();
    this.start();
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
