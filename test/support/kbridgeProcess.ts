/**
 * Starts kbridge processes for end-to-end tests as a user would (`npm start`'s script, or
 * one entry alone), each in its own process group, and stops exactly those.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { connectToHelper, type CliConnection } from "../../helper/cli/helperConnection.ts";

export const ROOT = path.resolve(import.meta.dirname, "../..");

export interface KbridgeEnv {
  home: string;
  kubeconfig: string;
  dashboardPort: number;
  helperPort: number;
}

export interface Started {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** SIGTERM to the process itself (what Ctrl-C or a service manager does); SIGKILL to its group after `graceMs`. */
  stop(graceMs?: number): Promise<number | null>;
}

export function envFor(env: KbridgeEnv): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KBRIDGE_HOME: env.home,
    KUBECONFIG: env.kubeconfig,
    KBRIDGE_PORT: String(env.dashboardPort),
    KBRIDGE_HELPER_PORT: String(env.helperPort),
    NEXT_TELEMETRY_DISABLED: "1",
  };
}

export function startEntry(entry: string, env: NodeJS.ProcessEnv): Started {
  return startCommand([process.execPath, "--import", "tsx", entry], env);
}

/** Any command, in its own process group (stop() ends the group). */
export function startCommand(command: string[], env: NodeJS.ProcessEnv): Started {
  const child = spawn(command[0] as string, command.slice(1), { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    async stop(graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => {
        try {
          process.kill(-(child.pid as number), "SIGKILL");
        } catch {
          // already gone
        }
      }, graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Waits until the process prints a line matching `pattern`; fails with its output if it exits first. */
export async function waitForOutput(started: Started, pattern: RegExp, timeoutMs = 120_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = started.output().match(pattern);
    if (match) return match;
    if (started.child.exitCode !== null) throw new Error(`process exited (${started.child.exitCode}) before printing ${pattern}:\n${started.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${pattern}:\n${started.output()}`);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts `npm start`'s launcher and waits for "kbridge is running"; returns the URL and child pids. */
export async function startKbridge(env: KbridgeEnv): Promise<{ started: Started; url: string; pids: { helper: number; dashboard: number } }> {
  const started = startEntry("scripts/start.ts", envFor(env));
  const match = await waitForOutput(started, /kbridge is running: open (\S+) .*pids (\{[^}]*\})/);
  return { started, url: match[1] as string, pids: JSON.parse(match[2] as string) as { helper: number; dashboard: number } };
}

/** The helper alone (`helper/main.ts`) on `env`'s kbridge home and port, and a client of it once it listens. */
export async function startHelperProcess(env: Record<string, string>): Promise<{ helper: Started; client: CliConnection }> {
  const helper = startEntry("helper/main.ts", { ...process.env, ...env });
  await waitForOutput(helper, /helper listening/, 30_000);
  return { helper, client: await connectToHelper(env) };
}
