/** Connect's preflight as a list: each check passed, or why not and what to do. The wizard and the session page show it. */
import type { PreflightView } from "../../../helper/protocol/index.ts";

/** `failed` says what a failure meant where the report is shown (a connect that stopped, or one that would). */
export function PreflightChecks({ report, label = "Preflight checks", failed: meaning = "nothing was changed in the cluster" }: { report: PreflightView; label?: string; failed?: string }) {
  const failed = report.checks.filter((check) => !check.ok).length;
  return (
    <div className="flex flex-col gap-2 text-sm">
      <p data-testid="preflight-summary" data-ok={failed === 0} className={failed === 0 ? "text-emerald-800" : "font-medium text-rose-800"}>
        {failed === 0 ? `All ${report.checks.length} checks passed` : `${failed} of ${report.checks.length} checks failed: ${meaning}`} ({report.ms} ms)
        {report.restorerAccount ? `; the restorer runs as ${report.restorerAccount}` : ""}.
      </p>
      <ul aria-label={label} className="flex flex-col gap-2">
        {report.checks.map((check) => (
          <li key={check.name} data-check={check.name} data-ok={check.ok} className="flex gap-2">
            <span aria-hidden className={check.ok ? "text-emerald-600" : "text-rose-600"}>
              {check.ok ? "✓" : "✗"}
            </span>
            <span className="min-w-0">
              <span className="font-medium text-slate-800">{check.name}</span>
              <span className="block break-words text-slate-600">{check.detail}</span>
              {!check.ok && check.fix && <span className="block break-words text-slate-800">Fix: {check.fix}</span>}
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}
