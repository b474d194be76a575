import fs from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import type { LogLineView } from "../protocol/index.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { SessionLog } from "./sessionLog.ts";

test("lines get consecutive seqs, arrive in batches, and a client resumes after the last seq it has, from memory or from the file", async () => {
  const file = path.join(tempDir("session-log"), "sessions", "abc.log");
  const batches: LogLineView[][] = [];
  const log = new SessionLog({ file, publish: (lines) => batches.push(lines), capacity: 5 });
  for (let i = 1; i <= 12; i++) log.append(i % 2 ? "process" : "helper", "info", `line ${i}`);
  log.flush();
  expect(batches.flat().map((l) => l.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  expect(batches.length).toBe(1);

  // Recent lines come from memory; older ones (beyond the 5 kept) from the file, none twice.
  expect(log.since(9, 100)).toMatchObject({ lines: [{ seq: 10 }, { seq: 11 }, { seq: 12 }], next: 12 });
  const resumed = log.since(2, 4);
  expect(resumed.lines.map((l) => l.text)).toEqual(["line 3", "line 4", "line 5", "line 6"]);
  expect(log.since(resumed.next, 100).lines[0]?.seq).toBe(7);
  expect(log.since(12, 100)).toEqual({ lines: [], next: 12 });
  await log.close();
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);

  // The same session later (a resume): numbering continues from the file.
  const again = new SessionLog({ file, publish: () => undefined });
  expect(again.append("helper", "info", "resumed").seq).toBe(13);
  await again.close();
});
