"use client";

import { useCallback, useEffect, useState } from "react";
import type { EnvVarView, ErrorInfo, SessionDiagnostics, SessionView } from "../../../../helper/protocol/index.ts";
import { Card } from "../../../components/ui/Card.tsx";
import { ErrorNotice } from "../../../components/ui/ErrorNotice.tsx";
import { buttonClass } from "../../../components/ui/buttons.ts";
import { useHelper } from "../../../lib/client/HelperContext.tsx";
import { EnvironmentSection, HostsSection, InboundSection, LogsSection, MASK, NamesSection, TcpSection } from "./DiagnosticsSections.tsx";

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
    "Inbound (cluster → this workstation):",
    ...diagnostics.inbound.map((c) => `  ${c.ok ? "ok  " : "FAIL"} container port ${c.containerPort} → 127.0.0.1:${c.workstationPort} ${c.ms} ms${c.error ? ` — ${c.error}` : ""}`),
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

/**
 * A connected session checked from the workstation: the hosts block as written, each name's
 * resolution, a TCP check of each endpoint, the environment (secrets masked until revealed),
 * where the logs are; and a text report of all of it for an issue or a teammate.
 */
export function Diagnostics({ view }: { view: SessionView }) {
  const { send } = useHelper();
  const [diagnostics, setDiagnostics] = useState<SessionDiagnostics | null>(null);
  const [env, setEnv] = useState<EnvVarView[]>([]);
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

  // Checked once the session is connected, again when its process (re)starts or a problem comes or goes, and on request.
  const processKey = `${view.process?.state ?? ""}:${view.process?.restarts ?? 0}`;
  const problemKey = (view.problems ?? []).map((p) => p.code).join(",");
  useEffect(() => {
    if (!connected) return;
    let cancelled = false;
    void Promise.resolve().then(() => {
      if (!cancelled) void check();
    });
    return () => {
      cancelled = true;
    };
  }, [connected, check, processKey, problemKey]);

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
  const failedInbound = diagnostics?.inbound.filter((c) => !c.ok).length ?? 0;
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
            {diagnostics.ports.length - failedPorts}/{diagnostics.ports.length} ports answer · {diagnostics.inbound.length - failedInbound}/{diagnostics.inbound.length} workstation ports listen
          </span>
        )}
      </div>
      {error && <ErrorNotice error={error} />}
      {copied === "manual" && <textarea aria-label="Diagnostics report" readOnly value={report} rows={10} className="mb-4 w-full rounded-md border border-slate-300 p-2 font-mono text-xs" />}
      {diagnostics && (
        <div className="flex flex-col gap-5 text-sm">
          <HostsSection diagnostics={diagnostics} />
          <InboundSection inbound={diagnostics.inbound} />
          {diagnostics.names.length > 0 && <NamesSection names={diagnostics.names} />}
          <TcpSection ports={diagnostics.ports} />
          <EnvironmentSection env={env} />
          <LogsSection diagnostics={diagnostics} />
        </div>
      )}
    </Card>
  );
}
