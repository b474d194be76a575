"use client";

import { useEffect, useState } from "react";
import { useHelper } from "./HelperContext.tsx";

/** How often a page reads again when the helper cannot watch the place (it may not list kbridge's objects there). */
const FALLBACK_POLL_MS = 5_000;

/**
 * A number that grows whenever kbridge's objects in the place change, for pages to read
 * again on: the helper watches the cluster and tells this client (its `cluster:changed`
 * room). Where it cannot watch, the number grows every few seconds instead. It is 0 until the
 * watch of this place has answered: a page reads first then, once, missing no change.
 */
export function useClusterChanges(kubeContext: string, namespace: string): number {
  const { state, status, send, subscribe } = useHelper();
  // Counted per place, so that another place starts at 0 again.
  const [seen, setSeen] = useState<{ key: string; version: number; watching: boolean }>({ key: "", version: 0, watching: false });
  const connected = state === "connected";
  const bootId = status?.bootId;
  const key = kubeContext && namespace ? JSON.stringify({ kubeContext, namespace }) : "";
  const current = seen.key === key ? seen : { key, version: 0, watching: false };

  useEffect(() => {
    if (!connected || key === "") return;
    const asked = JSON.parse(key) as { kubeContext: string; namespace: string };
    let live = true;
    const bump = (watching?: boolean) => setSeen((s) => (s.key === key ? { key, version: s.version + 1, watching: watching ?? s.watching } : { key, version: 1, watching: watching ?? false }));
    const unsubscribe = subscribe("cluster:changed", (changed) => {
      if (live && changed.kubeContext === asked.kubeContext && changed.namespace === asked.namespace) bump();
    });
    void send("cluster:watch", asked).then((reply) => {
      if (live) bump(reply.ok && reply.data.unwatched.length === 0);
    });
    return () => {
      live = false;
      unsubscribe();
      void send("cluster:unwatch", asked);
    };
  }, [connected, bootId, key, send, subscribe]);

  const polling = current.version > 0 && !current.watching;
  useEffect(() => {
    if (!polling) return;
    const timer = setInterval(() => setSeen((s) => (s.key === key ? { ...s, version: s.version + 1 } : s)), FALLBACK_POLL_MS);
    return () => clearInterval(timer);
  }, [polling, key]);

  return current.version;
}
