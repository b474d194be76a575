/**
 * How a session's view changes, as pure functions: each takes a view and an event and returns
 * the next view (or the same one when nothing changed). The state machine is here:
 * resolving → deploying → tunnelling → connected → restoring → ended, or failed.
 */
import type { SessionOutcome, SessionProblem, SessionStartInput, SessionState, SessionStep, SessionStepName, SessionView } from "../protocol/index.ts";

const STATE_OF_STEP: Partial<Record<SessionStepName, SessionState>> = {
  "resolve target": "resolving",
  "deploy agent": "deploying",
  "reclaim session": "tunnelling",
  "wait for agent pods": "tunnelling",
  "route requests": "tunnelling",
  "open tunnels": "tunnelling",
  "check routing": "tunnelling",
  connected: "connected",
  restore: "restoring",
};

export function isFinished(state: SessionState): boolean {
  return state === "ended" || state === "failed";
}

/** A step started, finished or failed: it replaces the step of its name, and a step that did not fail moves the state on. */
export function withStep(view: SessionView, step: SessionStep): SessionView {
  const index = view.steps.findIndex((s) => s.name === step.name);
  const steps = index >= 0 ? view.steps.map((s, i) => (i === index ? step : s)) : [...view.steps, step];
  const state = step.status === "failed" ? view.state : (STATE_OF_STEP[step.name] ?? view.state);
  return { ...view, steps, state };
}

/** Sets (or clears, with null) one of a live session's problems, keeping when it started; the same view when nothing changes. */
export function withProblem(view: SessionView, code: SessionProblem["code"], problem: { message: string; since?: string } | null, now = new Date()): SessionView {
  const current = view.problems ?? [];
  const before = current.find((p) => p.code === code);
  const others = current.filter((p) => p.code !== code);
  if (!problem && !before) return view;
  if (problem && before?.message === problem.message) return view;
  const problems = problem ? [...others, { code, message: problem.message, since: before?.since ?? problem.since ?? now.toISOString() }] : others;
  const { problems: _old, ...rest } = view;
  return problems.length ? { ...rest, problems } : rest;
}

/** The session ended (or failed): what it was connected to goes from the view, its outcome and note come. */
export function finished(view: SessionView, state: "ended" | "failed", outcome: SessionOutcome, note?: string, now = new Date()): SessionView {
  const { endpoints: _endpoints, tunnels: _tunnels, problems: _problems, note: _note, ...rest } = view;
  return { ...rest, state, outcome, endedAt: now.toISOString(), ...(note ? { note } : {}) };
}

/**
 * Isolation: whether a request that reached the workstation carried the developer's key — the
 * check that the services in front forward the header (a request without it came here only
 * by a personal URL's router, or not at all).
 */
export function withTraffic(view: SessionView, routeAs: string | undefined, now = new Date()): SessionView {
  const isolation = view.isolation;
  if (!isolation) return view;
  const traffic = isolation.traffic ?? { withKey: 0, withoutKey: 0 };
  const counted = routeAs === isolation.routingKey ? { ...traffic, withKey: traffic.withKey + 1, lastWithKeyAt: now.toISOString() } : { ...traffic, withoutKey: traffic.withoutKey + 1 };
  return { ...view, isolation: { ...isolation, traffic: counted } };
}

/** A session's view as session:start creates it: resolving, with the process it will launch once connected. */
export function newSessionView(id: string, input: SessionStartInput, now = new Date()): SessionView {
  return {
    id,
    state: "resolving",
    target: { context: input.kubeContext, namespace: input.namespace, kind: input.targetKind, name: input.targetName },
    steps: [],
    startedAt: now.toISOString(),
    ...(input.profileId !== undefined ? { profileId: input.profileId } : {}),
    ...(input.launch ? { process: { command: input.launch.command, cwd: input.launch.cwd, state: "waiting", restarts: 0 } } : {}),
  };
}
