import { expect, test } from "vitest";
import type { LogLineView } from "../../../helper/protocol/index.ts";
import { LogStore } from "./logStore.ts";

const line = (seq: number): LogLineView => ({ seq, time: "2026-11-27T00:00:00Z", source: "process", level: "info", text: `line ${seq}` });

test("each line is kept once, in order, whatever overlaps; listeners hear once per frame; the oldest go past the capacity", async () => {
  const store = new LogStore(5);
  let calls = 0;
  store.subscribe(() => (calls += 1));
  store.add([line(1), line(2), line(3)]);
  store.add([line(2), line(3), line(4)]); // a resume that overlaps what was pushed
  store.add([line(4), line(5), line(6), line(7)]);
  expect(store.all().map((l) => l.seq)).toEqual([3, 4, 5, 6, 7]);
  expect(store.lastSeq).toBe(7);
  await new Promise((resolve) => setTimeout(resolve, 40));
  expect(calls).toBe(1);
  store.add([line(7)]);
  await new Promise((resolve) => setTimeout(resolve, 40));
  expect(calls).toBe(1);
});
