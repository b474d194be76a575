/**
 * The helper's sessions: started and stopped by commands, followed through the state
 * machine (resolving → deploying → tunnelling → connected → restoring → ended, or failed),
 * every change broadcast as a SessionView. Stopping the helper gracefully restores them all.
 */
import { randomBytes } from "node:crypto";
import { KbridgeError, type CleanReport, type SessionStartInput, type SessionState, type SessionView } from "../protocol/index.ts";
import type { Logger } from "../logging/logger.ts";
import { openCluster } from "../k8s/clusterConnection.ts";
import { restoreWorkload, sessionsInNamespace } from "../k8s/agentWorkload.ts";
import { connect, type ConnectedSession } from "./connectSession.ts";

interface Entry {
  view: SessionView;
  connecting: Promise<ConnectedSession | null>;
}

const STATE_OF_STEP: Record<string, SessionState> = {
  "resolve target": "resolving",
  "deploy agent": "deploying",
  "wait for agent pods": "tunnelling",
  "open tunnels": "tunnelling",
  connected: "connected",
  restore: "restoring",
};

export class SessionManager {
  private readonly sessions = new Map<string, Entry>();

  constructor(private readonly deps: { kubeconfig: () => string[]; log: Logger; broadcast(view: SessionView): void }) {}

  list(): SessionView[] {
    return [...this.sessions.values()].map((entry) => structuredClone(entry.view));
  }

  /** Creates the session and answers at once; the connect goes on in the background. */
  start(input: SessionStartInput): SessionView {
    const id = randomBytes(4).toString("hex");
    const view: SessionView = {
      id,
      state: "resolving",
      target: { context: input.kubeContext, namespace: input.namespace, kind: input.targetKind, name: input.targetName },
      steps: [],
      startedAt: new Date().toISOString(),
      ...(input.profileId !== undefined ? { profileId: input.profileId } : {}),
    };
    const publish = () => this.deps.broadcast(structuredClone(view));
    const connecting = connect({
      sessionId: id,
      kubeconfig: this.deps.kubeconfig(),
      context: input.kubeContext,
      target: { kind: input.targetKind, name: input.targetName, namespace: input.namespace, container: input.container },
      ports: input.ports,
      agentImage: input.agentImage || undefined,
      keep: { probes: input.keepProbes, lifecycleHooks: input.keepLifecycleHooks },
      deadmanSeconds: input.deadmanSeconds,
      log: this.deps.log,
      onStep: (step) => {
        const index = view.steps.findIndex((s) => s.name === step.name);
        if (index >= 0) view.steps[index] = step;
        else view.steps.push(step);
        if (step.status !== "failed") view.state = STATE_OF_STEP[step.name] ?? view.state;
        publish();
      },
    }).then(
      (session) => session,
      (error: unknown) => {
        view.state = "failed";
        view.endedAt = new Date().toISOString();
        view.error =
          error instanceof KbridgeError
            ? { code: error.info.code, message: error.info.message, hint: error.info.hint }
            : { code: "internal", message: "The connect failed unexpectedly.", hint: "See the helper log." };
        if (!(error instanceof KbridgeError)) this.deps.log.error({ err: error, session: id }, "connect failed unexpectedly");
        publish();
        return null;
      },
    );
    this.sessions.set(id, { view, connecting });
    publish();
    return structuredClone(view);
  }

  /** Restores the cluster (after the connect finishes, if it is still going) and ends the session. */
  async stop(id: string): Promise<SessionView> {
    const entry = this.sessions.get(id);
    if (!entry) throw new KbridgeError({ code: "session-not-found", category: "user", message: `There is no session ${id} in this helper.`, hint: "List the sessions with `kbridge status`." });
    const session = await entry.connecting;
    if (session && entry.view.state !== "ended") {
      await session.disconnect();
      entry.view.state = "ended";
      entry.view.endedAt = new Date().toISOString();
      this.deps.broadcast(structuredClone(entry.view));
    }
    return structuredClone(entry.view);
  }

  /**
   * Restores and removes what kbridge left in a namespace: sessions of crashed helpers (or
   * of other workstations). This helper's live sessions are stopped properly first.
   */
  async clean(kubeContext: string, namespace: string): Promise<CleanReport> {
    const connection = openCluster(this.deps.kubeconfig(), kubeContext);
    const sessions = await sessionsInNamespace(connection, namespace);
    const restored: string[] = [];
    for (const id of sessions) {
      const live = this.sessions.get(id);
      if (live && live.view.target.namespace === namespace && live.view.state !== "ended" && live.view.state !== "failed") {
        await this.stop(id);
        continue;
      }
      const workload = await restoreWorkload(connection, namespace, id);
      if (workload) restored.push(workload);
      this.deps.log.info({ session: id, namespace, workload }, "cleaned a session left in the cluster");
    }
    return { namespace, sessions, restored };
  }

  /** Restores every live session (the helper is stopping). */
  async stopAll(): Promise<void> {
    await Promise.allSettled([...this.sessions.keys()].map((id) => this.stop(id)));
  }
}
