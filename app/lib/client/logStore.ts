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
