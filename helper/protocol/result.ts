/**
 * Result<T> is what every command acknowledges with, and what every dashboard server action
 * returns: nothing throws across the socket or out of an action.
 */
import { z } from "zod";

/** Who has to act on an error (Telepresence's errcat): only `internal` hides its message. */
export const errorCategories = ["user", "config", "cluster", "privilege", "internal"] as const;
export type ErrorCategory = (typeof errorCategories)[number];

export const errorInfoSchema = z.object({
  code: z.string(),
  category: z.enum(errorCategories),
  /** What failed and why, in a sentence a user can act on. */
  message: z.string(),
  /** What to do next. */
  hint: z.string().optional(),
  /** Per-field messages for form input (field path → message). */
  fields: z.record(z.string(), z.string()).optional(),
  /** Correlates an internal error with the helper log. */
  logId: z.string().optional(),
});
export type ErrorInfo = z.infer<typeof errorInfoSchema>;

export type Result<T> = { ok: true; data: T } | { ok: false; error: ErrorInfo };

export function ok<T>(data: T): Result<T> {
  return { ok: true, data };
}

export function fail<T = never>(error: ErrorInfo): Result<T> {
  return { ok: false, error };
}

/** An error a module throws on purpose: its message is fit for the user. */
export class KbridgeError extends Error {
  readonly info: ErrorInfo;
  constructor(info: ErrorInfo, options?: { cause?: unknown }) {
    super(info.message, options);
    this.name = "KbridgeError";
    this.info = info;
  }
}

/** Zod issues → the `fields` map of an ErrorInfo, keyed by dotted path ("portMappings.0.servicePort"). */
export function fieldErrors(error: z.ZodError): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = issue.path.map(String).join(".") || "_";
    fields[key] ??= issue.message;
  }
  return fields;
}

export function invalidInput(error: z.ZodError, what: string): ErrorInfo {
  const fields = fieldErrors(error);
  const first = Object.entries(fields)[0];
  return {
    code: "invalid-input",
    category: "user",
    message: first ? `Invalid ${what}: ${first[0] === "_" ? "" : `${first[0]}: `}${first[1]}` : `Invalid ${what}.`,
    fields,
  };
}

/** "message\n  hint" for terminals: what failed and what to do, for a KbridgeError or any error. */
export function errorText(error: unknown): string {
  if (error instanceof KbridgeError) return error.info.hint ? `${error.message}\n  ${error.info.hint}` : error.message;
  return error instanceof Error ? error.message : String(error);
}
