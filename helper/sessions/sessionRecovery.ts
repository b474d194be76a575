/**
 * What a stopped helper left, taken up by the next one. Sessions that ended as it stopped are
 * listed again (so that they reach the profile's history). A session that never connected is
 * cleaned at once — nothing of it was usable. One that did is reported as interrupted and
 * checked against the cluster every few seconds until it is settled: gone means the cluster
 * restored itself; present means the user may resume it or clean it, and what its restorer
 * last published is said.
 */
import { openCluster } from "../k8s/clusterConnection.ts";
import { restoreSession } from "../k8s/sessionRestore.ts";
import { sessionInCluster } from "../k8s/workloadClaim.ts";
import type { SessionView } from "../protocol/index.ts";
import type { Entry, SessionHost } from "./sessionEntry.ts";
import { endOrphanedProcess } from "./sessionProcess.ts";

/** How often an interrupted session is checked against the cluster until it is settled. */
const RECHECK_MS = 5000;

export class SessionRecovery {
  private recheck: NodeJS.Timeout | undefined;

  constructor(private readonly host: SessionHost) {}

  /**
   * Lists again the sessions that ended as the last helper stopped, then takes up what it left
   * live in the journal: a session that never connected is cleaned now (nothing of it was
   * usable), one that did is reported as interrupted and checked against the cluster until
   * it is settled.
   */
  async recover(): Promise<void> {
    for (const view of this.host.deps.journal?.listEnded() ?? []) {
      if (this.host.sessions.has(view.id)) continue;
      const log = this.host.openLog(view.id);
      void log.close();
      this.host.sessions.set(view.id, { view, log });
      this.host.publish(this.host.sessions.get(view.id) as Entry);
    }
    const entries = (this.host.deps.journal?.list() ?? []).filter((journal) => !this.host.sessions.has(journal.id));
    const found = entries.map((journal): Entry => {
      const { input } = journal;
      const view: SessionView = {
        id: journal.id,
        state: "interrupted",
        target: { context: input.kubeContext, namespace: input.namespace, kind: input.targetKind, name: input.targetName },
        steps: [],
        startedAt: journal.startedAt,
        note: "Left by a helper that stopped without restoring; checking the cluster…",
        ...(input.profileId !== undefined ? { profileId: input.profileId } : {}),
        ...(journal.plan?.isolation ? { isolation: journal.plan.isolation } : {}),
        // Its process ended with the helper that ran it; a resume starts it again.
        ...(input.launch ? { process: { command: input.launch.command, cwd: input.launch.cwd, state: "stopped" as const, restarts: 0 } } : {}),
      };
      const entry: Entry = { view, journal, log: this.host.openLog(journal.id) };
      endOrphanedProcess(entry);
      this.host.sessions.set(journal.id, entry);
      this.host.publish(entry);
      return entry;
    });
    await Promise.all(found.map((entry) => this.checkInterrupted(entry)));
    this.recheckInterrupted();
  }

  /** Checks the interrupted sessions against the cluster every few seconds, while there are any. */
  private recheckInterrupted(): void {
    if (this.recheck) return;
    this.recheck = setInterval(() => {
      const waiting = [...this.host.sessions.values()].filter((entry) => entry.view.state === "interrupted");
      if (waiting.length === 0) {
        clearInterval(this.recheck);
        this.recheck = undefined;
        return;
      }
      void Promise.all(waiting.map((entry) => this.checkInterrupted(entry)));
    }, RECHECK_MS);
    this.recheck.unref();
  }

  private async checkInterrupted(entry: Entry): Promise<void> {
    // Read entry.view afresh after each await: the manager replaces the view as it changes.
    const { target, id } = entry.view;
    const what = `${target.kind}/${target.name}`;
    // Never connected: nothing to resume; what it made goes now.
    if (entry.journal?.connecting) {
      if (!entry.journal?.plan) {
        this.host.finish(entry, "failed", "failed", "The helper stopped before this session changed anything in the cluster.");
        return;
      }
      await this.cleanInterrupted(entry, "The helper stopped while this session was connecting; the next helper put the cluster back.").catch((error: Error) => {
        entry.view.note = `The helper stopped while this session was connecting, and putting the cluster back failed: ${error.message} kbridge tries again.`;
        this.host.publish(entry);
      });
      return;
    }
    try {
      const connection = openCluster(this.host.deps.kubeconfig(), target.context);
      const found = await sessionInCluster(connection, target.namespace, id);
      if (entry.view.state !== "interrupted") return;
      if (!found) {
        this.host.finish(entry, "ended", "restored-by-cluster", `The cluster restored ${what} by itself after the helper stopped.`);
        return;
      }
      const restorer = found.restorer;
      entry.view.note =
        restorer?.state === "restoring"
          ? `Its restorer is putting ${what} back now (the helper was silent for ${restorer.silentForS ?? "?"} s).`
          : restorer?.state === "failed"
            ? `Its restorer could not put ${what} back: ${restorer.message ?? "see its log"}. ${restorer.hint ?? ""} Clean it up here to try again.`.trim()
            : `Left in the cluster by a helper that stopped. Resume it (the agent is still there) or disconnect it to restore ${what}; its restorer restores it by itself otherwise.`;
    } catch (error) {
      entry.view.note = `Left by a helper that stopped; the cluster could not be checked: ${(error as Error).message}`;
    }
    this.host.publish(entry);
  }

  /** Restores an interrupted session now (its saved original put back) and ends it: `cleaned`. */
  async cleanInterrupted(entry: Entry, note?: string): Promise<void> {
    const { target, id } = entry.view;
    this.host.onStep(entry, { name: "restore", status: "running" });
    const started = Date.now();
    try {
      const connection = openCluster(this.host.deps.kubeconfig(), target.context);
      const plan = entry.journal?.plan;
      await restoreSession(connection, target.namespace, id, {
        log: this.host.deps.log,
        ...(plan && !plan.isolation ? { workload: { kind: plan.target.workload.kind, name: plan.target.workload.name } } : {}),
        progress: (detail) => this.host.onStep(entry, { name: "restore", status: "running", detail }),
      });
      this.host.onStep(entry, { name: "restore", status: "done", ms: Date.now() - started });
      this.host.finish(entry, note ? "failed" : "ended", "cleaned", note);
    } catch (error) {
      this.host.onStep(entry, { name: "restore", status: "failed", ms: Date.now() - started, detail: (error as Error).message });
      entry.view.state = "interrupted";
      this.host.publish(entry);
      throw error;
    }
  }

  /** No more checks (the helper is stopping). */
  stop(): void {
    clearInterval(this.recheck);
    this.recheck = undefined;
  }
}
