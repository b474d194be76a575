/** The restorer's judgement of its helper, on its own clock: change seen, or silence while the API answered throughout. */
import { expect, test } from "vitest";
import { Deadman } from "./deadman.mjs";

function clock() {
  let now = 0;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

test("a heartbeat that keeps changing keeps the helper alive, whatever its value says", () => {
  const time = clock();
  const deadman = new Deadman(30_000, time.now);
  // Values are opaque: a workstation clock 10 min behind or ahead writes what it likes.
  for (const value of ["2026-12-07T10:00:00Z", "2026-12-07T09:50:10Z", "a", "b", "2027-01-01T00:00:00Z"]) {
    expect(deadman.observe(value)).toBe(false);
    time.advance(20_000);
  }
  expect(deadman.renewals).toBe(4);
});

test("silence counts once the API answered for a whole interval with no change", () => {
  const time = clock();
  const deadman = new Deadman(30_000, time.now);
  deadman.observe("7");
  time.advance(29_999);
  expect(deadman.observe("7")).toBe(false);
  time.advance(1);
  expect(deadman.observe("7")).toBe(true);
  expect(deadman.silentForMs()).toBe(30_000);
});

test("an outage starts the interval again: after it, the helper has a whole interval to renew", () => {
  const time = clock();
  const deadman = new Deadman(30_000, time.now);
  deadman.observe("7");
  time.advance(20_000);
  expect(deadman.observe(null)).toBe(false);
  time.advance(60_000);
  expect(deadman.observe(null)).toBe(false);
  expect(deadman.silentForMs()).toBe(0);
  expect(deadman.observe("7")).toBe(false);
  time.advance(29_000);
  expect(deadman.observe("7")).toBe(false);
  time.advance(1_000);
  expect(deadman.observe("7")).toBe(true);
  expect(deadman.renewals).toBe(0);
});
