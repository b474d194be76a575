/**
 * The helper's sessions: started and stopped by commands, followed to their end, every change
 * broadcast as a SessionView (how a view changes: sessionView.ts). Stopping the helper
 * gracefully restores them all. Each live session is journalled in the kbridge home; what a
 * stopped helper left there is taken up by sessionRecovery.ts, the workstation process by
 * sessionProcess.ts, what else goes into a session's log by sessionLogSources.ts, and
 * putting a namespace back by namespaceCleaning.ts.
 *
 * A live session's problems are part of its view: the cluster not answering (the session
 * holds), or the cluster's traffic meeting no workstation process.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import {
  KbridgeError,
  type CleanReport,
  type EnvVarView,
  type LogLineView,
  type SessionDiagnostics,
  type SessionOutcome,
  type SessionProblem,
  type SessionStartInput,
  type SessionStep,
  type SessionView,
} from "../protocol/index.ts";
import { connect, resume } from "./connectSession.ts";
import type { ConnectedSession, SessionCallbacks } from "./sessionPlan.ts";
import type { JournalEntry } from "./sessionJournal.ts";
import { SessionLog } from "../logs/sessionLog.ts";
import { checkInbound, checkNames, checkPorts } from "../endpoints/diagnostics.ts";
import { HOSTS_FILE_DEFAULT, readHostsBlock } from "../endpoints/hostsFile.ts";
import { checkLaunch } from "../process/workstationProcess.ts";
import { connectOptionsFor, type Entry, type SessionHost, type SessionManagerDeps } from "./sessionEntry.ts";
import { cleanNamespace, removeObjects, type Cleaner } from "./namespaceCleaning.ts";
import { agentLogLine, agentNoticeLine, followPod, trafficLogLine } from "./sessionLogSources.ts";
import { finished, isFinished, newSessionView, withProblem, withStep, withTraffic } from "./sessionView.ts";
import { startProcess, stopProcess, watchPorts } from "./sessionProcess.ts";
import { SessionRecovery } from "./sessionRecovery.ts";

export type { SessionManagerDeps };

/** Finished sessions the helper still lists (a retry loop of failing connects must not grow it without end). */
export const KEEP_FINISHED = 20;

export class SessionManager {
  private readonly sessions = new Map<string, Entry>();
  /** What the manager's parts (recovery, the workstation process) may do with its sessions. */
  private readonly host: SessionHost;
  private readonly recovery: SessionRecovery;
  private readonly cleaner: Cleaner;

  constructor(private readonly deps: SessionManagerDeps) {
    this.host = {
      deps,
      sessions: this.sessions,
      publish: (entry) => this.publish(entry),
      finish: (entry, state, outcome, note) => this.finish(entry, state, outcome, note),
      onStep: (entry, step) => this.onStep(entry, step),
      openLog: (id) => this.openLog(id),
      setProblem: (entry, code, problem) => this.setProblem(entry, code, problem),
    };
    this.recovery = new SessionRecovery(this.host);
    this.cleaner = { host: this.host, stop: (id) => this.stop(id) };
  }

  list(): SessionView[] {
    return [...this.sessions.values()].map((entry) => structuredClone(entry.view));
  }

  /** Creates the session and answers at once; the connect goes on in the background. */
  start(input: SessionStartInput): SessionView {
    // A launch command that cannot start fails here, before anything changes in the cluster.
    if (input.launch) checkLaunch(input.launch.command, input.launch.cwd);
    const id = randomBytes(4).toString("hex");
    const view = newSessionView(id, input);
    const entry: Entry = { view, log: this.openLog(id), journal: { id, startedAt: view.startedAt, input, connecting: true } };
    entry.log.append("helper", "info", `Connecting ${input.targetKind}/${input.targetName} in ${input.namespace} (context ${input.kubeContext})…`);
    this.sessions.set(id, entry);
    this.deps.journal?.write(entry.journal as JournalEntry);
    entry.connecting = this.follow(
      entry,
      connect({
        ...connectOptionsFor(id, input, this.deps),
        ...this.callbacks(entry),
        onPreflight: (report) => {
          entry.view.preflight = structuredClone(report);
          this.publish(entry);
        },
        onPlan: (plan) => {
          if (plan.isolation) entry.view.isolation = structuredClone(plan.isolation);
          entry.journal = { ...(entry.journal as JournalEntry), plan };
          this.deps.journal?.write(entry.journal);
        },
      }),
    );
    this.publish(entry);
    return structuredClone(entry.view);
  }

