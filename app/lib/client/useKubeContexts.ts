"use client";

import { useEffect, useState } from "react";
import type { ErrorInfo, KubeContextList } from "../../../helper/protocol/index.ts";
import { useHelper } from "./HelperContext.tsx";

export type KubeContextsState =
  | { kind: "waiting" }
  | { kind: "loaded"; list: KubeContextList }
  | { kind: "failed"; error: ErrorInfo };

/** The kubeconfig's contexts, fetched from the helper whenever it (re)connects. */
export function useKubeContexts(): KubeContextsState {
  const { state, status, send } = useHelper();
  const [result, setResult] = useState<KubeContextsState>({ kind: "waiting" });
  const bootId = status?.bootId;
  useEffect(() => {
    if (state !== "connected") return;
    let cancelled = false;
    void send("kube:listContexts", {}).then((reply) => {
      if (!cancelled) setResult(reply.ok ? { kind: "loaded", list: reply.data } : { kind: "failed", error: reply.error });
    });
    return () => {
      cancelled = true;
    };
  }, [state, bootId, send]);
  return result;
}
