"use client";

import { useHelper, type HelperConnectionState } from "../lib/client/HelperContext.tsx";

const LOOK: Record<HelperConnectionState, { label: string; dot: string }> = {
  connecting: { label: "Connecting to helper…", dot: "bg-slate-400 animate-pulse" },
  connected: { label: "Helper connected", dot: "bg-emerald-400" },
  reconnecting: { label: "Helper reconnecting…", dot: "bg-amber-400 animate-pulse" },
  down: { label: "Helper not running", dot: "bg-rose-500" },
  refused: { label: "Helper refused the dashboard", dot: "bg-rose-500" },
};

/** The helper connection, always visible in the sidebar, with what to do when it is not connected. */
export function HelperIndicator() {
  const { state, status, url } = useHelper();
  const look = LOOK[state];
  return (
    <div role="status" aria-label="Helper connection" data-state={state} className="rounded-md border border-slate-700 bg-slate-800/60 p-3 text-xs text-slate-300">
      <div className="flex items-center gap-2 font-medium text-white">
        <span aria-hidden className={`h-2.5 w-2.5 rounded-full ${look.dot}`} />
        {look.label}
      </div>
      {state === "connected" && status && (
        <p className="mt-1 text-slate-400">
          v{status.version} · {url.replace("http://", "")}
        </p>
      )}
      {state === "down" && (
        <p className="mt-1">
          Nothing answers at {url.replace("http://", "")}. Start kbridge with <code className="text-white">npm start</code>, or the helper alone with{" "}
          <code className="text-white">npx kbridge helper</code>. This page reconnects by itself.
        </p>
      )}
      {state === "refused" && <p className="mt-1">The helper uses another token (another KBRIDGE_HOME?). Restart kbridge with <code className="text-white">npm start</code>, then reload this page.</p>}
    </div>
  );
}
