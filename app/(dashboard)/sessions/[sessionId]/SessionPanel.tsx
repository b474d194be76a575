"use client";

import { useEffect, useState } from "react";
import type { ErrorInfo, SessionView } from "../../../../helper/protocol/index.ts";
import { ErrorNotice } from "../../../components/ui/ErrorNotice.tsx";
import { PageHeader } from "../../../components/ui/PageHeader.tsx";
import { useHelper } from "../../../lib/client/HelperContext.tsx";
import { Diagnostics } from "./Diagnostics.tsx";
import { LogPane } from "./LogPane.tsx";
import { SessionHeader } from "./SessionHeader.tsx";
import { SessionProblems } from "./SessionProblems.tsx";
import { EndpointsCard, IsolationCard, LinksCard, PreflightCard, StepsCard } from "./SessionCards.tsx";

/** One session, live: its steps with timings, what it mapped, its process, and its log. */
export function SessionPanel({ sessionId }: { sessionId: string }) {
  const helper = useHelper();
  const [view, setView] = useState<SessionView | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [busy, setBusy] = useState(false);

  // The current view on every (re)connect, then every change as it happens.
  const { state, status, send } = helper;
  useEffect(() => {
    if (state !== "connected") return;
    let cancelled = false;
    void send("session:list", {}).then((listed) => {
      if (cancelled || !listed.ok) return;
      const found = listed.data.find((s) => s.id === sessionId);
      if (found) setView(found);
      else setError({ code: "session-not-found", category: "user", message: `The helper has no session ${sessionId}.`, hint: "It may have ended before the helper restarted; see the profile's history." });
    });
    return () => {
      cancelled = true;
    };
  }, [state, status?.bootId, send, sessionId]);
  useEffect(() => helper.subscribe("session:updated", (next) => next.id === sessionId && setView(next)), [helper, sessionId]);

  // A disconnect answers once the restore is verified: its progress shows meanwhile in the restore step.
  const run = async (command: "session:stop" | "session:restartProcess" | "session:resume") => {
    setBusy(true);
    setError(null);
    const result = await helper.send(command, { sessionId });
    setBusy(false);
    if (result.ok) setView(result.data);
    else setError(result.error);
  };

  if (!view) return <PageHeader title={`Session ${sessionId}`} description={error ? undefined : "Loading…"} actions={error ? <ErrorNotice error={error} /> : undefined} />;
  const live = !["ended", "failed"].includes(view.state);
  return (
    <>
      <SessionHeader view={view} busy={busy} run={(command) => void run(command)} />
      <div className="flex flex-col gap-6">
        {live && view.problems && <SessionProblems problems={view.problems} />}
        {/* A failed restore is on the session itself (its state and error): said once. */}
        {error && error.code !== view.error?.code && <ErrorNotice error={error} />}
        {view.error && <ErrorNotice error={{ ...view.error, category: "cluster" }} />}
        {view.note && <p className="rounded-md border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900">{view.note}</p>}
        <div className="grid gap-6 lg:grid-cols-2">
          <StepsCard steps={view.steps} />
          <LinksCard view={view} />
        </div>
        {view.preflight && <PreflightCard report={view.preflight} />}
        {view.isolation && <IsolationCard isolation={view.isolation} />}
        {view.endpoints && <EndpointsCard endpoints={view.endpoints} />}
        <LogPane sessionId={sessionId} target={view.target} live={live && view.state !== "interrupted"} />
        <Diagnostics view={view} />
      </div>
    </>
  );
}
