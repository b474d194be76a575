import { BIND_ADDRESS, DEFAULT_HELPER_PORT, KbridgeError } from "../protocol/index.ts";
import type { Env } from "./kbridgeHome.ts";

/** A port from an environment variable, or the default; a clear error for anything else. */
export function portFromEnv(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new KbridgeError({
      code: "invalid-port",
      category: "config",
      message: `${name}=${raw} is not a port number.`,
      hint: `Set ${name} to a number between 1 and 65535, or unset it to use ${fallback}.`,
    });
  }
  return port;
}

/** Where the helper listens, as clients (CLI, dashboard server, browser) reach it. */
export function helperUrl(env: Env): string {
  return `http://${BIND_ADDRESS}:${portFromEnv(env, "KBRIDGE_HELPER_PORT", DEFAULT_HELPER_PORT)}`;
}
