/** Types for restore.mjs (plain JavaScript: the restorer runs it on the stock node image). */

/** One request to the API server; rejects on a transport failure or a timeout (`timeoutMs`: shorter than the connection's). */
export type ApiRequest = (method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", path: string, body?: unknown, options?: { timeoutMs?: number }) => Promise<{ status: number; body: unknown }>;

export declare class RestoreError extends Error {
  constructor(info: { code: string; message: string; hint?: string; retryable?: boolean });
  readonly code: string;
  readonly hint?: string;
  /** Whether trying again later can help (false: a person has to act). */
  readonly retryable: boolean;
}

/** Container states that do not pass by waiting (a pod showing one will not start by itself). */
export declare const STUCK_REASONS: ReadonlySet<string>;

export interface RestoreOptions {
  api: ApiRequest;
  namespace: string;
  session: string;
  /** The workload the session targets: with the Secret gone, tells "restored already" from "original lost". */
  workload?: { kind: "Deployment" | "StatefulSet" | "Pod"; name: string };
  /** The restorer's own pod, deleted last. */
  self?: string;
  log?(message: string, fields?: Record<string, unknown>): void;
  /** Where the restore stands, in a few words ("waiting for deployment/api's rollout: …"). */
  progress?(text: string): void;
  verifyTimeoutMs?: number;
  sleep?(ms: number): Promise<void>;
  backoffMs?: number;
}

export interface RestoreResult {
  /** The workload put back (`deployment/api`), when this restore put it back. */
  restored?: string;
  /** Services given their selectors back (the namespace's last isolation session). */
  unrouted: string[];
  /** The session's Secret was gone already (restored before, by someone else). */
  gone?: true;
}

export declare function restoreSession(options: RestoreOptions): Promise<RestoreResult>;
export declare function unrouteIfIdle(options: Omit<RestoreOptions, "workload" | "self" | "session"> & { session?: string }): Promise<string[]>;
export declare function claimOf(workload: { metadata?: { annotations?: Record<string, string> }; spec?: unknown } | undefined | null): string | undefined;
