/**
 * Where the dashboard and helper listen, and which Host/Origin headers they accept. Both
 * bind 127.0.0.1 only; the header checks defeat DNS rebinding (a foreign name resolving to
 * 127.0.0.1 still sends its own Host) and cross-site requests (a foreign Origin).
 */
export const DEFAULT_DASHBOARD_PORT = 4300;
export const DEFAULT_HELPER_PORT = 4301;
export const BIND_ADDRESS = "127.0.0.1";

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];

/** `Host` values that name this machine's loopback on `port`. */
export function loopbackHosts(port: number): string[] {
  return LOOPBACK_NAMES.map((name) => `${name}:${port}`);
}

/** Origins of the dashboard pages that may talk to the helper and post to the dashboard. */
export function dashboardOrigins(dashboardPort: number): string[] {
  return loopbackHosts(dashboardPort).map((host) => `http://${host}`);
}

/** True when a request's Host header names the loopback address and port it arrived on. */
export function isLoopbackHost(host: string | undefined, port: number): boolean {
  return host !== undefined && loopbackHosts(port).includes(host.toLowerCase());
}

/**
 * True when a request may proceed given its Origin header: absent (a non-browser client,
 * or a same-origin GET) or one of the dashboard's own origins. `null` (sandboxed frames,
 * file: pages) is refused.
 */
export function isAllowedOrigin(origin: string | undefined, dashboardPort: number): boolean {
  return origin === undefined || dashboardOrigins(dashboardPort).includes(origin.toLowerCase());
}
