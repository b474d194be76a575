"use client";

/** A session's log lines in a store outside React: what was missed on every (re)connect (which joins the session's room), then each batch as it is sent. */
import { useEffect, useMemo, useSyncExternalStore } from "react";
import { useHelper } from "../../../lib/client/HelperContext.tsx";
import { LogStore } from "../../../lib/client/logStore.ts";

export function useSessionLog(sessionId: string): { store: LogStore; version: number } {
  const helper = useHelper();
  const store = useMemo(() => new LogStore(), []);
  const version = useSyncExternalStore(
    (listener) => store.subscribe(listener),
    () => store.version,
    () => 0,
  );
  useEffect(() => helper.subscribe("session:logged", (batch) => batch.sessionId === sessionId && store.add(batch.lines)), [helper, sessionId, store]);
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
  return { store, version };
}
