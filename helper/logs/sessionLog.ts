/**
 * A session's log: the helper's own lines (steps, warnings), the workstation process's
 * output, the agent's, and the traffic log, in one sequence. Every line gets the next `seq`,
 * is kept in memory (the newest `capacity` lines), appended to `logs/sessions/<id>.log`
 * (JSON lines) and published in small batches; a client that reconnects asks for the lines
 * after the last seq it has, so it neither misses nor repeats one.
 */
import fs from "node:fs";
import path from "node:path";
import type { LogLineView } from "../protocol/index.ts";

export interface SessionLogOptions {
  file: string;
  /** Receives new lines in batches (about every 50 ms while lines arrive). */
  publish(lines: LogLineView[]): void;
  capacity?: number;
}

const BATCH_MS = 50;

export class SessionLog {
  private readonly lines: LogLineView[] = [];
  private readonly capacity: number;
  private seq = 0;
  private pending: LogLineView[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Written synchronously, so the file always holds every line given out. */
  private fd: number | undefined;

  constructor(private readonly options: SessionLogOptions) {
    this.capacity = options.capacity ?? 20_000;
    fs.mkdirSync(path.dirname(options.file), { recursive: true, mode: 0o700 });
    // A resumed session continues its file and its numbering.
    this.seq = lastSeq(options.file);
    this.fd = fs.openSync(options.file, "a", 0o600);
  }

  get last(): number {
    return this.seq;
  }

  append(source: LogLineView["source"], level: LogLineView["level"], text: string): LogLineView {
    const line: LogLineView = { seq: ++this.seq, time: new Date().toISOString(), source, level, text };
    this.lines.push(line);
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
    if (this.fd !== undefined) {
      try {
        fs.writeSync(this.fd, JSON.stringify(line) + "\n");
      } catch {
        // a full disk must not stop the session; memory still has the line
      }
    }
    this.pending.push(line);
    this.timer ??= setTimeout(() => this.flush(), BATCH_MS);
    return line;
  }

  /** Lines after `after`, oldest first (from memory, or from the file for older ones). */
  since(after: number, limit: number): { lines: LogLineView[]; next: number } {
    const oldest = this.lines[0]?.seq ?? this.seq + 1;
    const source = after + 1 >= oldest ? this.lines : readFile(this.options.file);
    const lines = source.filter((l) => l.seq > after).slice(0, limit);
    return { lines, next: lines.at(-1)?.seq ?? Math.max(after, 0) };
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.options.publish(batch);
  }

  close(): Promise<void> {
    this.flush();
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    return Promise.resolve();
  }
}

function readFile(file: string): LogLineView[] {
  try {
    return fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as LogLineView);
  } catch {
    return [];
  }
}

function lastSeq(file: string): number {
  return readFile(file).at(-1)?.seq ?? 0;
}
