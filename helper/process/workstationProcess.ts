/**
 * The user's process on the workstation (`npm run dev`, the profile's launch command): run in
 * its working directory with the session's whole environment, in a process group of its own
 * so that stopping it stops what it started; its output arrives as lines, its exit with the
 * code or signal. Restartable.
 *
 * Kubernetes allows variable names a shell cannot hold (`CFG_settings.txt` from an `envFrom`
 * prefix), and dash — Debian's /bin/sh — drops them: a plain command (words and quotes) is
 * run without a shell, one with shell syntax by bash, which passes them on; only where bash
 * is missing do they not reach the process, and the log says which.
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

const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const BASH = ["/bin/bash", "/usr/bin/bash"].find((file) => fs.existsSync(file));

/**
 * A command of plain words, single- and double-quoted strings and leading NAME=value
 * assignments as `{ argv, assignments }`; null when it uses anything a shell must interpret
 * (`$`, backquotes, pipes, redirections, globs, `~`, `;`, `&`, …).
 */
export function plainCommand(command: string): { argv: string[]; assignments: Record<string, string> } | null {
  const words: string[] = [];
  let word: string | null = null;
  let quote: "'" | '"' | null = null;
  for (const char of command) {
    if (quote === "'") {
      if (char === "'") quote = null;
      else word += char;
    } else if (quote === '"') {
      if (char === '"') quote = null;
      else if ("$`\\".includes(char)) return null;
      else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      word ??= "";
    } else if (/\s/.test(char)) {
      if (word !== null) words.push(word);
      word = null;
    } else if ("$`\\|&;<>()*?[]{}~#!".includes(char)) {
      return null;
    } else {
      word = (word ?? "") + char;
    }
  }
  if (quote) return null;
  if (word !== null) words.push(word);
  const assignments: Record<string, string> = {};
  while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0] as string)) {
    const [name = "", ...value] = (words.shift() as string).split("=");
    assignments[name] = value.join("=");
  }
  return words.length === 0 ? null : { argv: words, assignments };
}

/** Whether a process's /proc cmdline is `command` as WorkstationProcess starts it: its own argv when plain, else under a shell. */
export function runsCommand(cmdline: string, command: string): boolean {
  const args = cmdline.split("\0").filter((arg) => arg !== "");
  const plain = plainCommand(command);
  if (!plain) return args.includes(command);
  return args.length === plain.argv.length && path.basename(args[0] ?? "") === path.basename(plain.argv[0] ?? "") && args.slice(1).every((arg, i) => arg === plain.argv[i + 1]);
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
    const plain = plainCommand(command);
    const shell = BASH ?? "/bin/sh";
    const spawnOptions = { cwd, env: { ...env, ...plain?.assignments } as unknown as NodeJS.ProcessEnv, detached: true, stdio: ["ignore", "pipe", "pipe"] as ["ignore", "pipe", "pipe"] };
    const child = plain ? spawn(plain.argv[0] as string, plain.argv.slice(1), spawnOptions) : spawn(shell, ["-c", command], spawnOptions);
    if (!plain && !BASH) {
      const dropped = Object.keys(env).filter((name) => !SHELL_NAME.test(name));
      if (dropped.length > 0) this.options.onLine({ stream: "stderr", text: `kbridge: /bin/sh runs this command and drops ${dropped.join(", ")} (not shell names); install bash, or use a command without shell syntax, to pass them.` });
    }
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
