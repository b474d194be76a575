"use client";

import { useEffect, useState } from "react";
import type { ErrorInfo, SessionView } from "../../../../helper/protocol/index.ts";
import { Card } from "../../../components/ui/Card.tsx";
import { ErrorNotice } from "../../../components/ui/ErrorNotice.tsx";
import { PageHeader } from "../../../components/ui/PageHeader.tsx";
import { buttonClass } from "../../../components/ui/buttons.ts";
import { useHelper } from "../../../lib/client/HelperContext.tsx";
import { Diagnostics } from "./Diagnostics.tsx";
import { LogPane } from "./LogPane.tsx";
import { SessionProblems } from "./SessionProblems.tsx";

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
      <PageHeader
        title={`${view.target.kind}/${view.target.name}`}
        description={`Session ${view.id} in ${view.target.context} / ${view.target.namespace}, started ${new Date(view.startedAt).toLocaleTimeString()}`}
        actions={
          <>
            <span data-testid="session-state" data-state={view.state} className={`inline-flex items-center rounded-md px-2.5 py-1 text-sm font-medium ring-1 ring-inset ${STATE_TONE[view.state]}`}>
              {view.state}
              {view.outcome ? ` · ${view.outcome}` : ""}
            </span>
            {view.process && view.state === "connected" && (
              <button type="button" className={buttonClass.secondary} disabled={busy} onClick={() => void run("session:restartProcess")}>
                Restart process
              </button>
            )}
            {view.state === "interrupted" && (
              <button type="button" className={buttonClass.primary} disabled={busy} onClick={() => void run("session:resume")}>
                Resume
              </button>
            )}
            {live && (
              <button type="button" className={buttonClass.danger} disabled={busy || view.state === "restoring"} onClick={() => void run("session:stop")}>
                {view.state === "restoring" ? "Disconnecting…" : view.state === "interrupted" ? "Clean up" : "Disconnect"}
              </button>
            )}
          </>
        }
      />
      <div className="flex flex-col gap-6">
        {live && view.problems && <SessionProblems problems={view.problems} />}
        {/* A failed restore is on the session itself (its state and error): said once. */}
        {error && error.code !== view.error?.code && <ErrorNotice error={error} />}
        {view.error && <ErrorNotice error={{ ...view.error, category: "cluster" }} />}
        {view.note && <p className="rounded-md border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900">{view.note}</p>}
        <div className="grid gap-6 lg:grid-cols-2">
          <Card title="Steps" labelledBy="steps-title">
            <ol className="flex flex-col gap-2 text-sm" aria-label="Steps">
              {view.steps.map((step) => (
                <li key={step.name} data-step={step.name} data-status={step.status} className="flex gap-2">
                  <span aria-hidden className={step.status === "done" ? "text-emerald-600" : step.status === "failed" ? "text-rose-600" : "text-sky-600"}>
                    {step.status === "done" ? "✓" : step.status === "failed" ? "✗" : "…"}
                  </span>
                  <span className="min-w-0">
                    <span className="font-medium text-slate-800">{step.name}</span>
                    {step.ms !== undefined && <span className="text-slate-500"> · {step.ms} ms</span>}
                    {step.detail && <span className="block break-words text-slate-600">{step.detail}</span>}
                  </span>
                </li>
              ))}
            </ol>
          </Card>
          <Card title="Agent, tunnels and process" labelledBy="process-title">
            {view.tunnels && (
              <dl data-testid="tunnels" className="mb-3 grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1 border-b border-slate-100 pb-3 text-sm">
                <dt className="text-slate-500">Inbound</dt>
                <dd className="text-slate-800">
                  {view.tunnels.inbound.length === 0 ? (
                    <span className="text-amber-700">no tunnel up: reopening…</span>
                  ) : (
                    view.tunnels.inbound.map((pod) => (
                      <span key={pod} className="mr-2 inline-flex items-center gap-1 font-mono text-xs">
                        <span aria-hidden className="h-2 w-2 rounded-full bg-emerald-500" />
                        {pod}
                      </span>
                    ))
                  )}
                </dd>
                <dt className="text-slate-500">Outbound</dt>
                <dd className="font-mono text-xs text-slate-800">{view.tunnels.outbound ?? <span className="font-sans text-amber-700">reopening…</span>}</dd>
              </dl>
            )}
            {view.process ? (
              <dl className="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1 text-sm">
                <dt className="text-slate-500">Command</dt>
                <dd className="font-mono text-slate-800">{view.process.command}</dd>
                <dt className="text-slate-500">Folder</dt>
                <dd className="font-mono text-slate-800">{view.process.cwd}</dd>
                <dt className="text-slate-500">State</dt>
                <dd data-testid="process-state" className="text-slate-800">
                  {view.process.state}
                  {view.process.pid ? ` (pid ${view.process.pid})` : ""}
                  {view.process.state === "exited" ? ` with code ${view.process.exitCode ?? view.process.signal}` : ""}
                  {view.process.restarts > 0 ? ` · restarted ${view.process.restarts}×` : ""}
                </dd>
              </dl>
            ) : (
              <p className="text-sm text-slate-500">No launch command: start your process yourself, listening on the mapped ports.</p>
            )}
          </Card>
        </div>
        {view.isolation && (
          <Card title={`Isolated as ${view.isolation.routingKey}`} labelledBy="isolation-title">
            <p className="mb-2 text-sm text-slate-600">
              Only requests carrying <code className="font-mono">kubernetes-route-as: {view.isolation.routingKey}</code> come to this workstation; everyone else keeps the cluster&apos;s pods.
              Routers stand in front of {view.isolation.routed.join(", ") || "the service"}.
            </p>
            <ul className="flex flex-col gap-1 text-sm" aria-label="Personal URLs">
              {view.isolation.urls.map((url) => (
                <li key={url}>
                  <a href={url} target="_blank" rel="noreferrer" className="font-mono text-sky-700 underline">
                    {url}
                  </a>
                </li>
              ))}
              {view.isolation.urls.length === 0 && <li className="text-slate-500">No ingress host in the namespace, so no personal URL: send the header yourself.</li>}
            </ul>
            <p className="mt-2 text-xs text-slate-500">
              {view.isolation.traffic?.withKey ? `${view.isolation.traffic.withKey} request(s) with your key reached this workstation.` : "No request with your key has arrived yet."} The Team page lists every developer&apos;s URLs.
            </p>
          </Card>
        )}
        {view.endpoints && (
          <Card title={`Cluster services on this workstation (${view.endpoints.mode === "hosts" ? "hosts file" : "127.0.0.1 ports"})`} labelledBy="endpoints-title">
            {view.endpoints.reason && <p className="mb-3 text-sm text-amber-800">{view.endpoints.reason}</p>}
            <table className="w-full text-left text-sm" aria-label="Endpoints">
              <thead className="text-xs uppercase tracking-wide text-slate-500">
                <tr>
                  <th className="py-2 pr-4 font-medium">Service</th>
                  <th className="py-2 pr-4 font-medium">Names</th>
                  <th className="py-2 font-medium">Address</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {view.endpoints.list.map((endpoint) => (
                  <tr key={endpoint.key}>
                    <td className="py-1.5 pr-4 font-medium text-slate-800">{endpoint.key}</td>
                    <td className="py-1.5 pr-4 text-slate-600">{endpoint.names[0]}</td>
                    <td className="py-1.5 font-mono text-slate-800">
                      {endpoint.ports.map((p) => `${endpoint.address}:${p.listenPort}`).join(", ")}
                      {endpoint.lastError && <span className="block font-sans text-rose-700">{endpoint.lastError}</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Card>
        )}
        <LogPane sessionId={sessionId} target={view.target} live={live && view.state !== "interrupted"} />
        <Diagnostics view={view} />
      </div>
    </>
  );
}
