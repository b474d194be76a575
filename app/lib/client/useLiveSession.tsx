"use client";

import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import type { SessionView } from "../../../helper/protocol/index.ts";
import { useHelper } from "./HelperContext.tsx";

export const isLive = (view: SessionView) => view.state !== "ended" && view.state !== "failed";

const SessionsContext = createContext<SessionView[]>([]);

/**
 * The helper's sessions for every component of the dashboard (sidebar, profile lists, Connect
 * buttons): listed once whenever the helper (re)connects, then kept current from
 * `session:updated` — one list, not one per component.
 */
export function SessionsProvider({ children }: { children: ReactNode }) {
  const { state, status, send, subscribe } = useHelper();
  const [sessions, setSessions] = useState<Map<string, SessionView>>(new Map());
  const bootId = status?.bootId;
  useEffect(() => {
    if (state !== "connected") return;
    let cancelled = false;
    void send("session:list", {}).then((listed) => {
      if (!cancelled && listed.ok) setSessions(new Map(listed.data.map((v) => [v.id, v])));
    });
    return () => {
      cancelled = true;
    };
  }, [state, bootId, send]);
  useEffect(() => subscribe("session:updated", (view) => setSessions((current) => new Map(current).set(view.id, view))), [subscribe]);
  const list = [...sessions.values()].sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  return <SessionsContext.Provider value={list}>{children}</SessionsContext.Provider>;
}

/** The helper's live (or interrupted) sessions, newest first. */
export function useLiveSessions(): SessionView[] {
  return useContext(SessionsContext).filter(isLive);
}

/**
 * The helper's live (or interrupted) session of a profile — started from it, or (from the CLI,
 * which knows no profiles) on the same target; null when it has none.
 */
export function useLiveSession(profile: { id: number; kubeContext: string; namespace: string; targetKind: string; targetName: string }): SessionView | null {
  const sameTarget = (view: SessionView) => view.profileId === undefined && view.target.context === profile.kubeContext && view.target.namespace === profile.namespace && view.target.kind === profile.targetKind && view.target.name === profile.targetName;
  return useLiveSessions().find((view) => view.profileId === profile.id || sameTarget(view)) ?? null;
}
