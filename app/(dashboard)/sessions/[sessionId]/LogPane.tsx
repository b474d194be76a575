"use client";

import { useLayoutEffect, useMemo, useRef, useState } from "react";
import { Card } from "../../../components/ui/Card.tsx";
import { useHelper } from "../../../lib/client/HelperContext.tsx";
import { useHelperQuery } from "../../../lib/client/useHelperQuery.ts";
import { FilteredLines } from "../../../lib/client/logStore.ts";
import { FollowedPods, LogRow, LogToolbar, SOURCES, type LogFilters } from "./LogPaneParts.tsx";
import { useSessionLog } from "./useSessionLog.ts";

/** Every row is one line of this height: only the rows in view (and OVERSCAN either side) are in the DOM. */
const ROW_PX = 20;
const OVERSCAN = 100;
const PANE_PX = 384;
/** Wrapped rows have heights of their own: the latest this many are rendered whole. */
const WRAPPED_ROWS = 2000;

/**
 * The session's log: kbridge's steps, the process's output, the agents' logs and the
 * traffic, in one pane. Lines come from a store outside React (each once, by seq; fetched
 * again after the last seq on every reconnect, rendered at most once per animation frame);
 * filters look only at new lines; only the rows in view are rendered, so 100k lines scroll
 * like 100. The pane follows the end until the user scrolls up.
 */
export function LogPane({ sessionId, target, live }: { sessionId: string; target: { context: string; namespace: string }; live: boolean }) {
  const helper = useHelper();
  const [following, setFollowing] = useState<string[]>([]);
  const [followError, setFollowError] = useState<string | null>(null);
  const pods = useHelperQuery("kube:listPods", live ? { kubeContext: target.context, namespace: target.namespace } : null);
  const followPod = (pod: string, follow: boolean) =>
    void helper.send("session:followPod", { sessionId, pod, follow }).then((result) => {
      if (result.ok) setFollowing(result.data.following);
      setFollowError(result.ok ? null : `${result.error.message}${result.error.hint ? ` ${result.error.hint}` : ""}`);
    });
  const { store, version } = useSessionLog(sessionId);
  const [filters, setFilters] = useState<LogFilters>({ sources: new Set(SOURCES), level: "all", search: "", wrap: true });
  const { sources, level, search, wrap } = filters;
  const [follow, setFollow] = useState(true);
  const [scrollTop, setScrollTop] = useState(0);
  const box = useRef<HTMLDivElement>(null);
  const filtered = useMemo(() => new FilteredLines(store), [store]);

  const needle = search.trim().toLowerCase();
  // The filtered list grows in place; a render (each store version) reads its length and the rows in view.
  const matching = useMemo(() => {
    void version;
    return filtered.get({ sources, level, needle });
  }, [filtered, version, sources, level, needle]);
  const total = matching.length;
  const bottom = Math.max(0, total * ROW_PX - PANE_PX);
  const top = follow ? bottom : Math.min(scrollTop, bottom);
  const first = Math.max(0, Math.floor(top / ROW_PX) - OVERSCAN);
  const last = Math.min(total, Math.ceil((top + PANE_PX) / ROW_PX) + OVERSCAN);
  const rows = wrap ? matching.slice(-WRAPPED_ROWS) : matching.slice(first, last);

  useLayoutEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [total, follow, first, wrap]);

  const download = () => {
    const text = store.all().map((l) => `${l.time} ${l.source} ${l.level} ${l.text}`).join("\n") + "\n";
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    link.download = `kbridge-session-${sessionId}.log`;
    link.click();
    URL.revokeObjectURL(link.href);
  };

  return (
    <Card
      title="Log"
      labelledBy="log-title"
      actions={<LogToolbar filters={filters} onFilters={setFilters} pods={live ? (pods.kind === "loaded" ? pods.data : []) : null} following={following} followPod={followPod} download={download} />}
    >
      <FollowedPods following={following} followError={followError} followPod={followPod} />
      <div
        ref={box}
        role="log"
        aria-label="Session log"
        data-lines={total}
        data-wrap={wrap}
        onScroll={(e) => {
          const el = e.currentTarget;
          setScrollTop(el.scrollTop);
          setFollow(el.scrollHeight - el.scrollTop - el.clientHeight < ROW_PX);
        }}
        style={{ height: PANE_PX }}
        className="overflow-auto rounded-md bg-slate-950 px-3 font-mono text-xs"
      >
        {!wrap && <div style={{ height: first * ROW_PX }} />}
        {rows.map((line) => (
          <LogRow key={line.seq} line={line} wrap={wrap} rowPx={ROW_PX} />
        ))}
        {!wrap && <div style={{ height: (total - last) * ROW_PX }} />}
      </div>
      <p className="mt-2 text-xs text-slate-500">
        {total === store.all().length ? `${total} lines` : `${total} of ${store.all().length} lines match`}
        {wrap && total > WRAPPED_ROWS ? `; the latest ${WRAPPED_ROWS} shown wrapped (turn wrap off to scroll them all)` : ""}
      </p>
      {!follow && (
        <button type="button" className="mt-2 text-sm text-sky-700 hover:underline" onClick={() => setFollow(true)}>
          Follow new lines
        </button>
      )}
    </Card>
  );
}
