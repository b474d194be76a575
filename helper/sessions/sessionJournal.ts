/**
 * The helper's journal of live sessions, one file per session in the kbridge home
 * (`sessions/<id>.json`, owner-only). Written when a session starts and when its plan is
 * known, removed when it ends: what is left at the next start is what a stopped helper
 * left in the cluster, for the new helper to report and resume or clean.
 */
import fs from "node:fs";
import path from "node:path";
import type { SessionStartInput } from "../protocol/index.ts";
import type { Logger } from "../logging/logger.ts";
import type { SessionPlan } from "./connectSession.ts";

export interface JournalEntry {
  id: string;
  startedAt: string;
  input: SessionStartInput;
  /** Known once the target is resolved; without it a session cannot be resumed, only cleaned. */
  plan?: SessionPlan;
  /** The workstation process's group, so the next helper can end it when this one died. */
  processPid?: number;
}

export class SessionJournal {
  constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  write(entry: JournalEntry): void {
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const file = this.file(entry.id);
      // Atomic: a crash mid-write leaves the previous version, never half a file.
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(entry, null, 2), { mode: 0o600 });
      fs.renameSync(`${file}.tmp`, file);
    } catch (error) {
      this.log.warn({ err: (error as Error).message, session: entry.id }, "could not journal the session; a crash would leave it to kbridge clean");
    }
  }

  remove(id: string): void {
    fs.rmSync(this.file(id), { force: true });
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
        entries.push(JSON.parse(fs.readFileSync(path.join(this.dir, name), "utf8")) as JournalEntry);
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
