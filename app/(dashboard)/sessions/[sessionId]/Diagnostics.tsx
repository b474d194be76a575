"use client";

import { useCallback, useEffect, useState, type ReactNode } from "react";
import type { EnvVarView, ErrorInfo, SessionDiagnostics, SessionView } from "../../../../helper/protocol/index.ts";
import { Card } from "../../../components/ui/Card.tsx";
import { ErrorNotice } from "../../../components/ui/ErrorNotice.tsx";
import { buttonClass } from "../../../components/ui/buttons.ts";
import { useHelper } from "../../../lib/client/HelperContext.tsx";

const MASK = "••••••••";

/** The text report "Copy diagnostics" produces: everything on this card, secrets masked. */
export function diagnosticsReport(view: SessionView, diagnostics: SessionDiagnostics, env: EnvVarView[]): string {
  const lines = [
    `kbridge diagnostics — session ${view.id}, ${view.target.kind}/${view.target.name} in ${view.target.context} / ${view.target.namespace}`,
    `checked ${diagnostics.checkedAt}; state ${view.state}`,
    "",
    "Steps:",
    ...view.steps.map((s) => `  ${s.status.padEnd(7)} ${s.name}${s.ms !== undefined ? ` (${s.ms} ms)` : ""}${s.detail ? `: ${s.detail}` : ""}`),
    "",
    `Endpoints: ${diagnostics.mode === "hosts" ? `hosts file ${diagnostics.hostsFile}` : "127.0.0.1 ports and service variables"}${diagnostics.reason ? ` (${diagnostics.reason})` : ""}`,
    ...(diagnostics.hostsBlock ? ["Hosts block as written:", ...diagnostics.hostsBlock.trimEnd().split("\n").map((l) => `  ${l}`)] : []),
    "",
    "Name resolution:",
    ...(diagnostics.names.length === 0 ? ["  (none: unprivileged mode)"] : diagnostics.names.map((n) => `  ${n.ok ? "ok  " : "FAIL"} ${n.name} → ${n.hostsFile ?? "not in the hosts file"}${n.system !== undefined ? `, system resolver ${n.system ?? "nothing"}` : ""} (expected ${n.expected})`)),
    "",
    "TCP checks:",
    ...diagnostics.ports.map((p) => `  ${p.ok ? "ok  " : "FAIL"} ${p.endpoint}:${p.port} via ${p.address}:${p.listenPort} ${p.ms} ms${p.error ? ` — ${p.error}` : ""}`),
    "",
    "Environment:",
    ...env.map((v) => `  ${v.name}=${v.secret ? MASK : v.value.replace(/\n/g, "\\n")}  (${v.source}${v.secret ? ", secret" : ""})`),
    "",
    `Log file: ${diagnostics.logFile}`,
    `Log folder: ${diagnostics.logFolder}`,
  ];
  return `${lines.join("\n")}\n`;
}

function Badge({ ok, children }: { ok: boolean; children: ReactNode }) {
  return <span className={`rounded-full px-2 py-0.5 text-xs font-medium ${ok ? "bg-emerald-100 text-emerald-800" : "bg-rose-100 text-rose-800"}`}>{children}</span>;
}

/**
 * A connected session checked from the workstation: the hosts block as written, each name's
 * resolution, a TCP check of each endpoint, the environment (secrets masked until revealed),
 * where the logs are; and a text report of all of it for an issue or a teammate.
 */
