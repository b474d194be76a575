/**
 * The helper's journal of live sessions, one file per session in the kbridge home
 * (`sessions/<id>.json`, owner-only). Written when a session starts, when its plan is
 * known and when it connects; when it ends, its last view moves to `sessions/ended/` for a
 * day. What is left live at the next start is what a stopped helper left in the cluster, for
 * the new helper to report and resume or clean; what ended is listed again, so that a session
 * that ended as its helper stopped still reaches the profile's history.
 */
import fs from "node:fs";
import path from "node:path";
import type { SessionStartInput, SessionView } from "../protocol/index.ts";
import type { Logger } from "../logs/logger.ts";
import { writeFileAtomic } from "../shared/safeFiles.ts";
import type { SessionPlan } from "./sessionPlan.ts";

export interface JournalEntry {
  id: string;
  startedAt: string;
  input: SessionStartInput;
  /** Known once the target is resolved; without it a session cannot be resumed, only cleaned. */
  plan?: SessionPlan;
  /** The workstation process's group, so the next helper can end it when this one died. */
  processPid?: number;
  /** Until it first connects: a session that never did is cleaned by the next helper, not offered for resume. */
  connecting?: boolean;
}

/** How long an ended session's view is kept for the next helper to list. */
const ENDED_KEPT_MS = 24 * 3600_000;

export class SessionJournal {
  constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  write(entry: JournalEntry): void {
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const file = this.file(entry.id);
      // Atomic, owner-only from creation (it holds the session's private key), never through a link.
      writeFileAtomic(file, JSON.stringify(entry, null, 2), 0o600);
    } catch (error) {
      this.log.warn({ err: (error as Error).message, session: entry.id }, "could not journal the session; a crash would leave it to kbridge clean");
    }
  }

  remove(id: string): void {
    fs.rmSync(this.file(id), { force: true });
  }

  /** The session ended: its last view is kept (a day) in place of its live entry. */
  end(view: SessionView): void {
    try {
      const dir = path.join(this.dir, "ended");
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const file = path.join(dir, path.basename(this.file(view.id)));
      writeFileAtomic(file, JSON.stringify(view), 0o600);
    } catch (error) {
      this.log.warn({ err: (error as Error).message, session: view.id }, "could not keep the ended session's view");
    }
    this.remove(view.id);
  }

  /** Views of sessions that ended within the last day (older ones are deleted). */
  listEnded(): SessionView[] {
    const dir = path.join(this.dir, "ended");
    const views: SessionView[] = [];
    let names: string[];
    try {
      names = fs.readdirSync(dir).filter((name) => name.endsWith(".json"));
    } catch {
      return [];
    }
    for (const name of names) {
      const file = path.join(dir, name);
      try {
        if (Date.now() - fs.statSync(file).mtimeMs > ENDED_KEPT_MS) {
          fs.rmSync(file, { force: true });
          continue;
        }
        views.push(JSON.parse(fs.readFileSync(file, "utf8")) as SessionView);
      } catch (error) {
        this.log.warn({ err: (error as Error).message, file: name }, "skipped an unreadable ended-session file");
      }
    }
    return views.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }

  list(): JournalEntry[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir).filter((name) => name.endsWith(".json"));
    } catch {
      return [];
    }
    const entries: JournalEntry[] = [];
    for (const name of names) {
      try {
        entries.push(fromEarlierVersions(JSON.parse(fs.readFileSync(path.join(this.dir, name), "utf8")) as JournalEntry));
      } catch (error) {
        this.log.warn({ err: (error as Error).message, file: name }, "skipped an unreadable session journal file");
      }
    }
    return entries.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }

  private file(id: string): string {
    if (!/^[a-z0-9-]+$/.test(id)) throw new Error(`not a session id: ${id}`);
    return path.join(this.dir, `${id}.json`);
  }
}

/** A plan journalled before the inbound port had its name (`controlPort`), so a session it left can still be resumed. */
function fromEarlierVersions(entry: JournalEntry): JournalEntry {
  const plan = entry.plan as (SessionPlan & { controlPort?: number }) | undefined;
  if (!plan || plan.inboundPort !== undefined || plan.controlPort === undefined) return entry;
  const { controlPort, ...rest } = plan;
  return { ...entry, plan: { ...rest, inboundPort: controlPort } };
}
