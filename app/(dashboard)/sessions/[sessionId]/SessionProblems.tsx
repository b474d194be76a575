"use client";

import { useEffect, useState } from "react";
import type { SessionProblem } from "../../../../helper/protocol/index.ts";

const TITLE: Record<SessionProblem["code"], (seconds: number) => string> = {
  "cluster-unreachable": (seconds) => `Cluster unreachable for ${seconds} s`,
  "process-exited": () => "Your process exited",
  "workstation-refused": (seconds) => `Cluster traffic failing for ${seconds} s`,
};

/** What is wrong with a live session right now, first on its page, with how long it has lasted. */
export function SessionProblems({ problems }: { problems: SessionProblem[] }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  if (problems.length === 0) return null;
  return (
    <div role="alert" data-testid="session-problems" className="rounded-md border border-rose-200 bg-rose-50 px-4 py-3 text-sm text-rose-900">
      <ul className="flex flex-col gap-1">
        {problems.map((problem) => (
          <li key={problem.code} data-problem={problem.code}>
            <span className="font-semibold">{TITLE[problem.code](Math.max(0, Math.round((now - Date.parse(problem.since)) / 1000)))}:</span> {problem.message}
          </li>
        ))}
      </ul>
    </div>
  );
}
