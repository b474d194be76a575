/** Connects the CLI to a running helper, with errors that say what to do when it is not there. */
import { KbridgeError, type HelperStatus } from "../protocol/index.ts";
import { createHelperSocket, type HelperSocket } from "../client/helperSocket.ts";
import { kbridgeHome, readToken, type Env } from "../shared/kbridgeHome.ts";
import { helperUrl } from "../shared/portFromEnv.ts";

export interface CliConnection {
  socket: HelperSocket;
  status: HelperStatus;
  url: string;
}

const NOT_RUNNING_HINT = "Start kbridge with `npm start` (dashboard and helper), or the helper alone with `npx kbridge helper`.";

export async function connectToHelper(env: Env = process.env, timeoutMs = 5000): Promise<CliConnection> {
  const home = kbridgeHome(env);
  const url = helperUrl(env);
  const token = readToken(home);
  if (token === null) {
    throw new KbridgeError({
      code: "helper-not-running",
      category: "user",
      message: `The kbridge helper has never run with the home ${home.root} (no token there).`,
      hint: NOT_RUNNING_HINT,
    });
  }
  const socket = createHelperSocket({ url, token, reconnection: false });
  try {
    const status = await new Promise<HelperStatus>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
      socket.once("helper:status", (value) => {
        clearTimeout(timer);
        resolve(value);
      });
      socket.once("connect_error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    return { socket, status, url };
  } catch (cause) {
    socket.close();
    const refused = /xhr poll error|websocket error|ECONNREFUSED/i.test((cause as Error).message);
    throw new KbridgeError(
      {
        code: refused ? "helper-not-running" : "helper-unreachable",
        category: "user",
        message: refused
          ? `The kbridge helper is not running on ${url}.`
          : `The kbridge helper on ${url} refused the connection: ${(cause as Error).message}`,
        hint: refused ? NOT_RUNNING_HINT : "Check KBRIDGE_HOME and KBRIDGE_HELPER_PORT match the running helper's.",
      },
      { cause },
    );
  }
}
