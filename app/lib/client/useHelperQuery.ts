"use client";

import { useEffect, useState } from "react";
import type { CommandInput, CommandName, CommandOutputs, ErrorInfo } from "../../../helper/protocol/index.ts";
import { useHelper } from "./HelperContext.tsx";

export type QueryState<T> =
  | { kind: "idle" }
  | { kind: "waiting" }
  | { kind: "loaded"; data: T }
  | { kind: "failed"; error: ErrorInfo };

/**
 * Asks the helper `command` with `input`, again whenever the input changes, the helper
 * (re)connects or `refreshKey` changes; `input: null` asks nothing (a field not yet chosen).
 * While a new answer is on its way the previous one stays, so pickers do not flicker.
 */
export function useHelperQuery<C extends CommandName>(command: C, input: CommandInput<C> | null, refreshKey = 0): QueryState<CommandOutputs[C]> {
  const { state, status, send } = useHelper();
  const [result, setResult] = useState<{ key: string; state: QueryState<CommandOutputs[C]> } | null>(null);
  const key = input === null ? "" : JSON.stringify(input);
  const bootId = status?.bootId;
  const connected = state === "connected";
  useEffect(() => {
    if (!connected || key === "") return;
    let cancelled = false;
    void send(command, JSON.parse(key) as CommandInput<C>).then((reply) => {
      if (!cancelled) setResult({ key, state: reply.ok ? { kind: "loaded", data: reply.data } : { kind: "failed", error: reply.error } });
    });
    return () => {
      cancelled = true;
    };
  }, [connected, bootId, send, command, key, refreshKey]);
  if (key === "") return { kind: "idle" };
  if (!result) return { kind: "waiting" };
  // An answer for other input counts only as "waiting" (its data would describe something else).
  return result.key === key ? result.state : { kind: "waiting" };
}

/** The kubeconfig's contexts, fetched from the helper whenever it (re)connects. */
export const useKubeContexts = () => useHelperQuery("kube:listContexts", {});
