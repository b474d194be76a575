"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import type { SessionView } from "../../helper/protocol/index.ts";
import { useLiveSessions } from "../lib/client/useLiveSession.tsx";

const DOT: Record<SessionView["state"], string> = {
  resolving: "bg-sky-400",
  deploying: "bg-sky-400",
  tunnelling: "bg-sky-400",
  connected: "bg-emerald-400",
  restoring: "bg-amber-400",
  interrupted: "bg-amber-400",
  ended: "bg-slate-500",
  failed: "bg-rose-500",
};

/** Every live session of this workstation's helper, always in view: state (a problem turns it red) and a link to its page. */
export function LiveSessions() {
  const sessions = useLiveSessions();
  const pathname = usePathname();
  return (
    <section aria-labelledby="live-sessions-title" className="flex flex-col gap-1">
      <h2 id="live-sessions-title" className="px-3 text-xs font-semibold uppercase tracking-wide text-slate-400">
        Live sessions
      </h2>
      {sessions.length === 0 ? (
        <p className="px-3 text-xs text-slate-500">None: connect a profile.</p>
      ) : (
        <ul aria-label="Live sessions" className="flex flex-col gap-1">
          {sessions.map((view) => {
            const troubled = (view.problems?.length ?? 0) > 0;
            const href = `/sessions/${view.id}`;
            return (
              <li key={view.id} data-session={view.id} data-state={view.state} data-troubled={troubled}>
                <Link
                  href={href}
                  aria-current={pathname === href ? "page" : undefined}
                  className={`flex items-center gap-2 rounded-md px-3 py-1.5 text-sm ${pathname === href ? "bg-slate-800 text-white" : "text-slate-300 hover:bg-slate-800/60 hover:text-white"}`}
                >
                  <span aria-hidden className={`h-2 w-2 shrink-0 rounded-full ${troubled ? "bg-rose-500" : DOT[view.state]}`} />
                  <span className="min-w-0 truncate">
                    {view.target.kind}/{view.target.name}
                  </span>
                  <span className="ml-auto text-xs text-slate-400">{troubled ? "problem" : view.state}</span>
                </Link>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
