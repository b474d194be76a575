/**
 * The history of a profile's sessions: one SessionRecord per ended helper session that was
 * started for a profile, written by the dashboard server's recorder (sessionRecorder.ts).
 * No "server-only" guard: the recorder runs in the custom server, outside Next's bundles.
 */
import type { SessionView } from "../../../helper/protocol/index.ts";
import { db } from "./database.ts";

export interface SessionRecordDto {
  sessionId: string;
  startedAt: string;
  endedAt: string | null;
  outcome: string;
  summary: string;
}

/** Writes (or completes) the record of a finished session; sessions without a profile, or of a deleted one, are not recorded. Returns whether it wrote. */
export async function recordSession(view: SessionView): Promise<boolean> {
  if (view.profileId === undefined || (view.state !== "ended" && view.state !== "failed")) return false;
  const profile = await db().profile.findUnique({ where: { id: view.profileId }, select: { id: true } });
  if (!profile) return false;
  const outcome = view.outcome ?? (view.state === "failed" ? "failed" : "disconnected");
  const fields = { endedAt: view.endedAt ? new Date(view.endedAt) : new Date(), outcome, summary: summaryOf(view) };
  await db().sessionRecord.upsert({
    where: { sessionId: view.id },
    create: { profileId: profile.id, sessionId: view.id, startedAt: new Date(view.startedAt), ...fields },
    update: fields,
  });
  return true;
}

export async function listSessionRecords(profileId: number, take = 50): Promise<SessionRecordDto[]> {
  const rows = await db().sessionRecord.findMany({ where: { profileId }, orderBy: { startedAt: "desc" }, take });
  return rows.map((row) => ({ sessionId: row.sessionId, startedAt: row.startedAt.toISOString(), endedAt: row.endedAt?.toISOString() ?? null, outcome: row.outcome, summary: row.summary }));
}

function summaryOf(view: SessionView): string {
  const target = `${view.target.kind}/${view.target.name} in ${view.target.namespace}`;
  if (view.error) return `${target}: ${view.error.message}`;
  if (view.note) return `${target}: ${view.note}`;
  const connected = view.steps.some((s) => s.name === "connected");
  return connected ? `${target}: connected, then restored.` : `${target}: ended before it connected.`;
}
