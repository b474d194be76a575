/**
 * One session per workload. A workload kbridge put an agent in carries its session's claim
 * (helper/agent/restore.mjs `claimOf`); a second connect, from any helper or workstation, is
 * refused before anything changes, naming the session that holds it, its owner, since when,
 * and how to end it — or, when that session is gone, what is left and how to put it back.
 */
import { claimOf } from "../agent/restore.mjs";
import { OWNER_ANNOTATION, OWNER_LABEL, RESTORER_STATUS_ANNOTATION, savedOriginalName } from "../agent/names.mjs";
import { KbridgeError } from "../protocol/index.ts";
import { clusterCall, type ClusterConnection } from "./clusterConnection.ts";

export { claimOf };

/** The refusal of a connect to `what` ("deployment/api"), held by session `holder`. */
export async function refuseClaimed(connection: ClusterConnection, namespace: string, what: string, holder: string): Promise<KbridgeError> {
  const secret = await clusterCall(connection, `read the saved original of session ${holder}`, () => connection.core.readNamespacedSecret({ name: savedOriginalName(holder), namespace }), { notFound: "null" });
  if (!secret) {
    const [kind, name] = what.split("/");
    return new KbridgeError({
      code: "workload-orphaned",
      category: "cluster",
      message: `${what} still runs the agent of session ${holder}, which is gone — and its saved original with it.`,
      hint: kind === "deployment" ? `Put it back to its previous template first: kubectl rollout undo deployment/${name} -n ${namespace}` : `Apply ${what}'s manifest again (kubectl apply -f …), then connect.`,
    });
  }
  const owner = secret.metadata?.annotations?.[OWNER_ANNOTATION] ?? secret.metadata?.labels?.[OWNER_LABEL] ?? "someone";
  const since = secret.metadata?.creationTimestamp;
  const started = since ? ` since ${new Date(since).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC")}` : "";
  const restorer = parseRestorerStatus(secret.metadata?.annotations?.[RESTORER_STATUS_ANNOTATION]);
  const state =
    restorer?.state === "restoring"
      ? " Its helper has gone silent and its restorer is putting the workload back now; connect again in a minute."
      : restorer?.state === "failed"
        ? ` Its helper has gone silent, and its restorer could not put the workload back: ${restorer.message ?? "see its log"}.`
        : "";
  return new KbridgeError({
    code: "workload-in-use",
    category: "user",
    message: `${what} is already connected by session ${holder} of ${owner}${started}; a workload takes one session at a time.${state}`,
    hint: `End that session first: kbridge disconnect --session ${holder} on ${owner}'s workstation (or Disconnect in its dashboard). If its helper is gone, its restorer puts ${what} back within a minute; kbridge clean --context ${connection.context} --namespace ${namespace} does it now. Or connect with --isolate, which leaves the workload serving and sends you only your requests.`,
  });
}

export interface RestorerStatus {
  state: "watching" | "restoring" | "failed";
  /** When, by the restorer's clock. */
  at?: string;
  silentForS?: number;
  message?: string;
  hint?: string;
}

/** What a session's restorer last published on its Secret (undefined: nothing, or not JSON). */
export function parseRestorerStatus(value: string | undefined): RestorerStatus | undefined {
  if (!value) return undefined;
  try {
    const parsed = JSON.parse(value) as RestorerStatus;
    return ["watching", "restoring", "failed"].includes(parsed.state) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a session is still in the cluster (its Secret), and what its restorer last published; null when it is gone. */
export async function sessionInCluster(connection: ClusterConnection, namespace: string, sessionId: string): Promise<{ restorer?: RestorerStatus } | null> {
  const secret = await clusterCall(connection, `look for session ${sessionId}'s saved original`, () => connection.core.readNamespacedSecret({ name: savedOriginalName(sessionId), namespace }), { notFound: "null" });
  if (!secret) return null;
  const restorer = parseRestorerStatus(secret.metadata?.annotations?.[RESTORER_STATUS_ANNOTATION]);
  return restorer ? { restorer } : {};
}
