/**
 * The helper's sessions: started and stopped by commands, followed through the state
 * machine (resolving → deploying → tunnelling → connected → restoring → ended, or failed),
 * every change broadcast as a SessionView. Stopping the helper gracefully restores them all.
 * Each live session is journalled in the kbridge home; what a stopped helper left there is
 * taken up by sessionRecovery.ts, the workstation process by sessionProcess.ts.
 *
 * A live session's problems are part of its view: the cluster not answering (the session
 * holds), or the cluster's traffic meeting no workstation process.
 *
 * Past 400 lines: the commands and the state machine still share this file with pod-log
 * following, namespace cleaning and traffic counting; splitting those is issue 18's.
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
  type SessionState,
  type SessionStep,
  type SessionView,
} from "../protocol/index.ts";
import { clusterCall, openCluster, type ClusterConnection } from "../k8s/clusterConnection.ts";
import { restoreSession, unrouteIfIdle } from "../k8s/sessionRestore.ts";
import { listKbridgeObjects, removeKbridgeObject } from "../k8s/clusterBrowse.ts";
import { followPodLog } from "../k8s/podLogs.ts";
import { connect, resume } from "./connectSession.ts";
import type { ConnectedSession, SessionCallbacks } from "./sessionPlan.ts";
import type { JournalEntry } from "./sessionJournal.ts";
import { SessionLog } from "../logs/sessionLog.ts";
import { checkNames, checkPorts } from "../endpoints/diagnostics.ts";
import { HOSTS_FILE_DEFAULT, readHostsBlock } from "../endpoints/privileged.ts";
import { checkLaunch } from "../process/workstationProcess.ts";
import { isFinished, type Entry, type SessionHost, type SessionManagerDeps } from "./sessionEntry.ts";
import { startProcess, stopProcess, watchPorts } from "./sessionProcess.ts";
import { SessionRecovery } from "./sessionRecovery.ts";

export type { SessionManagerDeps };

const STATE_OF_STEP: Record<string, SessionState> = {
  "resolve target": "resolving",
  "deploy agent": "deploying",
  "reclaim session": "tunnelling",
  "wait for agent pods": "tunnelling",
  "route requests": "tunnelling",
  "open tunnels": "tunnelling",
  "check routing": "tunnelling",
  connected: "connected",
  restore: "restoring",
};

export class SessionManager {
  private readonly sessions = new Map<string, Entry>();
  /** What the manager's parts (recovery, the workstation process) may do with its sessions. */
  private readonly host: SessionHost;
  private readonly recovery: SessionRecovery;

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
  }

  list(): SessionView[] {
    return [...this.sessions.values()].map((entry) => structuredClone(entry.view));
  }

  /** Creates the session and answers at once; the connect goes on in the background. */
  start(input: SessionStartInput): SessionView {
    // A launch command that cannot start fails here, before anything changes in the cluster.
    if (input.launch) checkLaunch(input.launch.command, input.launch.cwd);
    const id = randomBytes(4).toString("hex");
    const view: SessionView = {
      id,
      state: "resolving",
      target: { context: input.kubeContext, namespace: input.namespace, kind: input.targetKind, name: input.targetName },
      steps: [],
      startedAt: new Date().toISOString(),
      ...(input.profileId !== undefined ? { profileId: input.profileId } : {}),
    };
    const entry: Entry = { view, log: this.openLog(id), journal: { id, startedAt: view.startedAt, input, connecting: true } };
    entry.log.append("helper", "info", `Connecting ${input.targetKind}/${input.targetName} in ${input.namespace} (context ${input.kubeContext})…`);
    this.sessions.set(id, entry);
    this.deps.journal?.write(entry.journal as JournalEntry);
    entry.connecting = this.follow(
      entry,
      connect({
        sessionId: id,
        kubeconfig: this.deps.kubeconfig(),
        context: input.kubeContext,
        target: { kind: input.targetKind, name: input.targetName, namespace: input.namespace, container: input.container },
        ports: input.ports,
        agentImage: input.agentImage || undefined,
        keep: { probes: input.keepProbes, lifecycleHooks: input.keepLifecycleHooks },
        ...(this.deps.endpoints ? { endpoints: { mode: input.privilegeMode, hostsFile: this.deps.endpoints.hostsFile, blockId: `${this.deps.endpoints.blockPrefix}-${id}` } } : {}),
        envOverrides: input.env,
        ...(input.configFile ? { configFile: input.configFile, volumesDir: this.deps.volumesDir } : {}),
        ...(input.isolate ? { isolate: input.isolate } : {}),
        deadmanSeconds: input.deadmanSeconds,
        ...this.callbacks(entry),
        onPlan: (plan) => {
          if (plan.isolation) entry.view.isolation = structuredClone(plan.isolation);
          entry.journal = { ...(entry.journal as JournalEntry), plan };
          this.deps.journal?.write(entry.journal);
        },
      }),
    );
    this.publish(entry);
    return structuredClone(view);
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
    const [names, ports] = await Promise.all([checkNames(endpoints ?? none, hostsFile), checkPorts(endpoints ?? none, entry.session.dial)]);
    return {
      checkedAt: new Date().toISOString(),
      mode: endpoints?.mode ?? "unprivileged",
      ...(endpoints?.reason ? { reason: endpoints.reason } : {}),
      hostsFile,
      hostsBlock: this.deps.endpoints && endpoints?.mode === "hosts" ? readHostsBlock(hostsFile, `${this.deps.endpoints.blockPrefix}-${id}`) : null,
      names,
      ports,
      logFile: this.logFile(id),
      logFolder: this.deps.logsDir,
    };
  }

  /** Adds a pod of the session's namespace to its log (source "pod"), or stops following it. */
  async followPod(id: string, pod: string, container: string | undefined, follow: boolean): Promise<{ following: string[] }> {
    const entry = this.get(id);
    entry.podLogs ??= new Map();
    const following = () => ({ following: [...(entry.podLogs?.keys() ?? [])].sort() });
    if (!follow) {
      entry.podLogs.get(pod)?.abort();
      entry.podLogs.delete(pod);
      entry.log.append("helper", "info", `Stopped following the log of pod ${pod}.`);
      return following();
    }
    if (isFinished(entry.view.state)) throw new KbridgeError({ code: "session-ended", category: "user", message: `Session ${id} has ended; pod logs follow live sessions.` });
    if (entry.podLogs.has(pod)) return following();
    const { namespace, context } = entry.view.target;
    const connection = openCluster(this.deps.kubeconfig(), context);
    const found = await clusterCall(connection, `read pod ${namespace}/${pod}`, () => connection.core.readNamespacedPod({ name: pod, namespace }), { notFound: "null" });
    if (!found) throw new KbridgeError({ code: "pod-not-found", category: "user", message: `There is no pod ${pod} in namespace ${namespace}.`, hint: "Pick one from the list: pods come and go with rollouts." });
    const containers = found.spec?.containers.map((c) => c.name) ?? [];
    const chosen = container ?? containers[0] ?? "";
    if (!containers.includes(chosen)) throw new KbridgeError({ code: "container-not-found", category: "user", message: `Pod ${pod} has no container ${chosen}; it has ${containers.join(", ")}.` });
    const abort = new AbortController();
    entry.podLogs.set(pod, abort);
    entry.log.append("helper", "info", `Following the log of pod ${pod} (container ${chosen}).`);
    void followPodLog(connection, { namespace, pod, container: chosen, tailLines: 100 }, (line) => entry.log.append("pod", "info", `${pod}: ${line}`), abort.signal).catch((error: Error) =>
      entry.log.append("helper", "warn", `Could not follow the log of pod ${pod}: ${error.message}`),
    );
    return following();
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

  /**
   * Restores and removes what kbridge left in a namespace: sessions of crashed helpers (or
   * of other workstations). This helper's live sessions are stopped properly first.
   */
  async clean(kubeContext: string, namespace: string): Promise<CleanReport> {
    const connection = openCluster(this.deps.kubeconfig(), kubeContext);
    const inventory = await listKbridgeObjects(connection, namespace);
    const sessions = [...new Set(inventory.objects.map((o) => o.session).filter(Boolean))].sort();
    const restored: string[] = [];
    for (const id of sessions) {
      const workload = await this.removeSession(connection, namespace, id);
      if (workload) restored.push(workload);
    }
    // Routers left with no session at all (their sessions' objects gone some other way): selectors back, routers gone.
    if (sessions.length === 0) restored.push(...(await unrouteIfIdle(connection, namespace, this.deps.log)).map((service) => `service/${service} (selector)`));
    const orphaned = inventory.sessions.filter((s) => s.state === "orphaned").map((s) => ({ session: s.session, workload: s.workload ?? "", message: s.message ?? "", ...(s.hint ? { hint: s.hint } : {}) }));
    return { namespace, sessions, restored, orphaned };
  }

  /**
   * The cluster page's remove: all of a session (a live one of this helper is ended properly,
   * its process and tunnels too; any other is restored like its restorer would), or one object.
   */
  async removeObjects(kubeContext: string, namespace: string, what: { sessionId: string } | { object: { kind: string; name: string } }): Promise<{ removed: string[]; restored?: string }> {
    const connection = openCluster(this.deps.kubeconfig(), kubeContext);
    if ("object" in what) {
      await removeKbridgeObject(connection, namespace, what.object.kind, what.object.name);
      return { removed: [`${what.object.kind}/${what.object.name}`] };
    }
    const removed = (await listKbridgeObjects(connection, namespace)).objects.filter((o) => o.session === what.sessionId).map((o) => `${o.kind}/${o.name}`);
    const restored = await this.removeSession(connection, namespace, what.sessionId);
    return { removed, ...(restored ? { restored } : {}) };
  }

  /** Ends a session found in the cluster: this helper's own properly (process, tunnels, restore), any other as its restorer would. */
  private async removeSession(connection: ClusterConnection, namespace: string, id: string): Promise<string | undefined> {
    const known = this.sessions.get(id);
    if (known && known.view.target.namespace === namespace && (known.view.state === "interrupted" || !isFinished(known.view.state))) {
      await this.stop(id);
      return undefined;
    }
    const { restored, unrouted } = await restoreSession(connection, namespace, id, { log: this.deps.log });
    this.deps.log.info({ session: id, namespace, restored, unrouted }, "cleaned a session left in the cluster");
    return restored;
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
      onAgentLog: (pod, line) => this.agentLog(entry, pod, line),
      onTraffic: (_pod, exchange) => {
        entry.log.append("traffic", exchange.status >= 500 ? "error" : exchange.status >= 400 ? "warn" : "info", `${exchange.method} ${exchange.path} → ${exchange.status} (${exchange.ms} ms)${exchange.routeAs ? ` route-as=${exchange.routeAs}` : ""}`);
        this.countIsolatedTraffic(entry, exchange.routeAs);
      },
    };
  }

  /** The agent writes JSON lines ({time, message, …fields}); shown as "pod: message field=value". */
  private agentLog(entry: Entry, pod: string, line: string): void {
    let text = line;
    let level: LogLineView["level"] = "info";
    try {
      const { time: _time, session: _session, message, ...fields } = JSON.parse(line) as Record<string, unknown>;
      text = [String(message ?? ""), ...Object.entries(fields).map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)].join(" ");
      if (/error|refused|failed|no tunnel/i.test(String(message))) level = "warn";
    } catch {
      // not JSON: as written
    }
    entry.log.append("agent", level, `${pod}: ${text}`);
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
    const { view } = entry;
    if (step.status !== "running") {
      const timing = step.ms !== undefined ? ` (${step.ms} ms)` : "";
      entry.log.append("helper", step.status === "failed" ? "error" : "info", `${step.status === "done" ? "✓" : "✗"} ${step.name}${timing}${step.detail ? `: ${step.detail}` : ""}`);
    }
    const index = view.steps.findIndex((s) => s.name === step.name);
    if (index >= 0) view.steps[index] = step;
    else view.steps.push(step);
    if (step.status !== "failed") view.state = STATE_OF_STEP[step.name] ?? view.state;
    this.publish(entry);
  }

  /** Sets (or clears, with null) one of a live session's problems, keeping when it started. */
  private setProblem(entry: Entry, code: SessionProblem["code"], problem: { message: string; since?: string } | null): void {
    const current = entry.view.problems ?? [];
    const before = current.find((p) => p.code === code);
    const others = current.filter((p) => p.code !== code);
    if (!problem) {
      if (!before) return;
      entry.view.problems = others;
    } else {
      if (before?.message === problem.message) return;
      entry.view.problems = [...others, { code, message: problem.message, since: before?.since ?? problem.since ?? new Date().toISOString() }];
    }
    if (entry.view.problems.length === 0) delete entry.view.problems;
    this.publish(entry);
  }

  /** The heartbeat found the session gone from the cluster while connected. */
  private lost(entry: Entry): void {
    void stopProcess(entry);
    this.finish(entry, "ended", "restored-by-cluster", "The session's objects disappeared from the cluster (its restorer ran, or someone cleaned the namespace).");
  }

  private finish(entry: Entry, state: "ended" | "failed", outcome: SessionOutcome, note?: string): void {
    entry.view.state = state;
    entry.view.outcome = outcome;
    entry.view.endedAt = new Date().toISOString();
    delete entry.view.endpoints;
    delete entry.view.tunnels;
    delete entry.view.problems;
    entry.stopPortWatch?.();
    if (note) entry.view.note = note;
    else delete entry.view.note;
    this.deps.journal?.end(entry.view);
    for (const abort of entry.podLogs?.values() ?? []) abort.abort();
    entry.podLogs?.clear();
    entry.log.append("helper", state === "failed" ? "error" : "info", `Session ${state} (${outcome})${note ? `: ${note}` : "."}`);
    this.publish(entry);
    void entry.log.close();
  }

  private get(id: string): Entry {
    const entry = this.sessions.get(id);
    if (!entry) throw new KbridgeError({ code: "session-not-found", category: "user", message: `There is no session ${id} in this helper.`, hint: "List the sessions with `kbridge status`." });
    return entry;
  }

  /**
   * Isolation: whether the requests reaching the workstation carry the developer's key — the
   * check that the services in front forward the header (a request without it came here only
   * by a personal URL's router, or not at all).
   */
  private countIsolatedTraffic(entry: Entry, routeAs: string | undefined): void {
    const isolation = entry.view.isolation;
    if (!isolation) return;
    const traffic = (isolation.traffic ??= { withKey: 0, withoutKey: 0 });
    if (routeAs === isolation.routingKey) {
      traffic.withKey += 1;
      traffic.lastWithKeyAt = new Date().toISOString();
    } else {
      traffic.withoutKey += 1;
    }
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
