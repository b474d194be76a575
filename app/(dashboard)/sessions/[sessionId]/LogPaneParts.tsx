"use client";

/** The log pane's toolbar (sources, level, a pod to follow, search, download), the pods followed, and a line's text. */
import type { LogLineView, PodView } from "../../../../helper/protocol/index.ts";
import { parseAnsi } from "../../../lib/client/ansi.ts";
import type { LevelFilter } from "../../../lib/client/logStore.ts";

export const SOURCES: LogLineView["source"][] = ["helper", "process", "agent", "traffic", "pod"];

export interface LogFilters {
  sources: Set<LogLineView["source"]>;
  level: LevelFilter;
  search: string;
  /** Long lines wrap (the latest lines, each whole) instead of one scrollable row each. */
  wrap: boolean;
}

interface ToolbarProps {
  filters: LogFilters;
  onFilters(filters: LogFilters): void;
  /** Pods of the namespace that may be followed (none once the session is over). */
  pods: PodView[] | null;
  following: string[];
  followPod(pod: string, follow: boolean): void;
  download(): void;
}

export function LogToolbar({ filters, onFilters, pods, following, followPod, download }: ToolbarProps) {
  const { sources, level, search } = filters;
  const live = pods !== null;
  return (
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
              onFilters({ ...filters, sources: next });
            }}
          />
          {source}
        </label>
      ))}
      <label className="flex items-center gap-1 text-slate-700">
        <input type="checkbox" checked={filters.wrap} onChange={(e) => onFilters({ ...filters, wrap: e.target.checked })} />
        wrap
      </label>
      <select aria-label="Level" value={level} onChange={(e) => onFilters({ ...filters, level: e.target.value as LevelFilter })} className="rounded-md border border-slate-300 px-2 py-1 text-sm">
        <option value="all">All levels</option>
        <option value="warn">Warnings and errors</option>
        <option value="error">Errors</option>
      </select>
      {live && (
        <select
          aria-label="Follow a pod's log"
          value=""
          onChange={(e) => {
            if (e.target.value) followPod(e.target.value, true);
          }}
          className="rounded-md border border-slate-300 px-2 py-1 text-sm"
        >
          <option value="">Follow a pod…</option>
          {(pods ?? [])
            .filter((pod) => !following.includes(pod.name))
            .map((pod) => (
              <option key={pod.name} value={pod.name}>
                {pod.name} ({pod.ready ? "ready" : pod.phase.toLowerCase()})
              </option>
            ))}
        </select>
      )}
      <input type="search" aria-label="Search the log" placeholder="Search" value={search} onChange={(e) => onFilters({ ...filters, search: e.target.value })} className="rounded-md border border-slate-300 px-2 py-1 text-sm" />
      <button type="button" className="text-sky-700 hover:underline" onClick={download}>
        Download
      </button>
    </div>
  );
}

export function FollowedPods({ following, followError, followPod }: { following: string[]; followError: string | null; followPod(pod: string, follow: boolean): void }) {
  if (following.length === 0 && !followError) return null;
  return (
    <div className="mb-2 flex flex-wrap items-center gap-2 text-xs">
      {following.map((pod) => (
        <span key={pod} className="inline-flex items-center gap-1 rounded-full bg-violet-100 px-2 py-0.5 font-medium text-violet-800">
          {pod}
          <button type="button" aria-label={`Stop following ${pod}`} onClick={() => followPod(pod, false)} className="hover:text-violet-950">
            ✕
          </button>
        </span>
      ))}
      {followError && <span className="text-rose-700">{followError}</span>}
    </div>
  );
}

export function LineText({ text }: { text: string }) {
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

const LEVEL_TONE: Record<LogLineView["level"], string> = { info: "text-slate-200", warn: "text-amber-300", error: "text-rose-300" };

/** One log line: its time, source and text; `rowPx` high when rows are virtualised, wrapping whole when `wrap`. */
export function LogRow({ line, wrap, rowPx }: { line: LogLineView; wrap: boolean; rowPx: number }) {
  return (
    <div
      data-seq={line.seq}
      data-source={line.source}
      data-level={line.level}
      style={wrap ? { lineHeight: `${rowPx}px` } : { height: rowPx, lineHeight: `${rowPx}px` }}
      className={`${wrap ? "whitespace-pre-wrap break-all" : "whitespace-pre"} ${LEVEL_TONE[line.level]}`}
    >
      <span className="text-slate-500">{line.time.slice(11, 19)} </span>
      <span className="text-sky-400">{line.source.padEnd(8)}</span>
      <LineText text={line.text} />
    </div>
  );
}
