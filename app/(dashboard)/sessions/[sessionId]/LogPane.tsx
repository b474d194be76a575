"use client";

import { useEffect, useLayoutEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import type { LogLineView } from "../../../../helper/protocol/index.ts";
import { Card } from "../../../components/ui/Card.tsx";
import { useHelper } from "../../../lib/client/HelperContext.tsx";
import { useHelperQuery } from "../../../lib/client/useHelperQuery.ts";
import { parseAnsi } from "../../../lib/client/ansi.ts";
import { FilteredLines, LogStore, type LevelFilter } from "../../../lib/client/logStore.ts";

const SOURCES: LogLineView["source"][] = ["helper", "process", "agent", "traffic", "pod"];
const LEVEL_TONE: Record<LogLineView["level"], string> = { info: "text-slate-200", warn: "text-amber-300", error: "text-rose-300" };
/** Every row is one line of this height: only the rows in view (and OVERSCAN either side) are in the DOM. */
const ROW_PX = 20;
const OVERSCAN = 100;
const PANE_PX = 384;

function LineText({ text }: { text: string }) {
  const segments = parseAnsi(text);
  if (!segments) return <>{text}</>;
  return (
    <>
      {segments.map((segment, i) => (
        <span key={i} className={segment.className || undefined}>
          {segment.text}
        </span>
      ))}
    </>
  );
}

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
  const followPod = async (pod: string, follow: boolean) => {
    const result = await helper.send("session:followPod", { sessionId, pod, follow });
    if (result.ok) setFollowing(result.data.following);
    setFollowError(result.ok ? null : `${result.error.message}${result.error.hint ? ` ${result.error.hint}` : ""}`);
  };
  const store = useMemo(() => new LogStore(), []);
  const version = useSyncExternalStore(
    (listener) => store.subscribe(listener),
    () => store.version,
    () => 0,
  );
  const [sources, setSources] = useState<Set<LogLineView["source"]>>(new Set(SOURCES));
  const [level, setLevel] = useState<LevelFilter>("all");
  const [search, setSearch] = useState("");
  const [follow, setFollow] = useState(true);
  const [scrollTop, setScrollTop] = useState(0);
  const box = useRef<HTMLDivElement>(null);
  const filtered = useMemo(() => new FilteredLines(store), [store]);

  useEffect(() => helper.subscribe("session:log", (batch) => batch.sessionId === sessionId && store.add(batch.lines)), [helper, sessionId, store]);
  // On every (re)connect: what was missed since the last line held.
  useEffect(() => {
    if (helper.state !== "connected") return;
    let cancelled = false;
    const catchUp = async () => {
      for (;;) {
        const result = await helper.send("session:logs", { sessionId, after: store.lastSeq });
        if (cancelled || !result.ok) return;
        store.add(result.data.lines);
        if (result.data.lines.length === 0) return;
      }
    };
    void catchUp();
    return () => {
      cancelled = true;
    };
  }, [helper, helper.state, helper.status?.bootId, sessionId, store]);

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
  const rows = matching.slice(first, last);

  useLayoutEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [total, follow, first]);

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
      actions={
        <div className="flex flex-wrap items-center gap-3 text-sm">
          {SOURCES.map((source) => (
            <label key={source} className="flex items-center gap-1 text-slate-700">
              <input
                type="checkbox"
                checked={sources.has(source)}
                onChange={(e) => {
                  const next = new Set(sources);
                  if (e.target.checked) next.add(source);
                  else next.delete(source);
                  setSources(next);
                }}
              />
              {source}
            </label>
          ))}
          <select aria-label="Level" value={level} onChange={(e) => setLevel(e.target.value as LevelFilter)} className="rounded-md border border-slate-300 px-2 py-1 text-sm">
            <option value="all">All levels</option>
            <option value="warn">Warnings and errors</option>
            <option value="error">Errors</option>
          </select>
          {live && (
            <select
              aria-label="Follow a pod's log"
              value=""
              onChange={(e) => {
                if (e.target.value) void followPod(e.target.value, true);
              }}
              className="rounded-md border border-slate-300 px-2 py-1 text-sm"
            >
              <option value="">Follow a pod…</option>
              {(pods.kind === "loaded" ? pods.data : [])
                .filter((pod) => !following.includes(pod.name))
                .map((pod) => (
                  <option key={pod.name} value={pod.name}>
                    {pod.name} ({pod.ready ? "ready" : pod.phase.toLowerCase()})
                  </option>
                ))}
            </select>
          )}
          <input type="search" aria-label="Search the log" placeholder="Search" value={search} onChange={(e) => setSearch(e.target.value)} className="rounded-md border border-slate-300 px-2 py-1 text-sm" />
          <button type="button" className="text-sky-700 hover:underline" onClick={download}>
            Download
          </button>
        </div>
      }
    >
      {(following.length > 0 || followError) && (
        <div className="mb-2 flex flex-wrap items-center gap-2 text-xs">
          {following.map((pod) => (
            <span key={pod} className="inline-flex items-center gap-1 rounded-full bg-violet-100 px-2 py-0.5 font-medium text-violet-800">
              {pod}
              <button type="button" aria-label={`Stop following ${pod}`} onClick={() => void followPod(pod, false)} className="hover:text-violet-950">
                ✕
              </button>
            </span>
          ))}
          {followError && <span className="text-rose-700">{followError}</span>}
        </div>
      )}
      <div
        ref={box}
        role="log"
        aria-label="Session log"
        data-lines={total}
        onScroll={(e) => {
          const el = e.currentTarget;
          setScrollTop(el.scrollTop);
          setFollow(el.scrollHeight - el.scrollTop - el.clientHeight < ROW_PX);
        }}
        style={{ height: PANE_PX }}
        className="overflow-auto rounded-md bg-slate-950 px-3 font-mono text-xs"
      >
        <div style={{ height: first * ROW_PX }} />
        {rows.map((line) => (
          <div key={line.seq} data-seq={line.seq} data-source={line.source} data-level={line.level} style={{ height: ROW_PX, lineHeight: `${ROW_PX}px` }} className={`whitespace-pre ${LEVEL_TONE[line.level]}`}>
            <span className="text-slate-500">{line.time.slice(11, 19)} </span>
            <span className="text-sky-400">{line.source.padEnd(8)}</span>
            <LineText text={line.text} />
          </div>
        ))}
        <div style={{ height: (total - last) * ROW_PX }} />
      </div>
      <p className="mt-2 text-xs text-slate-500">
        {total === store.all().length ? `${total} lines` : `${total} of ${store.all().length} lines match`}
      </p>
      {!follow && (
        <button type="button" className="mt-2 text-sm text-sky-700 hover:underline" onClick={() => setFollow(true)}>
          Follow new lines
        </button>
      )}
    </Card>
  );
}
