"use client";

/** A session page's header: what it connects, where, its profile, a badge that says how it stands, and its actions. */
import Link from "next/link";
import type { SessionView } from "../../../../helper/protocol/index.ts";
import { PageHeader } from "../../../components/ui/PageHeader.tsx";
import { buttonClass } from "../../../components/ui/buttons.ts";

const STATE_TONE: Record<SessionView["state"], string> = {
  resolving: "bg-sky-50 text-sky-800 ring-sky-600/20",
  deploying: "bg-sky-50 text-sky-800 ring-sky-600/20",
  tunnelling: "bg-sky-50 text-sky-800 ring-sky-600/20",
  connected: "bg-emerald-50 text-emerald-800 ring-emerald-600/20",
  restoring: "bg-amber-50 text-amber-800 ring-amber-600/20",
  ended: "bg-slate-50 text-slate-700 ring-slate-600/20",
  failed: "bg-rose-50 text-rose-800 ring-rose-600/20",
  interrupted: "bg-amber-50 text-amber-800 ring-amber-600/20",
};

const OUTCOME_LABEL: Record<NonNullable<SessionView["outcome"]>, string> = {
  disconnected: "ended: disconnected, cluster restored",
  failed: "failed",
  "restored-by-cluster": "ended: the cluster restored itself",
  cleaned: "ended: cleaned up",
  "restore-failed": "restore failed: see below",
};

/** The badge's words: the state, or for a finished session how it ended (never "failed · failed"). */
function stateLabel(view: SessionView): string {
  if (view.outcome) return OUTCOME_LABEL[view.outcome];
  if (view.problems && view.problems.length > 0 && view.state === "connected") return "connected · problem";
  return view.state;
}

type Command = "session:stop" | "session:restartProcess" | "session:resume";

export function SessionHeader({ view, busy, run }: { view: SessionView; busy: boolean; run(command: Command): void }) {
  const live = !["ended", "failed"].includes(view.state);
  return (
      <PageHeader
        title={`${view.target.kind}/${view.target.name}`}
        description={
          <>
            Session {view.id} in {view.target.context} / {view.target.namespace}, started {new Date(view.startedAt).toLocaleTimeString()}
            {view.profileId !== undefined && (
              <>
                {" · "}
                <Link href={`/profiles/${view.profileId}`} className="text-sky-700 hover:underline">
                  its profile
                </Link>
              </>
            )}
          </>
        }
        actions={
          <>
            <span
              data-testid="session-state"
              data-state={view.state}
              data-troubled={live && (view.problems?.length ?? 0) > 0}
              className={`inline-flex items-center rounded-md px-2.5 py-1 text-sm font-medium ring-1 ring-inset ${live && (view.problems?.length ?? 0) > 0 ? STATE_TONE.failed : STATE_TONE[view.state]}`}
            >
              {stateLabel(view)}
            </span>
            {view.process && view.state === "connected" && (
              <button type="button" className={buttonClass.secondary} disabled={busy} onClick={() => run("session:restartProcess")}>
                Restart process
              </button>
            )}
            {view.state === "interrupted" && (
              <button type="button" className={buttonClass.primary} disabled={busy} onClick={() => run("session:resume")}>
                Resume
              </button>
            )}
            {live && (
              <button type="button" className={buttonClass.danger} disabled={busy || view.state === "restoring"} onClick={() => run("session:stop")}>
                {view.state === "restoring" ? "Disconnecting…" : view.state === "interrupted" ? "Clean up" : "Disconnect"}
              </button>
            )}
          </>
        }
      />
  );
}
