/**
 * A session's log lines in the browser, outside React: lines arrive in batches (and again
 * after a reconnect), are kept once each by their seq, and subscribers hear about them at
 * most once per animation frame — the pane renders in frame-sized batches however fast
 * lines come.
 */
import type { LogLineView } from "../../../helper/protocol/index.ts";

export class LogStore {
  private readonly lines: LogLineView[] = [];
  private last = 0;
  private readonly listeners = new Set<() => void>();
  private scheduled = false;
  version = 0;

  constructor(private readonly capacity = 100_000) {}

  /** The seq a client asks `session:logs` after. */
  get lastSeq(): number {
    return this.last;
  }

  all(): readonly LogLineView[] {
    return this.lines;
  }

  /** Adds lines in seq order; ones already held (a resume overlapping a push) are skipped. */
  add(lines: readonly LogLineView[]): void {
    let added = false;
    for (const line of lines) {
      if (line.seq <= this.last) continue;
      this.lines.push(line);
      this.last = line.seq;
      added = true;
    }
    if (!added) return;
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
    this.version += 1;
    if (this.scheduled) return;
    this.scheduled = true;
    const flush = () => {
      this.scheduled = false;
      for (const listener of this.listeners) listener();
    };
    if (typeof requestAnimationFrame === "function") requestAnimationFrame(flush);
    else setTimeout(flush, 16);
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
}

export type LevelFilter = "all" | "warn" | "error";

export interface LogFilter {
  sources: ReadonlySet<LogLineView["source"]>;
  level: LevelFilter;
  /** Lower-case text to search for ("" for all). */
  needle: string;
}

const LEVEL_RANK: Record<LogLineView["level"], number> = { info: 0, warn: 1, error: 2 };
const LEVEL_MIN: Record<LevelFilter, number> = { all: 0, warn: 1, error: 2 };

export const matchesFilter = (line: LogLineView, filter: LogFilter) =>
  filter.sources.has(line.source) && LEVEL_RANK[line.level] >= LEVEL_MIN[filter.level] && (filter.needle === "" || line.text.toLowerCase().includes(filter.needle));

/**
 * The store's lines that match a filter, kept up to date by looking only at the lines added
 * since the last call (so 10k lines a second into 100k held cost the new lines, not all of
 * them); recomputed when the filter changes.
 */
export class FilteredLines {
  private key = "";
  private upTo = 0;
  private matches: LogLineView[] = [];

  constructor(private readonly store: LogStore) {}

  get(filter: LogFilter): readonly LogLineView[] {
    const key = JSON.stringify([[...filter.sources].sort(), filter.level, filter.needle]);
    if (key !== this.key) {
      this.key = key;
      this.upTo = 0;
      this.matches = [];
    }
    const all = this.store.all();
    let from = all.length;
    while (from > 0 && (all[from - 1] as LogLineView).seq > this.upTo) from--;
    for (let i = from; i < all.length; i++) {
      const line = all[i] as LogLineView;
      if (matchesFilter(line, filter)) this.matches.push(line);
    }
    if (all.length > 0) this.upTo = (all[all.length - 1] as LogLineView).seq;
    // Lines the store let go (its capacity) go from here too.
    const oldest = all[0]?.seq ?? Number.POSITIVE_INFINITY;
    if ((this.matches[0]?.seq ?? oldest) < oldest) {
      let low = 0;
      let high = this.matches.length;
      while (low < high) {
        const mid = (low + high) >> 1;
        if ((this.matches[mid] as LogLineView).seq < oldest) low = mid + 1;
        else high = mid;
      }
      this.matches.splice(0, low);
    }
    return this.matches;
  }
}
