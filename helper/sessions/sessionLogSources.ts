/**
 * What goes into a session's log besides kbridge's own steps: each agent pod's log lines and
 * what the agents turned away, the requests the workstation answered, and pods of the
 * namespace the user asked to follow.
 */
import { openCluster } from "../k8s/clusterConnection.ts";
import { followPodLog, podContainers } from "../k8s/podLogs.ts";
import { KbridgeError, type LogLineView } from "../protocol/index.ts";
import type { HttpExchange } from "../tunnel/httpObserver.ts";
import type { AgentNotice } from "../tunnel/muxTunnel.ts";
import type { Entry, SessionManagerDeps } from "./sessionEntry.ts";
import { isFinished } from "./sessionView.ts";

type Line = { level: LogLineView["level"]; text: string };

/** The agent writes JSON lines ({time, message, …fields}); shown as "pod: message field=value". */
export function agentLogLine(pod: string, line: string): Line {
  let text = line;
  let level: LogLineView["level"] = "info";
  try {
    const { time: _time, session: _session, message, ...fields } = JSON.parse(line) as Record<string, unknown>;
    text = [String(message ?? ""), ...Object.entries(fields).map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)].join(" ");
    if (/error|refused|failed|no tunnel/i.test(String(message))) level = "warn";
  } catch {
    // not JSON: as written
  }
  return { level, text: `${pod}: ${text}` };
}

/** An agent turned away someone claiming the session: what the owner reads. */
export function agentNoticeLine(pod: string, notice: AgentNotice, namespace: string): Line {
  return {
    level: "warn",
    text: `Agent pod ${pod} turned away a connection to its ${notice.refused} port from ${notice.from} that claimed this session without its key (${notice.why ?? "no proof"}): someone with port-forward rights in ${namespace} tried to take it over. Nothing was given; your tunnels are untouched.`,
  };
}

/** A request the workstation answered, as one line: "GET /path → 200 (3 ms)". */
export function trafficLogLine(exchange: HttpExchange): Line {
  const level = exchange.status >= 500 ? "error" : exchange.status >= 400 ? "warn" : "info";
  return { level, text: `${exchange.method} ${exchange.path} → ${exchange.status} (${exchange.ms} ms)${exchange.routeAs ? ` route-as=${exchange.routeAs}` : ""}` };
}

/** Adds a pod of the session's namespace to its log (source "pod"), or stops following it. */
export async function followPod(deps: SessionManagerDeps, entry: Entry, pod: string, container: string | undefined, follow: boolean): Promise<{ following: string[] }> {
  entry.podLogs ??= new Map();
  const following = () => ({ following: [...(entry.podLogs?.keys() ?? [])].sort() });
  if (!follow) {
    entry.podLogs.get(pod)?.abort();
    entry.podLogs.delete(pod);
    entry.log.append("helper", "info", `Stopped following the log of pod ${pod}.`);
    return following();
  }
  if (isFinished(entry.view.state)) throw new KbridgeError({ code: "session-ended", category: "user", message: `Session ${entry.view.id} has ended; pod logs follow live sessions.` });
  if (entry.podLogs.has(pod)) return following();
  const { namespace, context } = entry.view.target;
  const connection = openCluster(deps.kubeconfig(), context);
  const containers = await podContainers(connection, namespace, pod);
  if (!containers) throw new KbridgeError({ code: "pod-not-found", category: "user", message: `There is no pod ${pod} in namespace ${namespace}.`, hint: "Pick one from the list: pods come and go with rollouts." });
  const chosen = container ?? containers[0] ?? "";
  if (!containers.includes(chosen)) throw new KbridgeError({ code: "container-not-found", category: "user", message: `Pod ${pod} has no container ${chosen}; it has ${containers.join(", ")}.` });
  const abort = new AbortController();
  entry.podLogs.set(pod, abort);
  entry.log.append("helper", "info", `Following the log of pod ${pod} (container ${chosen}).`);
  void followPodLog(connection, { namespace, pod, container: chosen, tailLines: 100 }, (line) => entry.log.append("pod", "info", `${pod}: ${line}`), abort.signal).catch((error: Error) =>
    entry.log.append("helper", "warn", `Could not follow the log of pod ${pod}: ${error.message}`),
  );
  return following();
}
