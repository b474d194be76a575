/**
 * A typed Socket.IO client for the helper, shared by the CLI (Node) and the dashboard
 * (browser). No Node or DOM imports.
 */
import { io, type Socket } from "socket.io-client";
import {
  commandTimeoutMs,
  HELPER_NAMESPACE,
  TOKEN_AUTH_FIELD,
  type ClientToServerEvents,
  type CommandInput,
  type CommandName,
  type CommandOutputs,
  type Result,
  type ServerToClientEvents,
} from "../protocol/index.ts";

export type HelperSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface HelperSocketOptions {
  /** `http://127.0.0.1:4301` */
  url: string;
  token: string;
  /** Reconnect by itself (dashboard) or fail fast (CLI). */
  reconnection: boolean;
  /** Extra handshake headers (Node only; tests use them to play a foreign Origin or Host). */
  extraHeaders?: Record<string, string>;
}

export function createHelperSocket(options: HelperSocketOptions): HelperSocket {
  return io(`${options.url}${HELPER_NAMESPACE}`, {
    auth: { [TOKEN_AUTH_FIELD]: options.token },
    transports: ["websocket"],
    reconnection: options.reconnection,
    reconnectionDelay: 250,
    reconnectionDelayMax: 1500,
    timeout: 5000,
    extraHeaders: options.extraHeaders,
    autoConnect: true,
  });
}

/** Sends a command and waits for its Result; a timeout becomes an error Result. */
export async function sendCommand<C extends CommandName>(
  socket: HelperSocket,
  command: C,
  input: CommandInput<C>,
  timeoutMs = commandTimeoutMs(command),
): Promise<Result<CommandOutputs[C]>> {
  // socket.io's typings cannot follow a generic event name through emitWithAck; the
  // contract types above pin the shapes instead.
  const withTimeout = socket.timeout(timeoutMs) as unknown as {
    emitWithAck(event: C, payload: CommandInput<C>): Promise<Result<CommandOutputs[C]>>;
  };
  try {
    return await withTimeout.emitWithAck(command, input);
  } catch (error) {
    const timedOut = error instanceof Error && /timed? ?out/i.test(error.message);
    return {
      ok: false,
      error: {
        code: timedOut ? "helper-timeout" : "helper-unreachable",
        category: "internal",
        message: timedOut
          ? `The helper did not answer ${command} within ${timeoutMs / 1000} s.`
          : `Sending ${command} to the helper failed: ${error instanceof Error ? error.message : String(error)}`,
        hint: "Check that the helper is running (kbridge status) and see its log in the kbridge home.",
      },
    };
  }
}
