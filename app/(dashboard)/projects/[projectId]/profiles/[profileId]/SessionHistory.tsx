import Link from "next/link";
import { Card } from "../../../../../components/ui/Card.tsx";
import type { SessionRecordDto } from "../../../../../lib/server/sessionRecords.ts";

const OUTCOME: Record<string, { label: string; tone: string }> = {
  disconnected: { label: "Disconnected", tone: "bg-emerald-50 text-emerald-700 ring-emerald-600/20" },
  failed: { label: "Failed", tone: "bg-red-50 text-red-700 ring-red-600/20" },
  "restored-by-cluster": { label: "Restored by the cluster", tone: "bg-amber-50 text-amber-800 ring-amber-600/20" },
  cleaned: { label: "Cleaned", tone: "bg-slate-50 text-slate-700 ring-slate-600/20" },
  "restore-failed": { label: "Restore failed", tone: "bg-red-50 text-red-700 ring-red-600/20" },
};

function duration(startedAt: string, endedAt: string | null): string {
  if (!endedAt) return "—";
  const seconds = Math.max(0, Math.round((Date.parse(endedAt) - Date.parse(startedAt)) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** The profile's past sessions, newest first, as the dashboard recorded them. */
export function SessionHistory({ records }: { records: SessionRecordDto[] }) {
  return (
    <Card title="Session history" labelledBy="history-title">
      {records.length === 0 ? (
        <p className="text-sm text-slate-500">No sessions yet. Sessions of this profile appear here once they end, with how they ended.</p>
      ) : (
        <table className="w-full text-left text-sm">
          <thead className="text-xs uppercase tracking-wide text-slate-500">
            <tr>
              <th className="py-2 pr-4 font-medium">Started</th>
              <th className="py-2 pr-4 font-medium">Duration</th>
              <th className="py-2 pr-4 font-medium">Outcome</th>
              <th className="py-2 font-medium">Summary</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {records.map((record) => {
              const outcome = OUTCOME[record.outcome] ?? { label: record.outcome, tone: "bg-slate-50 text-slate-700 ring-slate-600/20" };
              return (
                <tr key={record.sessionId} data-session={record.sessionId}>
                  <td className="py-2 pr-4 whitespace-nowrap text-slate-700">
                    {/* The helper keeps its latest sessions' pages (steps, log); older ones say so there. */}
                    <Link href={`/sessions/${record.sessionId}`} className="text-sky-700 hover:underline">
                      <time dateTime={record.startedAt}>{new Date(record.startedAt).toLocaleString()}</time>
                    </Link>
                  </td>
                  <td className="py-2 pr-4 whitespace-nowrap text-slate-700">{duration(record.startedAt, record.endedAt)}</td>
                  <td className="py-2 pr-4">
                    <span className={`inline-flex rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${outcome.tone}`}>{outcome.label}</span>
                  </td>
                  <td className="py-2 text-slate-600">{record.summary}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Card>
  );
}
