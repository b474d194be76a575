import { expect, test } from "vitest";
import type { SessionView } from "../protocol/index.ts";
import { finished, withProblem, withStep, withTraffic } from "./sessionView.ts";

const view: SessionView = { id: "s1", state: "resolving", target: { context: "c", namespace: "n", kind: "service", name: "api" }, steps: [], startedAt: "2026-12-07T00:00:00.000Z" };

test("a step replaces the step of its name and moves the state on, unless it failed; the view given is not changed", () => {
  const deploying = withStep(view, { name: "deploy agent", status: "running" });
  expect(deploying).toMatchObject({ state: "deploying", steps: [{ name: "deploy agent", status: "running" }] });
  expect(view).toMatchObject({ state: "resolving", steps: [] });
  const failed = withStep(deploying, { name: "deploy agent", status: "failed", detail: "forbidden" });
  expect(failed).toMatchObject({ state: "deploying", steps: [{ name: "deploy agent", status: "failed", detail: "forbidden" }] });
  expect(withStep(failed, { name: "map services", status: "done" }).state).toBe("deploying");
  expect(withStep(failed, { name: "connected", status: "done" }).state).toBe("connected");
});

test("a problem keeps when it started; the same message is no change; clearing the last one removes the list", () => {
  const first = withProblem(view, "cluster-unreachable", { message: "down", since: "2026-12-07T00:01:00.000Z" });
  expect(first.problems).toEqual([{ code: "cluster-unreachable", message: "down", since: "2026-12-07T00:01:00.000Z" }]);
  expect(withProblem(first, "cluster-unreachable", { message: "down" })).toBe(first);
  const changed = withProblem(first, "cluster-unreachable", { message: "still down" }, new Date("2026-12-07T00:05:00.000Z"));
  expect(changed.problems).toEqual([{ code: "cluster-unreachable", message: "still down", since: "2026-12-07T00:01:00.000Z" }]);
  expect(withProblem(view, "process-exited", null)).toBe(view);
  expect(withProblem(changed, "cluster-unreachable", null)).not.toHaveProperty("problems");
});

test("a finished session loses what it was connected to and gets its outcome, note and end", () => {
  const connected: SessionView = { ...view, state: "connected", tunnels: { inbound: ["p"], outbound: "p" }, endpoints: { mode: "hosts", list: [] }, note: "old", problems: [{ code: "process-exited", message: "x", since: "t" }] };
  const ended = finished(connected, "ended", "disconnected", undefined, new Date("2026-12-07T01:00:00.000Z"));
  expect(ended).toEqual({ ...view, state: "ended", outcome: "disconnected", endedAt: "2026-12-07T01:00:00.000Z" });
  expect(finished(connected, "failed", "restore-failed", "kept").note).toBe("kept");
});

test("isolated traffic is counted by whether it carried the session's key", () => {
  const isolated: SessionView = { ...view, isolation: { routingKey: "alice-1a2b", urls: [], routed: [] } };
  const now = new Date("2026-12-07T02:00:00.000Z");
  const counted = withTraffic(withTraffic(withTraffic(isolated, "alice-1a2b", now), undefined, now), "bob-9f9f", now);
  expect(counted.isolation?.traffic).toEqual({ withKey: 1, withoutKey: 2, lastWithKeyAt: now.toISOString() });
  expect(withTraffic(view, "alice-1a2b")).toBe(view);
});
