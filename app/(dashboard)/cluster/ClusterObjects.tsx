"use client";

import { useEffect, useState } from "react";
import type { ClusterSessionView, ErrorInfo, KbridgeObjectView } from "../../../helper/protocol/index.ts";
import { useClusterPlace } from "../../components/cluster/ClusterPlace.tsx";
import { Card } from "../../components/ui/Card.tsx";
import { ErrorNotice } from "../../components/ui/ErrorNotice.tsx";
import { buttonClass } from "../../components/ui/buttons.ts";
import { useHelper } from "../../lib/client/HelperContext.tsx";
import { useClusterChanges } from "../../lib/client/useClusterChanges.ts";
import { useHelperQuery } from "../../lib/client/useHelperQuery.ts";
import { useLiveSessions } from "../../lib/client/useLiveSession.tsx";

/** How often the objects' ages move on (the objects themselves are read again on the helper's watch). */
const CLOCK_MS = 5_000;

const SESSION_STATE: Record<ClusterSessionView["state"], { label: string; tone: string }> = {
  live: { label: "live", tone: "bg-emerald-100 text-emerald-800" },
  silent: { label: "stale: its helper is gone", tone: "bg-amber-100 text-amber-800" },
  restoring: { label: "its restorer is putting it back", tone: "bg-amber-100 text-amber-800" },
  "restore-failed": { label: "restore failed", tone: "bg-rose-100 text-rose-800" },
  orphaned: { label: "orphaned: its saved original is gone", tone: "bg-rose-100 text-rose-800" },
};

function age(from: string, now: number): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(from)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** kbridge's objects in a namespace, grouped by session, read again whenever the helper's watch sees a change; remove one or a whole session. */
export function ClusterObjects() {
  const { send } = useHelper();
  const { kubeContext, namespace, picker } = useClusterPlace("cluster");
  const [tick, setTick] = useState(0);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const changed = useClusterChanges(kubeContext, namespace);
  // Read once the watch answered (version 1), then on every change it reports or removal here.
  const objects = useHelperQuery("cluster:listObjects", changed > 0 ? { kubeContext, namespace } : null, changed + tick);
  const ours = useLiveSessions();

  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), CLOCK_MS);
    return () => clearInterval(timer);
  }, []);

  const remove = async (key: string, what: { sessionId: string } | { object: { kind: string; name: string } }) => {
    setBusy(key);
    setError(null);
    setNotice(null);
    const result = await send("cluster:removeObjects", { kubeContext, namespace, ...what });
    setBusy(null);
    if (!result.ok) return setError(result.error);
    setNotice(`Removed ${result.data.removed.join(", ") || "nothing (already gone)"}${result.data.restored ? `; restored ${result.data.restored}` : ""}.`);
    setTick((n) => n + 1);
  };

  const list = objects.kind === "loaded" ? objects.data.objects : [];
  const described = new Map((objects.kind === "loaded" ? objects.data.sessions : []).map((s) => [s.session, s]));
  const sessions = [...new Set([...list.map((o) => o.session), ...described.keys()])];
  // Sessions of this workstation's helper, live or interrupted.
  const mine = new Set(ours.map((s) => s.id));
  return (
    <div className="flex flex-col gap-6">
      {picker}
      {error && <ErrorNotice error={error} />}
      {notice && <p role="status" className="rounded-md border border-emerald-200 bg-emerald-50 px-4 py-3 text-sm text-emerald-900">{notice}</p>}
      {objects.kind === "failed" && <ErrorNotice error={objects.error} />}
      {objects.kind === "loaded" && objects.data.unlisted && (
        <p className="text-sm text-slate-600" data-testid="unlisted-kinds">
          You may not list {objects.data.unlisted.join(" or ")} objects in {namespace}; kbridge objects of those kinds, if a teammate with more rights left any, are not shown here.
        </p>
      )}
      {objects.kind === "loaded" && sessions.length === 0 && <p className="text-sm text-slate-600">No kbridge objects in {namespace}{objects.data.unlisted ? " that you may list" : ": the namespace is as its owners left it"}.</p>}
      {sessions.map((session) => (
        <SessionObjects key={session || "shared"} session={session} group={list.filter((o) => o.session === session)} state={described.get(session)} mine={mine.has(session)} namespace={namespace} busy={busy} now={now} remove={(key, what) => void remove(key, what)} />
      ))}
    </div>
  );
}

