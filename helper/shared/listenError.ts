import { describePortOwner } from "./portOwner.ts";
import { KbridgeError } from "../protocol/index.ts";

/** Turns a listen() failure into an error that names the port, who holds it, and the way out. */
export function listenError(error: unknown, what: string, port: number, envVar: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "EADDRINUSE") {
    return new KbridgeError(
      {
        code: "port-in-use",
        category: "user",
        message: `The ${what} cannot listen on 127.0.0.1:${port}: the port is in use by ${describePortOwner(port)}.`,
        hint: `Stop that process, or choose another port with ${envVar}=<port>.`,
      },
      { cause: error },
    );
  }
  if (code === "EACCES") {
    return new KbridgeError(
      {
        code: "port-forbidden",
        category: "privilege",
        message: `The ${what} may not listen on 127.0.0.1:${port} (permission denied).`,
        hint: `Choose a port above 1024 with ${envVar}=<port>.`,
      },
      { cause: error },
    );
  }
  return error;
}
