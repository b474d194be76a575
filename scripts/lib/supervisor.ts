/**
 * Runs the helper and the dashboard as two child processes and stops both together:
 * on SIGINT/SIGTERM, or when either exits. Each child runs in its own process group (so
 * whatever it spawns is stopped with it) and holds an IPC channel to us, so it stops by
 * itself if we are killed outright.
 */
import { spawn, type ChildProcess } from "node:child_process";

export interface ChildSpec {
  name: string;
  entry: string;
}

/** What `npm start` and `npm run demo` run: the helper and the dashboard. */
export const KBRIDGE_PROCESSES: ChildSpec[] = [
  { name: "helper", entry: "helper/main.ts" },
  { name: "dashboard", entry: "app/lib/server/main.ts" },
];

interface Running {
  spec: ChildSpec;
  child: ChildProcess;
  exited: Promise<number | null>;
}

export interface Supervisor {
  /** Resolves with each child's ready message (url) once all have sent one. */
  ready: Promise<Record<string, string>>;
  /** Resolves with the exit code the launcher should use once everything has stopped. */
  done: Promise<number>;
  pids: Record<string, number>;
  stop(reason: string): void;
}

const STOP_GRACE_MS = 5000;

export function supervise(children: ChildSpec[], options: { cwd: string; env: NodeJS.ProcessEnv; log: (line: string) => void }): Supervisor {
  const running: Running[] = children.map((spec) => {
    const child = spawn(process.execPath, ["--import", "tsx", spec.entry], {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      detached: true,
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    return { spec, child, exited };
  });

  let stopping = false;
  let exitCode = 0;
  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    options.log(`kbridge: stopping (${reason})`);
    for (const { child } of running) signalGroup(child, "SIGTERM");
    const force = setTimeout(() => {
      for (const { child } of running) signalGroup(child, "SIGKILL");
    }, STOP_GRACE_MS);
    void Promise.all(running.map((r) => r.exited)).then(() => clearTimeout(force));
  };

  const ready = Promise.all(
    running.map(
      ({ spec, child }) =>
        new Promise<[string, string]>((resolve, reject) => {
          child.on("message", (message: { ready?: string; url?: string }) => {
            if (message.ready && message.url) resolve([spec.name, message.url]);
          });
          child.once("exit", (code) => reject(new Error(`the ${spec.name} exited before it was ready (exit ${code})`)));
        }),
    ),
  ).then((entries) => Object.fromEntries(entries));
  ready.catch(() => undefined);

  for (const { spec, exited } of running) {
    void exited.then((code) => {
      if (!stopping) {
        exitCode = 1;
        stop(`the ${spec.name} exited unexpectedly (exit ${code})`);
      }
    });
  }

  return {
    ready,
    done: Promise.all(running.map((r) => r.exited)).then(() => exitCode),
    pids: Object.fromEntries(running.map(({ spec, child }) => [spec.name, child.pid ?? -1])),
    stop,
  };
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}