type Remove = (key: string, what: { sessionId: string } | { object: { kind: string; name: string } }) => void;

interface SessionObjectsProps {
  /** The session's id; "" for the routers isolation shares. */
  session: string;
  group: KbridgeObjectView[];
  state: ClusterSessionView | undefined;
  /** The session is one of this workstation's helper. */
  mine: boolean;
  namespace: string;
  /** What is being removed (a session id or kind/name), if anything. */
  busy: string | null;
  now: number;
  remove: Remove;
}

/** One session's objects (or the shared routers): its owner, state and what its restorer says, each object removable. */
function SessionObjects({ session, group, state, mine, namespace, busy, now, remove }: SessionObjectsProps) {
  const badge = state && state.state !== "live" ? SESSION_STATE[state.state] : { label: mine ? "this workstation" : "live", tone: SESSION_STATE.live.tone };
  const shared = session === "";
  return (
    <Card title={shared ? "Routers (isolation mode)" : `Session ${session}`} labelledBy={`session-${session || "shared"}-title`}>
      {shared ? (
        <p className="mb-3 text-sm text-slate-600">
          Shared by every developer isolating in {namespace}: the routed Services select these routers, their own selectors saved on them. The last isolation session to end (or its restorer) puts the selectors back and removes the routers.
        </p>
      ) : (
        <div className="mb-3 flex flex-col gap-2 text-sm">
          <div className="flex flex-wrap items-center gap-3">
            <span className="text-slate-600">Owner {state?.owner || group[0]?.owner || "unknown"}</span>
            {state?.workload && <span className="font-mono text-xs text-slate-600">{state.workload}</span>}
            <span data-testid={`session-state-${session}`} data-state={state?.state ?? "live"} className={`rounded-full px-2 py-0.5 text-xs font-medium ${badge.tone}`}>
              {badge.label}
            </span>
            {state?.state !== "orphaned" && (
              <button type="button" className={`${buttonClass.danger} ml-auto`} disabled={busy !== null} onClick={() => remove(session, { sessionId: session })}>
                {busy === session ? "Removing…" : "Remove session (restore its workload)"}
              </button>
            )}
          </div>
          {state?.message && (
            <p role="alert" className={`rounded-md border px-3 py-2 ${state.state === "restoring" ? "border-amber-200 bg-amber-50 text-amber-900" : "border-rose-200 bg-rose-50 text-rose-900"}`}>
              {state.message}
              {state.hint && <span className="block text-xs">{state.hint}</span>}
            </p>
          )}
        </div>
      )}
      <table className="w-full text-left text-sm" aria-label={`Objects of session ${session}`}>
        <thead className="text-xs uppercase tracking-wide text-slate-500">
          <tr>
            <th className="py-2 pr-4 font-medium">Kind</th>
            <th className="py-2 pr-4 font-medium">Name</th>
            <th className="py-2 pr-4 font-medium">Role</th>
            <th className="py-2 pr-4 font-medium">Age</th>
            <th className="py-2 pr-4 font-medium">Expires</th>
            <th className="py-2 font-medium" />
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {group.map((object: KbridgeObjectView) => {
            const key = `${object.kind}/${object.name}`;
            return (
              <tr key={key} data-object={key} data-stale={object.stale}>
                <td className="py-1.5 pr-4 text-slate-600">{object.kind}</td>
                <td className="py-1.5 pr-4 font-mono text-slate-800">
                  {object.name}
                  {object.stale && <span className="ml-2 rounded-full bg-amber-100 px-2 py-0.5 font-sans text-xs font-medium text-amber-800">stale</span>}
                </td>
                <td className="py-1.5 pr-4 text-slate-600">{object.role ?? "—"}</td>
                <td className="py-1.5 pr-4 text-slate-600">{age(object.createdAt, now)}</td>
                <td className="py-1.5 pr-4 text-slate-600">{object.expiresAt ? new Date(object.expiresAt).toLocaleString() : "—"}</td>
                <td className="py-1.5 text-right">
                  {!shared && (
                    <button type="button" className={buttonClass.quiet} disabled={busy !== null} onClick={() => remove(key, { object: { kind: object.kind, name: object.name } })} aria-label={`Remove ${key}`}>
                      {busy === key ? "Removing…" : "Remove"}
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </Card>
  );
}
