/**
 * Who may talk to the helper:
 * - `allowRequest` (Engine.IO, at the handshake) and `checkEveryRequest` (an Engine.IO
 *   middleware: every later polling request and the WebSocket upgrade too, since a page that
 *   learned a session id could otherwise use it): the Host header must name the helper's
 *   loopback address (DNS rebinding), and an Origin, when present, must be the dashboard's.
 * - `requireToken` (Socket.IO middleware): the per-install token from the kbridge home.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ExtendedError, Socket } from "socket.io";
import { isAllowedOrigin, isLoopbackHost, TOKEN_AUTH_FIELD } from "../protocol/index.ts";
import type { Logger } from "../logs/logger.ts";

export interface AccessPolicy {
  token: string;
  /** The port the helper actually listens on (Host must match it). */
  helperPort: () => number;
  dashboardPort: number;
}

/** Why the request may not reach the helper, or null. */
function refusal(policy: AccessPolicy, log: Logger, req: IncomingMessage): string | null {
  const host = req.headers.host;
  const origin = req.headers.origin;
  if (!isLoopbackHost(host, policy.helperPort())) {
    log.warn({ host, url: req.url }, "refused a request with a foreign Host header");
    return `Host ${host ?? "(none)"} is not this helper's loopback address`;
  }
  if (!isAllowedOrigin(origin, policy.dashboardPort)) {
    log.warn({ origin, url: req.url }, "refused a request from a foreign Origin");
    return `Origin ${origin} is not the kbridge dashboard`;
  }
  return null;
}

export function allowRequest(policy: AccessPolicy, log: Logger) {
  return (req: IncomingMessage, callback: (err: string | null | undefined, success: boolean) => void): void => {
    const why = refusal(policy, log, req);
    callback(why, why === null);
  };
}

/** Engine.IO middleware: the same checks on every request of a session, not only its first. */
export function checkEveryRequest(policy: AccessPolicy, log: Logger) {
  return (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void => {
    const why = refusal(policy, log, req);
    if (why === null) return next();
    res.writeHead(403, { "content-type": "text/plain" });
    res.end(`kbridge helper: ${why}\n`);
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