  /** The environment of a connected session's workstation process. */
  environment(id: string): EnvVarView[] {
    const entry = this.get(id);
    if (!entry.session || entry.view.state !== "connected") {
      throw new KbridgeError({ code: "session-not-connected", category: "user", message: `Session ${id} is ${entry.view.state}; its environment is known once it is connected.` });
    }
    return entry.session.environment();
  }

  /** The connected session's endpoints checked from the workstation, the hosts block as written, where its logs are. */
  async diagnostics(id: string): Promise<SessionDiagnostics> {
    const entry = this.get(id);
    const endpoints = entry.session?.endpoints();
    if (!entry.session || entry.view.state !== "connected") {
      throw new KbridgeError({ code: "session-not-connected", category: "user", message: `Session ${id} is ${entry.view.state}; diagnostics need a connected session.`, hint: "Connect first; a failed session's steps and log say what went wrong." });
    }
    const hostsFile = this.deps.endpoints?.hostsFile ?? HOSTS_FILE_DEFAULT;
    const none = { mode: "unprivileged" as const, list: [] };
    const routes = entry.journal?.plan?.routes ?? [];
    const [names, ports, inbound] = await Promise.all([checkNames(endpoints ?? none, hostsFile), checkPorts(endpoints ?? none, entry.session.dial), checkInbound(routes)]);
    return {
      checkedAt: new Date().toISOString(),
      mode: endpoints?.mode ?? "unprivileged",
      ...(endpoints?.reason ? { reason: endpoints.reason } : {}),
      hostsFile,
      hostsBlock: this.deps.endpoints && endpoints?.mode === "hosts" ? readHostsBlock(hostsFile, `${this.deps.endpoints.blockPrefix}-${id}`) : null,
      names,
      ports,
      inbound,
      logFile: this.logFile(id),
      logFolder: this.deps.logsDir,
    };
  }

  /** Adds a pod of the session's namespace to its log (source "pod"), or stops following it. */
  followPod(id: string, pod: string, container: string | undefined, follow: boolean): Promise<{ following: string[] }> {
    return followPod(this.deps, this.get(id), pod, container, follow);
  }

  /** Takes over an interrupted session: its agent is still in the cluster; tunnels open again. */
  resume(id: string): SessionView {
    const entry = this.get(id);
    const plan = entry.journal?.plan;
    if (entry.view.state !== "interrupted") {
      throw new KbridgeError({ code: "session-not-interrupted", category: "user", message: `Session ${id} is ${entry.view.state}, not interrupted; only a session a stopped helper left behind can be resumed.` });
    }
    if (!plan || !entry.journal) {
      throw new KbridgeError({
        code: "session-not-resumable",
        category: "user",
        message: `Session ${id} stopped before its target was resolved, so there is nothing to resume.`,
        hint: `Clean it: kbridge disconnect --session ${id}`,
      });
    }
    entry.view.state = "tunnelling";
    entry.view.steps = [];
    delete entry.view.note;
    delete entry.view.error;
    entry.connecting = this.follow(
      entry,
      resume({
        kubeconfig: this.deps.kubeconfig(),
        context: entry.journal.input.kubeContext,
        plan,
        ...this.callbacks(entry),
      }),
    );
    this.publish(entry);
    return structuredClone(entry.view);
  }

  /**
   * Restores the cluster (after the connect finishes, if it is still going) and ends the
   * session. An interrupted session is cleaned: its saved original put back. A restore that
   * fails ends the session as failed (`restore-failed`: the original and the session's objects
   * stay, its restorer keeps trying) and the command fails with why and what to do.
   */
  async stop(id: string): Promise<SessionView> {
    const entry = this.get(id);
    if (entry.view.state === "interrupted") {
      await this.recovery.cleanInterrupted(entry);
      return structuredClone(entry.view);
    }
    const session = await entry.connecting;
    if (session && !isFinished(entry.view.state)) {
      await stopProcess(entry);
      try {
        await session.disconnect();
      } catch (error) {
        if (!isFinished(entry.view.state)) this.failRestore(entry, error);
        throw error;
      }
      // Two stops at once (the CLI and the dashboard): the session ends once.
      if (!isFinished(entry.view.state)) this.finish(entry, "ended", "disconnected");
    }
    return structuredClone(entry.view);
  }

  /** A restore that could not finish: said on the session, which ends; the cluster keeps what the restore needs. */
  private failRestore(entry: Entry, error: unknown): void {
    const info = error instanceof KbridgeError ? error.info : { code: "restore-failed", message: `The restore failed: ${(error as Error).message}.`, hint: "See the helper log." };
    entry.view.error = { code: info.code, message: info.message, ...(info.hint ? { hint: info.hint } : {}) };
    entry.log.append("helper", "error", `${info.message}${info.hint ? ` ${info.hint}` : ""}`);
    this.finish(entry, "failed", "restore-failed", "The restore could not finish: the saved original and the session's objects stay in the cluster, and its restorer keeps trying.");
  }

