/**
 * Who may talk to the helper. Two gates, both at the handshake:
 * - `allowRequest` (Engine.IO, before any upgrade): the Host header must name the helper's
 *   loopback address (DNS rebinding), and an Origin, when present, must be the dashboard's.
 * - `requireToken` (Socket.IO middleware): the per-install token from the kbridge home.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { ExtendedError, Socket } from "socket.io";
import { isAllowedOrigin, isLoopbackHost, TOKEN_AUTH_FIELD } from "../protocol/index.ts";
import type { Logger } from "../logs/logger.ts";

export interface AccessPolicy {
  token: string;
  /** The port the helper actually listens on (Host must match it). */
  helperPort: () => number;
  dashboardPort: number;
}

export function allowRequest(policy: AccessPolicy, log: Logger) {
  return (req: IncomingMessage, callback: (err: string | null | undefined, success: boolean) => void): void => {
    const host = req.headers.host;
    const origin = req.headers.origin;
    if (!isLoopbackHost(host, policy.helperPort())) {
      log.warn({ host }, "refused a handshake with a foreign Host header");
      callback(`Host ${host ?? "(none)"} is not this helper's loopback address`, false);
      return;
    }
    if (!isAllowedOrigin(origin, policy.dashboardPort)) {
      log.warn({ origin }, "refused a handshake from a foreign Origin");
      callback(`Origin ${origin} is not the kbridge dashboard`, false);
      return;
    }
    callback(null, true);
  };
}

export function requireToken(policy: AccessPolicy, log: Logger) {
  const expected = Buffer.from(policy.token);
  return (socket: Socket, next: (err?: ExtendedError) => void): void => {
    const offered: unknown = socket.handshake.auth?.[TOKEN_AUTH_FIELD];
    const given = typeof offered === "string" ? Buffer.from(offered) : Buffer.alloc(0);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      log.warn({ address: socket.handshake.address }, "refused a connection without the helper token");
      next(new Error("kbridge helper: missing or wrong token (it is in the kbridge home's helper-token file)"));
      return;
    }
    socket.data.client = socket.handshake.headers.origin === undefined ? "cli" : "dashboard";
    next();
  };
}
