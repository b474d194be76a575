import { expect, test } from "vitest";
import type { LogLineView } from "../../../helper/protocol/index.ts";
import { FilteredLines, LogStore, type LogFilter } from "./logStore.ts";

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

test("the filtered view follows new lines incrementally, recomputes on a new filter, and lets go of lines the store dropped", () => {
  const store = new LogStore(1000);
  const view = new FilteredLines(store);
  const at = (seq: number, source: LogLineView["source"], level: LogLineView["level"], text: string): LogLineView => ({ seq, time: "2026-11-27T00:00:00Z", source, level, text });
  const all: LogFilter = { sources: new Set(["helper", "process", "agent", "traffic"]), level: "all", needle: "" };
  store.add([at(1, "helper", "info", "Connecting"), at(2, "process", "warn", "Deprecated API"), at(3, "process", "error", "TypeError: boom")]);
  expect(view.get(all).map((l) => l.seq)).toEqual([1, 2, 3]);
  expect(view.get({ ...all, level: "warn" }).map((l) => l.seq)).toEqual([2, 3]);
  store.add([at(4, "traffic", "error", "GET / → 500"), at(5, "traffic", "info", "GET / → 200")]);
  expect(view.get({ ...all, level: "warn" }).map((l) => l.seq)).toEqual([2, 3, 4]);
  expect(view.get({ ...all, sources: new Set(["process"]), needle: "typeerror" }).map((l) => l.seq)).toEqual([3]);
  expect(view.get({ ...all, level: "error" }).map((l) => l.seq)).toEqual([3, 4]);

  const small = new LogStore(3);
  const kept = new FilteredLines(small);
  small.add([at(1, "process", "info", "a"), at(2, "process", "info", "b")]);
  expect(kept.get(all).map((l) => l.seq)).toEqual([1, 2]);
  small.add([at(3, "process", "info", "c"), at(4, "process", "info", "d"), at(5, "process", "info", "e")]);
  expect(kept.get(all).map((l) => l.seq)).toEqual([3, 4, 5]);
});
