/**
 * The names kbridge gives a session's objects, and the labels that find them
 * (helper/agent/names.mjs holds the names shared with what runs in the cluster).
 */
import {
  agentConfigMapName,
  EXPIRES_ANNOTATION,
  HEARTBEAT_ANNOTATION,
  MANAGED_BY_KEY,
  MANAGED_BY_VALUE,
  MANAGED_SELECTOR,
  ORIGINAL_ANNOTATION,
  OWNER_ANNOTATION,
  OWNER_LABEL,
  REPLACES_ANNOTATION,
  RESTORER_STATUS_ANNOTATION,
  restorerName,
  ROLE_LABEL,
  savedOriginalName,
  SESSION_LABEL,
} from "../agent/names.mjs";

export { EXPIRES_ANNOTATION, HEARTBEAT_ANNOTATION, MANAGED_SELECTOR, ORIGINAL_ANNOTATION, OWNER_ANNOTATION, OWNER_LABEL, REPLACES_ANNOTATION, RESTORER_STATUS_ANNOTATION, ROLE_LABEL, savedOriginalName, SESSION_LABEL };
export const MANAGED_BY = { [MANAGED_BY_KEY]: MANAGED_BY_VALUE } as const;
/** Selects the agent pods of a session (not its restorer). */
export const agentPods = (sessionId: string) => `${SESSION_LABEL}=${sessionId},${ROLE_LABEL}=agent`;
export interface SessionIdentity {
  id: string;
  /** Who runs the session (user@host), DNS-label safe once sanitised. */
  owner: string;
  expiresAt: Date;
}

export function labelsFor(session: SessionIdentity): Record<string, string> {
  return { ...MANAGED_BY, [SESSION_LABEL]: session.id, [OWNER_LABEL]: session.owner.replace(/[^A-Za-z0-9._-]/g, ".").slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "") };
}

export const sessionObjectNames = (session: Pick<SessionIdentity, "id">) => ({ original: savedOriginalName(session.id), agent: agentConfigMapName(session.id), restorer: restorerName(session.id), pod: `kbridge-${session.id}-pod` });

