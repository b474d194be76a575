/**
 * A connection to one context of the user's kubeconfig, and the mapping of client-node
 * failures to errors a user can act on (what failed, why, what to do).
 */
import { AppsV1Api, CoreV1Api, KubeConfig, NetworkingV1Api, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { KbridgeError } from "../protocol/index.ts";
import { loadKubeConfig } from "./kubeconfig.ts";

export interface ClusterConnection {
  config: KubeConfig;
  context: string;
  server: string;
  core: CoreV1Api;
  apps: AppsV1Api;
  rbac: RbacAuthorizationV1Api;
  networking: NetworkingV1Api;
}

export function openCluster(kubeconfigPaths: string[], context: string): ClusterConnection {
  const merged = loadKubeConfig(kubeconfigPaths);
  const known = merged.getContexts().map((c) => c.name);
  if (!known.includes(context)) {
    throw new KbridgeError({
      code: "context-not-found",
      category: "config",
      message: `The kube context "${context}" is not in your kubeconfig (${kubeconfigPaths.join(", ")}).`,
      hint: known.length ? `Choose one of: ${known.join(", ")}.` : "Your kubeconfig has no contexts; add one with your cluster provider's CLI.",
    });
  }
  const config = new KubeConfig();
  config.loadFromString(merged.exportConfig());
  config.setCurrentContext(context);
  const server = config.getCurrentCluster()?.server ?? "(no server)";
  return { config, context, server, core: config.makeApiClient(CoreV1Api), apps: config.makeApiClient(AppsV1Api), rbac: config.makeApiClient(RbacAuthorizationV1Api), networking: config.makeApiClient(NetworkingV1Api) };
}

interface ClientNodeError {
  code?: number | string;
  body?: unknown;
  message?: string;
  cause?: { code?: string; message?: string };
}

/** Null instead of an error for 404 (`notFound`) or 409 (`conflict`: already exists, or changed meanwhile). */
export interface NullOn {
  notFound?: "null";
  conflict?: "null";
}

/** Runs a cluster call; maps the statuses named in `nullOn` to null, and transport/auth failures to clear errors. */
export async function clusterCall<T>(connection: ClusterConnection, what: string, call: () => Promise<T>): Promise<T>;
export async function clusterCall<T>(connection: ClusterConnection, what: string, call: () => Promise<T>, nullOn: NullOn): Promise<T | null>;
export async function clusterCall<T>(connection: ClusterConnection, what: string, call: () => Promise<T>, nullOn?: NullOn): Promise<T | null> {
  try {
    return await call();
  } catch (raw) {
    const error = raw as ClientNodeError;
    const status = typeof error.code === "number" ? error.code : undefined;
    if ((status === 404 && nullOn?.notFound === "null") || (status === 409 && nullOn?.conflict === "null")) return null;
    throw describeClusterError(connection, what, error, status, raw);
  }
}

function describeClusterError(connection: ClusterConnection, what: string, error: ClientNodeError, status: number | undefined, raw: unknown): KbridgeError {
  const where = `context "${connection.context}" (${connection.server})`;
  const serverMessage = statusMessage(error.body);
  if (status === 401 || status === 403) {
    return new KbridgeError(
      {
        code: status === 401 ? "cluster-unauthorized" : "cluster-forbidden",
        category: "cluster",
        message: `The cluster refused to ${what}: ${serverMessage ?? (status === 401 ? "your credentials were not accepted" : "permission denied")}.`,
        hint: status === 401 ? `Refresh the credentials of ${where} (for example with your cloud CLI's get-credentials).` : "Ask for the RBAC permissions kbridge needs in this namespace (see the preflight).",
      },
      { cause: raw },
    );
  }
  if (status !== undefined) {
    return new KbridgeError({ code: "cluster-error", category: "cluster", message: `The cluster could not ${what} (HTTP ${status}): ${serverMessage ?? error.message ?? "no details"}.`, hint: `Check ${where}.` }, { cause: raw });
  }
  const transport = error.cause?.code ?? (typeof error.code === "string" ? error.code : undefined);
  return new KbridgeError(
    {
      code: "cluster-unreachable",
      category: "cluster",
      message: `Cannot reach the cluster of ${where} to ${what}: ${transport ?? error.cause?.message ?? error.message ?? "no answer"}.`,
      hint: "Check your network or VPN, and that the cluster is running (kubectl get nodes should answer).",
    },
    { cause: raw },
  );
}

function statusMessage(body: unknown): string | undefined {
  if (typeof body === "string") {
    try {
      return (JSON.parse(body) as { message?: string }).message;
    } catch {
      return body.slice(0, 200) || undefined;
    }
  }
  return (body as { message?: string } | undefined)?.message;
}
