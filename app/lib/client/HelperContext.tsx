"use client";

/**
 * The dashboard's one connection to the helper. It reconnects by itself; components read
 * the connection state, the helper's status, and send commands through `useHelper()`.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { createHelperSocket, sendCommand, type HelperSocket } from "../../../helper/client/helperSocket.ts";
import type { CommandInput, CommandName, CommandOutputs, HelperStatus, Result, ServerToClientEvents } from "../../../helper/protocol/index.ts";

/**
 * - connecting: first attempt in progress
 * - connected: handshake done, status received
 * - reconnecting: was connected, lost it, trying again
 * - down: no helper answers at the address (not running)
 * - refused: the helper answered but refused us (token or origin)
 */
export type HelperConnectionState = "connecting" | "connected" | "reconnecting" | "down" | "refused";

export interface HelperContextValue {
  state: HelperConnectionState;
  status: HelperStatus | null;
  url: string;
  /** Why the last attempt failed, when it did. */
  lastError: string | null;
  send<C extends CommandName>(command: C, input: CommandInput<C>): Promise<Result<CommandOutputs[C]>>;
  /** Listens to a helper event (across reconnects); returns the unsubscribe. */
  subscribe<E extends keyof ServerToClientEvents>(event: E, handler: ServerToClientEvents[E]): () => void;
}

const HelperContext = createContext<HelperContextValue | null>(null);

type Listener = (...args: unknown[]) => void;

/** Attempts that fail in a row before the helper counts as not running. */
const DOWN_AFTER_FAILURES = 2;

export function HelperProvider({ url, token, children }: { url: string; token: string; children: ReactNode }) {
  const socketRef = useRef<HelperSocket | null>(null);
  // Event listeners live here, not on the socket: children subscribe before this effect creates it.
  const listeners = useRef(new Map<string, Set<Listener>>());
  const [state, setState] = useState<HelperConnectionState>("connecting");
  const [status, setStatus] = useState<HelperStatus | null>(null);
  const [lastError, setLastError] = useState<string | null>(null);

  useEffect(() => {
    const helper = createHelperSocket({ url, token, reconnection: true });
    let everConnected = false;
    let failures = 0;
    helper.on("helper:status", (next) => {
      everConnected = true;
      failures = 0;
      setStatus(next);
      setLastError(null);
      setState("connected");
    });
    helper.on("disconnect", () => setState("reconnecting"));
    helper.onAny((event: string, ...args: unknown[]) => {
      for (const listener of listeners.current.get(event) ?? []) listener(...args);
    });
    helper.on("connect_error", (error) => {
      failures += 1;
      setLastError(error.message);
      // A refusal by the helper's middleware is final: socket.io does not retry it.
      if (!helper.active) setState("refused");
      else if (failures >= DOWN_AFTER_FAILURES) setState("down");
      else setState(everConnected ? "reconnecting" : "connecting");
    });
    socketRef.current = helper;
    return () => {
      socketRef.current = null;
      helper.removeAllListeners();
      helper.close();
    };
  }, [url, token]);

  // Stable across renders (they read refs): effects that depend on them run when their own inputs change, not on every status change.
  const send = useCallback<HelperContextValue["send"]>(async (command, input) => {
    const socket = socketRef.current;
    if (!socket || !socket.connected) {
      return {
        ok: false,
        error: { code: "helper-not-connected", category: "user", message: "The helper is not connected.", hint: "Start it with `npm start`; the dashboard reconnects by itself." },
      };
    }
    return sendCommand(socket, command, input);
  }, []);
  const subscribe = useCallback<HelperContextValue["subscribe"]>((event, handler) => {
    const set = listeners.current.get(event) ?? new Set();
    set.add(handler as Listener);
    listeners.current.set(event, set);
    return () => void set.delete(handler as Listener);
  }, []);
  const value = useMemo<HelperContextValue>(() => ({ state, status, url, lastError, send, subscribe }), [state, status, url, lastError, send, subscribe]);
  return <HelperContext.Provider value={value}>{children}</HelperContext.Provider>;
}

export function useHelper(): HelperContextValue {
  const value = useContext(HelperContext);
  if (!value) throw new Error("useHelper() used outside <HelperProvider>");
  return value;
}
