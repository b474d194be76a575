"use client";

/** The cards of a session's page: its steps, its tunnels and process, its isolation, the cluster services it mapped. */
import type { SessionView } from "../../../../helper/protocol/index.ts";
import { Card } from "../../../components/ui/Card.tsx";
import { PreflightChecks } from "../../../components/cluster/PreflightChecks.tsx";

export function StepsCard({ steps }: { steps: SessionView["steps"] }) {
  return (
    <Card title="Steps" labelledBy="steps-title">
      <ol className="flex flex-col gap-2 text-sm" aria-label="Steps">
        {steps.map((step) => (
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
  );
}

/** What connect checked before changing anything: open when a check failed (that is why the session did), folded otherwise. */
export function PreflightCard({ report }: { report: NonNullable<SessionView["preflight"]> }) {
  const failed = report.checks.some((check) => !check.ok);
  return (
    <Card title="Preflight" labelledBy="preflight-title">
      {failed ? (
        <PreflightChecks report={report} />
      ) : (
        <details>
          <summary className="cursor-pointer text-sm text-emerald-800">
            All {report.checks.length} checks passed in {report.ms} ms{report.restorerAccount ? `; the restorer runs as ${report.restorerAccount}` : ""}.
          </summary>
          <div className="mt-3">
            <PreflightChecks report={report} />
          </div>
        </details>
      )}
    </Card>
  );
}

export function LinksCard({ view }: { view: SessionView }) {
  return (
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
            {view.process.state === "waiting" ? (view.state === "failed" || view.state === "ended" ? "never started: the session did not connect" : "starts once connected") : view.process.state}
            {view.process.pid ? ` (pid ${view.process.pid})` : ""}
            {view.process.state === "exited" ? ` with code ${view.process.exitCode ?? view.process.signal}` : ""}
            {view.process.restarts > 0 ? ` · restarted ${view.process.restarts}×` : ""}
          </dd>
        </dl>
      ) : (
        <p className="text-sm text-slate-500">No launch command: start your process yourself, listening on the mapped ports.</p>
      )}
    </Card>
  );
}

export function IsolationCard({ isolation }: { isolation: NonNullable<SessionView["isolation"]> }) {
  return (
    <Card title={`Isolated as ${isolation.routingKey}`} labelledBy="isolation-title">
      <p className="mb-2 text-sm text-slate-600">
        Only requests carrying <code className="font-mono">kubernetes-route-as: {isolation.routingKey}</code> come to this workstation; everyone else keeps the cluster&apos;s pods.
        Routers stand in front of {isolation.routed.join(", ") || "the service"}.
      </p>
      <ul className="flex flex-col gap-1 text-sm" aria-label="Personal URLs">
        {isolation.urls.map((url) => (
          <li key={url}>
            <a href={url} target="_blank" rel="noreferrer" className="font-mono text-sky-700 underline">
              {url}
            </a>
          </li>
        ))}
        {isolation.urls.length === 0 && <li className="text-slate-500">No ingress host in the namespace, so no personal URL: send the header yourself.</li>}
      </ul>
      <p className="mt-2 text-xs text-slate-500">
        {isolation.traffic?.withKey ? `${isolation.traffic.withKey} request(s) with your key reached this workstation.` : "No request with your key has arrived yet."} The Team page lists every developer&apos;s URLs.
      </p>
    </Card>
  );
}

export function EndpointsCard({ endpoints }: { endpoints: NonNullable<SessionView["endpoints"]> }) {
  return (
    <Card title={`Cluster services on this workstation (${endpoints.mode === "hosts" ? "hosts file" : "127.0.0.1 ports"})`} labelledBy="endpoints-title">
      {endpoints.reason && <p className="mb-3 text-sm text-amber-800">{endpoints.reason}</p>}
      <table className="w-full text-left text-sm" aria-label="Endpoints">
        <thead className="text-xs uppercase tracking-wide text-slate-500">
          <tr>
            <th className="py-2 pr-4 font-medium">Service</th>
            <th className="py-2 pr-4 font-medium">Names</th>
            <th className="py-2 font-medium">Address</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {endpoints.list.map((endpoint) => (
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
  );
}