  /** Restores and removes what kbridge left in a namespace (namespaceCleaning.ts). */
  clean(kubeContext: string, namespace: string): Promise<CleanReport> {
    return cleanNamespace(this.cleaner, kubeContext, namespace);
  }

  /** The cluster page's remove: all of a session, or one object (namespaceCleaning.ts). */
  removeObjects(kubeContext: string, namespace: string, what: { sessionId: string } | { object: { kind: string; name: string } }): Promise<{ removed: string[]; restored?: string }> {
    return removeObjects(this.cleaner, kubeContext, namespace, what);
  }

  /** Takes up what a stopped helper left (sessionRecovery.ts). */
  recoverInterrupted(): Promise<void> {
    return this.recovery.recover();
  }

  /** Restores every live or interrupted session (the helper is stopping). */
  async stopAll(): Promise<void> {
    this.recovery.stop();
    await Promise.allSettled([...this.sessions.keys()].map((id) => this.stop(id)));
  }

  /** Follows a connect or resume to its end: failed sessions get their error and leave the journal. */
  private follow(entry: Entry, connecting: Promise<ConnectedSession>): Promise<ConnectedSession | null> {
    return connecting.then(
      (session) => {
        entry.session = session;
        this.refreshEndpoints(entry);
        this.refreshTunnels(entry);
        if (entry.journal?.connecting && entry.view.state === "connected") {
          delete entry.journal.connecting;
          this.deps.journal?.write(entry.journal);
        }
        const launch = entry.journal?.input.launch;
        if (launch && entry.view.state === "connected") startProcess(this.host, entry, launch);
        if (entry.view.state === "connected") watchPorts(this.host, entry);
        return session;
      },
      (error: unknown) => {
        entry.view.error =
          error instanceof KbridgeError
            ? { code: error.info.code, message: error.info.message, hint: error.info.hint }
            : { code: "internal", message: "The connect failed unexpectedly.", hint: "See the helper log." };
        if (!(error instanceof KbridgeError)) this.deps.log.error({ err: error, session: entry.view.id }, "connect failed unexpectedly");
        entry.log.append("helper", "error", `${entry.view.error.message}${entry.view.error.hint ? ` ${entry.view.error.hint}` : ""}`);
        // A failed resume leaves the agent in place (the restorer still watches it): interrupted again.
        if (entry.view.steps.some((s) => s.name === "reclaim session") && entry.view.error.code !== "session-gone") {
          entry.view.state = "interrupted";
          entry.view.note = "The resume failed; disconnect it to restore the cluster, or try again.";
          this.publish(entry);
        } else {
          this.finish(entry, "failed", entry.view.error.code === "session-gone" ? "restored-by-cluster" : "failed");
        }
        return null;
      },
    );
  }

  /** How a connect or resume reports to this session's entry: steps, loss, endpoints, agent log, traffic. */
  private callbacks(entry: Entry): SessionCallbacks {
    return {
      log: this.deps.log,
      onStep: (step) => this.onStep(entry, step),
      onLost: () => this.lost(entry),
      onClusterUnreachable: (outage) => {
        if (isFinished(entry.view.state)) return;
        if (!outage) {
          const since = entry.view.problems?.find((p) => p.code === "cluster-unreachable")?.since;
          entry.log.append("helper", "info", `The cluster answers again${since ? ` after ${Math.round((Date.now() - Date.parse(since)) / 1000)} s` : ""}; the session held.`);
          return this.setProblem(entry, "cluster-unreachable", null);
        }
        entry.log.append("helper", "warn", `Cannot reach the cluster (${outage.error}); the session holds: its tunnels stay, and kbridge renews the heartbeat as soon as the cluster answers.`);
        this.setProblem(entry, "cluster-unreachable", { message: "The cluster does not answer; the session holds, and kbridge renews its heartbeat as soon as it does.", since: outage.since.toISOString() });
      },
      onEndpointsChanged: () => this.refreshEndpoints(entry),
      onTunnelsChanged: () => this.refreshTunnels(entry),
      onAgentLog: (pod, line) => {
        const { level, text } = agentLogLine(pod, line);
        entry.log.append("agent", level, text);
      },
      onAgentNotice: (pod, notice) => {
        const { level, text } = agentNoticeLine(pod, notice, entry.view.target.namespace);
        entry.log.append("helper", level, text);
      },
      onTraffic: (_pod, exchange) => {
        const { level, text } = trafficLogLine(exchange);
        entry.log.append("traffic", level, text);
        this.countIsolatedTraffic(entry, exchange.routeAs);
      },
    };
  }

