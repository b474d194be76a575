/** Kubernetes `Status` errors: every failure the API server answers is one of these. */

export type StatusReason =
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Invalid"
  | "BadRequest"
  | "Forbidden"
  | "Unauthorized"
  | "MethodNotAllowed"
  | "UnsupportedMediaType"
  | "Expired"
  | "Gone"
  | "TooManyRequests"
  | "ServiceUnavailable"
  | "InternalError";

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: { name?: string; kind?: string; group?: string; retryAfterSeconds?: number; causes?: { reason: string; message: string; field: string }[] },
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

export const notFound = (plural: string, name: string, group = "") =>
  new ApiError(404, "NotFound", `${plural}${group ? `.${group}` : ""} "${name}" not found`, { name, kind: plural, ...(group ? { group } : {}) });

export const alreadyExists = (plural: string, name: string, group = "") =>
  new ApiError(409, "AlreadyExists", `${plural}${group ? `.${group}` : ""} "${name}" already exists`, { name, kind: plural, ...(group ? { group } : {}) });

export const conflict = (plural: string, name: string) =>
  new ApiError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, kind: plural },
  );

export const badRequest = (message: string) => new ApiError(400, "BadRequest", message);
export const invalid = (kind: string, name: string, message: string) => new ApiError(422, "Invalid", `${kind} "${name}" is invalid: ${message}`, { name, kind });
