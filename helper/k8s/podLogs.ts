/**
 * Follows a container's log line by line. client-node's Log pipes the response without
 * handling its stream's errors, so aborting it crashes the process with an unhandled
 * AbortError; this reads the body itself and treats the abort as the end.
 */
import { HttpMethod, RequestContext } from "@kubernetes/client-node";
import { fetch } from "undici";
import { clusterCall, type ClusterConnection } from "./clusterConnection.ts";

export async function followPodLog(
  connection: ClusterConnection,
  target: { namespace: string; pod: string; container: string; sinceSeconds?: number; tailLines?: number },
  onLine: (line: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const cluster = connection.config.getCurrentCluster();
  if (!cluster) return;
  const url = new URL(`${cluster.server}/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods/${encodeURIComponent(target.pod)}/log`);
  url.searchParams.set("container", target.container);
  url.searchParams.set("follow", "true");
  if (target.sinceSeconds !== undefined) url.searchParams.set("sinceSeconds", String(target.sinceSeconds));
  if (target.tailLines !== undefined) url.searchParams.set("tailLines", String(target.tailLines));
  const context = new RequestContext(url.toString(), HttpMethod.GET);
  await connection.config.applySecurityAuthentication(context);
  try {
    const response = await fetch(url, { headers: context.getHeaders(), dispatcher: context.getDispatcher(), signal });
    if (response.status !== 200 || !response.body) {
      onLine(`(kbridge could not follow the log of ${target.pod}: HTTP ${response.status})`);
      return;
    }
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of response.body) {
      const lines = (rest + decoder.decode(chunk as Uint8Array, { stream: true })).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) if (line) onLine(line);
    }
    if (rest) onLine(rest);
  } catch (error) {
    if (signal.aborted) return;
    onLine(`(kbridge stopped following the log of ${target.pod}: ${(error as Error).message})`);
  }
}

/** The names of a pod's containers, in its spec's order; null when there is no such pod. */
export async function podContainers(connection: ClusterConnection, namespace: string, pod: string): Promise<string[] | null> {
  const found = await clusterCall(connection, `read pod ${namespace}/${pod}`, () => connection.core.readNamespacedPod({ name: pod, namespace }), { notFound: "null" });
  return found ? (found.spec?.containers.map((c) => c.name) ?? []) : null;
}
