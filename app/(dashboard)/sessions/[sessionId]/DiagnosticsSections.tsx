"use client";

/** The parts of the Diagnostics card: the hosts block, name resolution, TCP checks, the environment, the logs. */
import { useState, type ReactNode } from "react";
import type { EnvVarView, SessionDiagnostics } from "../../../../helper/protocol/index.ts";
import { buttonClass } from "../../../components/ui/buttons.ts";

export const MASK = "••••••••";

function Badge({ ok, children }: { ok: boolean; children: ReactNode }) {
  return <span className={`rounded-full px-2 py-0.5 text-xs font-medium ${ok ? "bg-emerald-100 text-emerald-800" : "bg-rose-100 text-rose-800"}`}>{children}</span>;
}

export function HostsSection({ diagnostics }: { diagnostics: SessionDiagnostics }) {
  return (
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
  );
}

export function NamesSection({ names }: { names: SessionDiagnostics["names"] }) {
  return (
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
            {names.map((n) => (
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
  );
}

/** The inbound side: is the workstation process listening where the cluster's traffic goes? */
export function InboundSection({ inbound }: { inbound: SessionDiagnostics["inbound"] }) {
  return (
    <section>
      <h3 className="mb-1 font-medium text-slate-800">Inbound: the cluster&apos;s traffic to this workstation</h3>
      <table className="w-full text-left" aria-label="Inbound checks">
        <tbody className="divide-y divide-slate-100">
          {inbound.map((check) => (
            <tr key={check.containerPort} data-ok={check.ok} data-port={check.workstationPort}>
              <td className="py-1 pr-4 font-medium text-slate-800">container port {check.containerPort}</td>
              <td className="py-1 pr-4 font-mono text-slate-600">127.0.0.1:{check.workstationPort}</td>
              <td className="py-1">
                <Badge ok={check.ok}>{check.ok ? `${check.ms} ms` : "fails"}</Badge>
                {check.error && <span className="ml-2 text-rose-700">{check.error}: start your process, or fix the profile&apos;s workstation port</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function TcpSection({ ports }: { ports: SessionDiagnostics["ports"] }) {
  return (
    <section>
      <h3 className="mb-1 font-medium text-slate-800">TCP check of each endpoint (through the agent)</h3>
      <table className="w-full text-left" aria-label="TCP checks">
        <tbody className="divide-y divide-slate-100">
          {ports.map((p) => (
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
  );
}

/** The workstation process's environment; a secret shows masked until revealed. */
export function EnvironmentSection({ env }: { env: EnvVarView[] }) {
  const [revealed, setRevealed] = useState<Set<string>>(new Set());
  return (
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
  );
}

export function LogsSection({ diagnostics }: { diagnostics: SessionDiagnostics }) {
  return (
    <section>
      <h3 className="mb-1 font-medium text-slate-800">Logs</h3>
      <p className="text-slate-600">
        This session: <code className="font-mono">{diagnostics.logFile}</code>
        <br />
        All sessions: <code className="font-mono">{diagnostics.logFolder}</code>
      </p>
    </section>
  );
}
