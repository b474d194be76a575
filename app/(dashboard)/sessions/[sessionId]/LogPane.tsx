"use client";

import { useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import type { LogLineView } from "../../../../helper/protocol/index.ts";
import { Card } from "../../../components/ui/Card.tsx";
import { useHelper } from "../../../lib/client/HelperContext.tsx";
import { LogStore } from "../../../lib/client/logStore.ts";

const SOURCES: LogLineView["source"][] = ["helper", "process", "agent", "traffic"];
const SHOWN = 2000;
const LEVEL_TONE: Record<LogLineView["level"], string> = { info: "text-slate-200", warn: "text-amber-300", error: "text-rose-300" };

/**
 * The session's log: kbridge's steps, the process's output, the agents' logs and the
 * traffic, in one pane. Lines come from a store outside React (each once, by seq; fetched
 * again after the last seq on every reconnect); the pane follows the end until the user
 * scrolls up.
 */
export function LogPane({ sessionId }: { sessionId: string }) {
  const helper = useHelper();
  const store = useMemo(() => new LogStore(), []);
  const version = useSyncExternalStore(
    (listener) => store.subscribe(listener),
    () => store.version,
    () => 0,
  );
  const [sources, setSources] = useState<Set<LogLineView["source"]>>(new Set(SOURCES));
  const [search, setSearch] = useState("");
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLDivElement>(null);

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
  const shown = useMemo(() => {
    void version;
    const all = store.all().filter((l) => sources.has(l.source) && (!needle || l.text.toLowerCase().includes(needle)));
    return all.slice(-SHOWN);
  }, [store, version, sources, needle]);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [shown, follow]);

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
          <input type="search" aria-label="Search the log" placeholder="Search" value={search} onChange={(e) => setSearch(e.target.value)} className="rounded-md border border-slate-300 px-2 py-1 text-sm" />
          <button type="button" className="text-sky-700 hover:underline" onClick={download}>
            Download
          </button>
        </div>
      }
    >
      <div
        ref={box}
        role="log"
        aria-label="Session log"
        onScroll={(e) => {
          const el = e.currentTarget;
          setFollow(el.scrollHeight - el.scrollTop - el.clientHeight < 24);
        }}
        className="h-96 overflow-auto rounded-md bg-slate-950 p-3 font-mono text-xs leading-5"
      >
        {shown.map((line) => (
          <div key={line.seq} data-seq={line.seq} data-source={line.source} className={`whitespace-pre-wrap break-words ${LEVEL_TONE[line.level]}`}>
            <span className="text-slate-500">{line.time.slice(11, 19)} </span>
            <span className="text-sky-400">{line.source.padEnd(8)}</span>
            {line.text}
          </div>
        ))}
      </div>
      {!follow && (
        <button type="button" className="mt-2 text-sm text-sky-700 hover:underline" onClick={() => setFollow(true)}>
          Follow new lines
        </button>
      )}
    </Card>
  );
}