export function Diagnostics({ view }: { view: SessionView }) {
  const { send } = useHelper();
  const [diagnostics, setDiagnostics] = useState<SessionDiagnostics | null>(null);
  const [env, setEnv] = useState<EnvVarView[]>([]);
  const [revealed, setRevealed] = useState<Set<string>>(new Set());
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [checking, setChecking] = useState(false);
  const [copied, setCopied] = useState<"copied" | "manual" | null>(null);
  const connected = view.state === "connected";

  const check = useCallback(async () => {
    setChecking(true);
    const [checked, environment] = await Promise.all([send("session:diagnostics", { sessionId: view.id }), send("session:env", { sessionId: view.id })]);
    setChecking(false);
    if (!checked.ok) return setError(checked.error);
    setError(environment.ok ? null : environment.error);
    setDiagnostics(checked.data);
    if (environment.ok) setEnv(environment.data);
  }, [send, view.id]);

  // Checked once the session is connected; again on request.
  useEffect(() => {
    if (!connected) return;
    let cancelled = false;
    void Promise.resolve().then(() => {
      if (!cancelled) void check();
    });
    return () => {
      cancelled = true;
    };
  }, [connected, check]);

  const report = diagnostics ? diagnosticsReport(view, diagnostics, env) : "";
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(report);
      setCopied("copied");
    } catch {
      setCopied("manual");
    }
  };

  // Checks describe a connected session; once it is not, older results would mislead.
  if (!connected) return null;
  const failedNames = diagnostics?.names.filter((n) => !n.ok).length ?? 0;
  const failedPorts = diagnostics?.ports.filter((p) => !p.ok).length ?? 0;
  return (
    <Card title="Diagnostics" labelledBy="diagnostics-title">
      <div className="mb-4 flex flex-wrap items-center gap-2">
        <button type="button" className={buttonClass.secondary} onClick={() => void check()} disabled={checking}>
          {checking ? "Checking…" : "Check again"}
        </button>
        <button type="button" className={buttonClass.secondary} onClick={() => void copy()} disabled={!diagnostics}>
          Copy diagnostics
        </button>
        {copied === "copied" && <span className="text-sm text-emerald-700">Copied to the clipboard.</span>}
        {diagnostics && (
          <span data-testid="diagnostics-summary" className="ml-auto text-sm text-slate-600">
            {diagnostics.names.length > 0 && `${diagnostics.names.length - failedNames}/${diagnostics.names.length} names resolve · `}
            {diagnostics.ports.length - failedPorts}/{diagnostics.ports.length} ports answer
          </span>
        )}
      </div>
      {error && <ErrorNotice error={error} />}
      {copied === "manual" && <textarea aria-label="Diagnostics report" readOnly value={report} rows={10} className="mb-4 w-full rounded-md border border-slate-300 p-2 font-mono text-xs" />}
      {diagnostics && (
        <div className="flex flex-col gap-5 text-sm">
          <section aria-label="Hosts block">
            <h3 className="mb-1 font-medium text-slate-800">Hosts file</h3>
            {diagnostics.hostsBlock ? (
              <>
                <p className="mb-1 text-slate-600">
                  kbridge&apos;s block in <code className="font-mono">{diagnostics.hostsFile}</code>, as written:
                </p>
                <pre className="overflow-x-auto rounded-md bg-slate-900 p-3 font-mono text-xs text-slate-100">{diagnostics.hostsBlock}</pre>
              </>
            ) : (
              <p className="text-slate-600">No hosts block: services are on 127.0.0.1 ports, reached through the service variables{diagnostics.reason ? ` (${diagnostics.reason})` : ""}.</p>
            )}
          </section>
          {diagnostics.names.length > 0 && (
            <section>
              <h3 className="mb-1 font-medium text-slate-800">Name resolution from this workstation</h3>
              <div className="max-h-72 overflow-auto">
                <table className="w-full text-left" aria-label="Name resolution">
                  <thead className="text-xs uppercase tracking-wide text-slate-500">
                    <tr>
                      <th className="py-1.5 pr-4 font-medium">Name</th>
                      <th className="py-1.5 pr-4 font-medium">Resolves to</th>
                      <th className="py-1.5 font-medium">Result</th>
                    </tr>
                  </thead>
                  <tbody className="divide-y divide-slate-100">
                    {diagnostics.names.map((n) => (
                      <tr key={n.name} data-name={n.name} data-ok={n.ok}>
                        <td className="py-1 pr-4 font-mono text-slate-800">{n.name}</td>
                        <td className="py-1 pr-4 font-mono text-slate-600">
                          {n.hostsFile ?? "—"}
                          {n.system !== undefined && n.system !== n.hostsFile && <span className="ml-2 font-sans text-rose-700">system resolver: {n.system ?? "nothing"}</span>}
                        </td>
                        <td className="py-1">
                          <Badge ok={n.ok}>{n.ok ? "resolves" : `expected ${n.expected}`}</Badge>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </section>
          )}
          <section>
            <h3 className="mb-1 font-medium text-slate-800">TCP check of each endpoint (through the agent)</h3>
            <table className="w-full text-left" aria-label="TCP checks">
              <tbody className="divide-y divide-slate-100">
                {diagnostics.ports.map((p) => (
                  <tr key={`${p.endpoint}:${p.port}`} data-ok={p.ok}>
                    <td className="py-1 pr-4 font-medium text-slate-800">
                      {p.endpoint}:{p.port}
                    </td>
                    <td className="py-1 pr-4 font-mono text-slate-600">
                      {p.address}:{p.listenPort}
                    </td>
                    <td className="py-1">
                      <Badge ok={p.ok}>{p.ok ? `${p.ms} ms` : "fails"}</Badge>
                      {p.error && <span className="ml-2 text-rose-700">{p.error}</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section>
            <h3 className="mb-1 font-medium text-slate-800">Environment of the workstation process ({env.length} variables)</h3>
            <div className="max-h-72 overflow-auto">
              <table className="w-full text-left" aria-label="Environment">
                <tbody className="divide-y divide-slate-100">
                  {env.map((v) => {
                    const shown = !v.secret || revealed.has(v.name);
                    return (
                      <tr key={v.name} data-name={v.name}>
                        <td className="py-1 pr-4 font-mono text-slate-800">{v.name}</td>
                        <td className="max-w-md truncate py-1 pr-4 font-mono text-slate-600" title={shown ? v.value : undefined}>
                          {shown ? v.value : MASK}
                        </td>
                        <td className="py-1 pr-4 text-xs text-slate-500">{v.source}</td>
                        <td className="py-1 text-right">
                          {v.secret && (
                            <button type="button" className={buttonClass.quiet} onClick={() => setRevealed((set) => new Set(shown ? [...set].filter((n) => n !== v.name) : [...set, v.name]))}>
                              {shown ? "Hide" : "Reveal"}
                            </button>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          </section>
          <section>
            <h3 className="mb-1 font-medium text-slate-800">Logs</h3>
            <p className="text-slate-600">
              This session: <code className="font-mono">{diagnostics.logFile}</code>
              <br />
              All sessions: <code className="font-mono">{diagnostics.logFolder}</code>
            </p>
          </section>
        </div>
      )}
    </Card>
  );
}
