"use client";

import { useEffect, useState } from "react";
import type { SessionView } from "../../../helper/protocol/index.ts";
import { useHelper } from "./HelperContext.tsx";

const isLive = (view: SessionView) => view.state !== "ended" && view.state !== "failed";

/** The helper's live (or interrupted) session of a profile, kept current as sessions change; null when it has none. */
export function useLiveSession(profileId: number): SessionView | null {
  const { state, status, send, subscribe } = useHelper();
  const [sessions, setSessions] = useState<Map<string, SessionView>>(new Map());
  const bootId = status?.bootId;
  useEffect(() => {
    if (state !== "connected") return;
    let cancelled = false;
    void send("session:list", {}).then((listed) => {
      if (!cancelled && listed.ok) setSessions(new Map(listed.data.filter((v) => v.profileId === profileId).map((v) => [v.id, v])));
    });
    return () => {
      cancelled = true;
    };
  }, [state, bootId, send, profileId]);
  useEffect(
    () =>
      subscribe("session:updated", (view) => {
        if (view.profileId === profileId) setSessions((current) => new Map(current).set(view.id, view));
      }),
    [subscribe, profileId],
  );
  return [...sessions.values()].filter(isLive).sort((a, b) => b.startedAt.localeCompare(a.startedAt))[0] ?? null;
}
