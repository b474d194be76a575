/**
 * A session as the helper holds it, and what the parts of the session manager share: the
 * manager itself (commands, the state machine, views), the recovery of what a stopped helper
 * left (sessionRecovery.ts), and the workstation process (sessionProcess.ts).
 */
import type { LogLineView, SessionOutcome, SessionProblem, SessionStartInput, SessionStep, SessionView } from "../protocol/index.ts";
import type { Logger } from "../logs/logger.ts";
import type { SessionLog } from "../logs/sessionLog.ts";
import type { WorkstationProcess } from "../process/workstationProcess.ts";
import type { ConnectedSession, ConnectOptions } from "./sessionPlan.ts";
import type { JournalEntry, SessionJournal } from "./sessionJournal.ts";

export interface Entry {
  view: SessionView;
  session?: ConnectedSession;
  log: SessionLog;
  process?: WorkstationProcess;
  /** The connect (or resume) in progress or done; null when it failed. Absent while interrupted. */
  connecting?: Promise<ConnectedSession | null>;
  journal?: JournalEntry;
  /** Pods whose logs the user added to the session's log, each until stopped or the session ends. */
  podLogs?: Map<string, AbortController>;
  /** A view update waiting (traffic counts are published at most once a second). */
  publishTimer?: NodeJS.Timeout;
  /** Stops checking the workstation ports the cluster's traffic goes to (while connected). */
  stopPortWatch?: () => void;
  /** When the workstation process last started (it gets a few seconds to listen). */
  processStartedAt?: number;
}

export interface SessionManagerDeps {
  kubeconfig: () => string[];
  log: Logger;
  broadcast(view: SessionView): void;
  /** Where live sessions are journalled; without one, a crash leaves them to `kbridge clean`. */
  journal?: SessionJournal;
  /** Map cluster services onto the workstation: the hosts file, and this helper's prefix for its blocks there. */
  endpoints?: { hostsFile: string; blockPrefix: string };
  /** Where each session's log file goes (`<id>.log`). */
  logsDir: string;
  /** Where config-file volumes without a localPath are downloaded (`<session>/<volume>`). */
  volumesDir?: string;
  publishLog(sessionId: string, lines: LogLineView[]): void;
}

/** What `session:start` asks of connect (the callbacks are the manager's). */
export function connectOptionsFor(id: string, input: SessionStartInput, deps: SessionManagerDeps): Omit<ConnectOptions, "log"> {
  return {
    sessionId: id,
    kubeconfig: deps.kubeconfig(),
    context: input.kubeContext,
    target: { kind: input.targetKind, name: input.targetName, namespace: input.namespace, container: input.container },
    ports: input.ports,
    agentImage: input.agentImage || undefined,
    ...(input.podResources ? { podResources: input.podResources } : {}),
    keep: { probes: input.keepProbes, lifecycleHooks: input.keepLifecycleHooks },
    ...(deps.endpoints ? { endpoints: { mode: input.privilegeMode, hostsFile: deps.endpoints.hostsFile, blockId: `${deps.endpoints.blockPrefix}-${id}` } } : {}),
    envOverrides: input.env,
    ...(input.configFile ? { configFile: input.configFile, volumesDir: deps.volumesDir } : {}),
    ...(input.isolate ? { isolate: input.isolate } : {}),
    deadmanSeconds: input.deadmanSeconds,
  };
}

/** What the manager lends its parts: its sessions, and the ways a session's view changes. */
export interface SessionHost {
  readonly deps: SessionManagerDeps;
  readonly sessions: Map<string, Entry>;
  publish(entry: Entry): void;
  finish(entry: Entry, state: "ended" | "failed", outcome: SessionOutcome, note?: string): void;
  onStep(entry: Entry, step: SessionStep): void;
  openLog(id: string): SessionLog;
  /** Sets (or clears, with null) one of a live session's problems. */
  setProblem(entry: Entry, code: SessionProblem["code"], problem: { message: string; since?: string } | null): void;
}
