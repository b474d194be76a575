"use client";

import { useEffect, useState } from "react";
import { useHelper } from "./HelperContext.tsx";

/** How often a page reads again when the helper cannot watch the place (it may not list kbridge's objects there). */
const FALLBACK_POLL_MS = 5_000;

/**
 * A number that grows whenever kbridge's objects in the place change, for pages to read
 * again on: the helper watches the cluster and tells this client (its `cluster:changed`
 * room). Where it cannot watch, the number grows every few seconds instead.
 */
export function useClusterChanges(kubeContext: string, namespace: string): { version: number; watching: boolean } {
  const { state, status, send, subscribe } = useHelper();
  const [version, setVersion] = useState(0);
  const [watching, setWatching] = useState<boolean | null>(null);
  const connected = state === "connected";
  const bootId = status?.bootId;
  const place = kubeContext && namespace ? { kubeContext, namespace } : null;
  const key = place ? JSON.stringify(place) : "";

  useEffect(() => {
    if (!connected || key === "") return;
    const asked = JSON.parse(key) as { kubeContext: string; namespace: string };
    let current = true;
    const unsubscribe = subscribe("cluster:changed", (changed) => {
      if (current && changed.kubeContext === asked.kubeContext && changed.namespace === asked.namespace) setVersion((n) => n + 1);
    });
    void send("cluster:watch", asked).then((reply) => {
      if (!current) return;
      setWatching(reply.ok && reply.data.unwatched.length === 0);
      // Anything that changed before the watch began is read now.
      setVersion((n) => n + 1);
    });
    return () => {
      current = false;
      unsubscribe();
      setWatching(null);
      void send("cluster:unwatch", asked);
    };
  }, [connected, bootId, key, send, subscribe]);

  useEffect(() => {
    if (watching !== false) return;
    const timer = setInterval(() => setVersion((n) => n + 1), FALLBACK_POLL_MS);
    return () => clearInterval(timer);
  }, [watching]);

  return { version, watching: watching === true };
}
