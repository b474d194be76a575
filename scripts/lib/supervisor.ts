/**
 * Runs the helper and the dashboard as two child processes and stops both together: on
 * SIGINT/SIGTERM, or when the dashboard exits. A helper that dies is started again (its
 * sessions come back as interrupted, to resume or clean; the dashboard reconnects by
 * itself), up to RESTARTS times a minute. Each child runs in its own process group (so
 * whatever it spawns is stopped with it) and holds an IPC channel to us, so it stops by
 * itself if we are killed outright.
 */
import { spawn, type ChildProcess } from "node:child_process";

export interface ChildSpec {
  name: string;
  entry: string;
  /** Start it again when it exits on its own (else everything stops). */
  restart?: boolean;
}

/** What `npm start` and `npm run demo` run: the helper and the dashboard. */
export const KBRIDGE_PROCESSES: ChildSpec[] = [
  { name: "helper", entry: "helper/main.ts", restart: true },
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
  /** The children's current pids (a restarted helper has a new one). */
  readonly pids: Record<string, number>;
  stop(reason: string): void;
}

const STOP_GRACE_MS = 5000;
const RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
const RESTART_DELAY_MS = 500;

export function supervise(children: ChildSpec[], options: { cwd: string; env: NodeJS.ProcessEnv; log: (line: string) => void }): Supervisor {
  const launch = (spec: ChildSpec): Running => {
    const child = spawn(process.execPath, ["--import", "tsx", spec.entry], {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      detached: true,
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    return { spec, child, exited };
  };
  const running = new Map(children.map((spec) => [spec.name, launch(spec)]));
  const restarts = new Map<string, number[]>();

  let stopping = false;
  let exitCode = 0;
  let finished: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (finished = resolve));
  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    options.log(`kbridge: stopping (${reason})`);
    const current = [...running.values()];
    for (const { child } of current) signalGroup(child, "SIGTERM");
    const force = setTimeout(() => {
      for (const { child } of current) signalGroup(child, "SIGKILL");
    }, STOP_GRACE_MS);
    void Promise.all(current.map((r) => r.exited)).then(() => {
      clearTimeout(force);
      finished(exitCode);
    });
  };

  const ready = Promise.all(
    [...running.values()].map(
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

  const watch = ({ spec, exited }: Running) => {
    void exited.then((code) => {
      if (stopping) return;
      const now = Date.now();
      const recent = (restarts.get(spec.name) ?? []).filter((at) => now - at < RESTART_WINDOW_MS);
      if (spec.restart && recent.length < RESTARTS) {
        restarts.set(spec.name, [...recent, now]);
        options.log(`kbridge: the ${spec.name} exited unexpectedly (exit ${code}); starting it again`);
        setTimeout(() => {
          if (stopping) return;
          const next = launch(spec);
          options.log(`kbridge: the ${spec.name} is running again (pid ${next.child.pid ?? "unknown"})`);
          running.set(spec.name, next);
          watch(next);
        }, RESTART_DELAY_MS);
        return;
      }
      exitCode = 1;
      stop(`the ${spec.name} exited unexpectedly (exit ${code})${spec.restart ? `, ${RESTARTS} times within a minute` : ""}`);
    });
  };
  for (const run of running.values()) watch(run);

  return {
    ready,
    done,
    get pids() {
      return Object.fromEntries([...running.values()].map(({ spec, child }) => [spec.name, child.pid ?? -1]));
    },
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
