/**
 * The helper's side of a session's liveness: it changes a value on the session's Secret that
 * the restorer watches (helper/agent/deadman.mjs). The value says nothing but that it changed
 * — never a time of the workstation's clock.
 */
import { randomBytes } from "node:crypto";
import { renewHeartbeat } from "../k8s/sessionObjects.ts";
import type { ClusterConnection } from "../k8s/clusterConnection.ts";
import type { Logger } from "../logs/logger.ts";
import type { SessionCallbacks, SessionPlan } from "./sessionPlan.ts";

export interface Heartbeat {
  /** From now on, a session found gone calls onLost. */
  arm(onLost: () => void): void;
  /** A new heartbeat value (each renewal writes one the restorer has not seen). */
  next(): string;
  stop(): void;
}

/**
 * The restorer's heartbeat: a value changed three times per dead-man interval, one renewal at
 * a time, each bounded by that interval. One that fails is tried again within 2 s, so that
 * after an outage the restorer sees a change long before its interval runs out; the outage
 * is reported as it starts and as it ends.
 */
export function startHeartbeat(connection: ClusterConnection, plan: Pick<SessionPlan, "id" | "target" | "deadmanSeconds">, log: Logger, onUnreachable?: SessionCallbacks["onClusterUnreachable"]): Heartbeat {
  const intervalMs = Math.round((plan.deadmanSeconds * 1000) / 3);
  const prefix = randomBytes(3).toString("hex");
  let count = 0;
  let lost: (() => void) | undefined;
  let stopped = false;
  let outage: { since: Date; error: string } | undefined;
  let timer: NodeJS.Timeout | undefined;
  const next = () => `${prefix}.${++count}`;
  const beat = async () => {
    let wait = intervalMs;
    try {
      const alive = await renewHeartbeat(connection, plan.target.namespace, plan.id, next(), Math.min(connection.timeoutMs, intervalMs));
      if (outage) {
        log.info({ unreachableForMs: Date.now() - outage.since.getTime() }, "the cluster answers again; heartbeat renewed");
        outage = undefined;
        if (!stopped) onUnreachable?.(null);
      }
      if (!alive && lost && !stopped) {
        log.warn("the session's objects are gone from the cluster (restored by its restorer, or cleaned)");
        stopped = true;
        lost();
        return;
      }
    } catch (error) {
      wait = Math.min(2000, intervalMs);
      if (!outage && !stopped) {
        outage = { since: new Date(), error: (error as Error).message };
        log.warn({ err: outage.error }, "could not renew the heartbeat; retrying");
        onUnreachable?.(outage);
      }
    }
    if (!stopped) timer = setTimeout(() => void beat(), wait).unref();
  };
  timer = setTimeout(() => void beat(), intervalMs).unref();
  return {
    arm: (onLost) => (lost = onLost),
    next,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
