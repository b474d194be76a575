/**
 * What `kbridge connect` prints of its session as its view changes: each finished step once,
 * the workstation process starting and exiting, "connected" with how to reach it, problems
 * as they start and as they end, and how the session ended.
 */
import type { SessionProblem, SessionStart, SessionView } from "../protocol/index.ts";

type Print = (text: string) => void;

export interface SessionPrinter {
  /** Prints what is new in `view`; "ended" or "failed" once the session is over. */
  show(view: SessionView): "ended" | "failed" | undefined;
}

export function sessionPrinter(input: SessionStart, out: Print, err: Print): SessionPrinter {
  let printed = 0;
  let shownProcess = "";
  let connectedShown = false;
  const shownProblems = new Map<SessionProblem["code"], { message: string; since: string }>();

  const showSteps = (view: SessionView) => {
    for (const step of view.steps.slice(printed)) {
      if (step.status === "running") break;
      out(`${step.status === "done" ? "✓" : "✗"} ${step.name}${step.ms !== undefined ? ` (${step.ms} ms)` : ""}${step.detail ? `: ${step.detail}` : ""}\n`);
      printed += 1;
    }
  };
  const showProcess = (process: SessionView["process"]) => {
    const processState = process ? `${process.state}:${process.pid ?? ""}:${process.restarts}` : "";
    if (!process || processState === shownProcess) return;
    shownProcess = processState;
    if (process.state === "running") out(`Started ${process.command} (pid ${process.pid}) in ${process.cwd} with the pod's environment.\n`);
    if (process.state === "exited") err(`kbridge: ${process.command} ${process.signal ? `was ended by ${process.signal}` : `exited with code ${process.exitCode}`}; the session stays connected (Ctrl-C to end it).\n`);
  };
  const showConnected = (view: SessionView) => {
    const mapping = input.ports.map((p) => `${p.port ?? "port"} → 127.0.0.1:${p.workstationPort}`).join(", ");
    if (!view.isolation) {
      out(`Connected: ${input.targetKind}/${input.targetName} in ${input.namespace} now reaches this workstation (${mapping}). Press Ctrl-C to disconnect and restore.\n`);
      return;
    }
    const { routingKey, urls } = view.isolation;
    out(`Connected, isolated as ${routingKey}: ${input.targetKind}/${input.targetName}'s requests carrying the header "kubernetes-route-as: ${routingKey}" reach this workstation (${mapping}); everyone else's reach the cluster's pods. Press Ctrl-C to disconnect.\n`);
    out(urls.length ? `Your personal URL(s), for anyone on the team:\n${urls.map((url) => `  ${url}\n`).join("")}` : "No ingress host in the namespace, so no personal URL: send the header yourself.\n");
    out(`Try: curl -H 'kubernetes-route-as: ${routingKey}' …  (every service on the way must forward the header)\n`);
  };
  // A problem is said once as it starts, and once as it ends.
  const showProblems = (view: SessionView) => {
    const now = new Map((view.problems ?? []).map((p) => [p.code, p]));
    for (const [code, problem] of now) if (shownProblems.get(code)?.message !== problem.message) err(`kbridge: ${problem.message}\n`);
    for (const [code, problem] of shownProblems) {
      if (now.has(code)) continue;
      const seconds = Math.round((Date.now() - Date.parse(problem.since)) / 1000);
      if (code === "cluster-unreachable") out(`The cluster answers again after ${seconds} s; the session held.\n`);
      if (code === "workstation-refused") out(`Cluster traffic reaches this workstation again.\n`);
    }
    shownProblems.clear();
    for (const [code, problem] of now) shownProblems.set(code, problem);
  };

  return {
    show(view) {
      showSteps(view);
      showProcess(view.process);
      if (view.state === "connected" && !connectedShown) {
        connectedShown = true;
        showConnected(view);
      }
      showProblems(view);
      return view.state === "ended" || view.state === "failed" ? view.state : undefined;
    },
  };
}