  private logFile(id: string): string {
    return path.join(this.deps.logsDir, `${id}.log`);
  }

  private refreshTunnels(entry: Entry): void {
    if (!entry.session || isFinished(entry.view.state)) return;
    entry.view.tunnels = entry.session.links();
    this.publish(entry);
  }

  private refreshEndpoints(entry: Entry): void {
    const endpoints = entry.session?.endpoints();
    if (!endpoints || isFinished(entry.view.state)) return;
    entry.view.endpoints = endpoints;
    this.publish(entry);
  }

  private onStep(entry: Entry, step: SessionStep): void {
    if (step.status !== "running") {
      const timing = step.ms !== undefined ? ` (${step.ms} ms)` : "";
      entry.log.append("helper", step.status === "failed" ? "error" : "info", `${step.status === "done" ? "✓" : "✗"} ${step.name}${timing}${step.detail ? `: ${step.detail}` : ""}`);
    }
    entry.view = withStep(entry.view, step);
    this.publish(entry);
  }

  /** Sets (or clears, with null) one of a live session's problems, keeping when it started. */
  private setProblem(entry: Entry, code: SessionProblem["code"], problem: { message: string; since?: string } | null): void {
    const next = withProblem(entry.view, code, problem);
    if (next === entry.view) return;
    entry.view = next;
    this.publish(entry);
  }

  /** The heartbeat found the session gone from the cluster while connected. */
  private lost(entry: Entry): void {
    void stopProcess(entry);
    this.finish(entry, "ended", "restored-by-cluster", "The session's objects disappeared from the cluster (its restorer ran, or someone cleaned the namespace).");
  }

  private finish(entry: Entry, state: "ended" | "failed", outcome: SessionOutcome, note?: string): void {
    entry.view = finished(entry.view, state, outcome, note);
    entry.stopPortWatch?.();
    this.deps.journal?.end(entry.view);
    for (const abort of entry.podLogs?.values() ?? []) abort.abort();
    entry.podLogs?.clear();
    entry.log.append("helper", state === "failed" ? "error" : "info", `Session ${state} (${outcome})${note ? `: ${note}` : "."}`);
    this.publish(entry);
    void entry.log.close();
    // The helper keeps the latest finished sessions only (their log files stay; the dashboard keeps the history).
    const finishedIds = [...this.sessions.values()].filter((e) => isFinished(e.view.state)).map((e) => e.view.id);
    for (const id of finishedIds.slice(0, Math.max(0, finishedIds.length - KEEP_FINISHED))) this.sessions.delete(id);
  }

  private get(id: string): Entry {
    const entry = this.sessions.get(id);
    if (!entry) throw new KbridgeError({ code: "session-not-found", category: "user", message: `There is no session ${id} in this helper.`, hint: "List the sessions with `kbridge status`." });
    return entry;
  }

  /** Isolation: counts a request by whether it carried the key; published at most once a second. */
  private countIsolatedTraffic(entry: Entry, routeAs: string | undefined): void {
    if (!entry.view.isolation) return;
    entry.view = withTraffic(entry.view, routeAs);
    entry.publishTimer ??= setTimeout(() => {
      entry.publishTimer = undefined;
      this.publish(entry);
    }, 1000).unref();
  }

  private publish(entry: Entry): void {
    entry.view.logSeq = entry.log.last;
    this.deps.broadcast(structuredClone(entry.view));
  }

  private openLog(id: string): SessionLog {
    return new SessionLog({ file: this.logFile(id), publish: (lines) => this.deps.publishLog(id, lines) });
  }

  /** A session's log lines after `after`. */
  logs(id: string, after: number, limit: number): { lines: LogLineView[]; next: number } {
    return this.get(id).log.since(after, limit);
  }

  /** Stops and starts the workstation process again (with the current environment). */
  async restartProcess(id: string): Promise<SessionView> {
    const entry = this.get(id);
    const launch = entry.journal?.input.launch;
    if (!launch || entry.view.state !== "connected") {
      throw new KbridgeError({ code: "no-process", category: "user", message: launch ? `Session ${id} is ${entry.view.state}; its process runs while it is connected.` : `Session ${id} has no launch command.`, hint: launch ? undefined : "Set the profile's launch command, or pass one after -- to kbridge connect." });
    }
    await stopProcess(entry);
    startProcess(this.host, entry, launch, true);
    return structuredClone(entry.view);
  }

}
