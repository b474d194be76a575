/**
 * A connection to one context of the user's kubeconfig, and the mapping of client-node
 * failures to errors a user can act on (what failed, why, what to do). Every request of it
 * ends within a timeout: an API server that stops answering is an error, never a hang.
 */
import {
  AppsV1Api,
  CoreV1Api,
  createConfiguration,
  HttpMethod,
  KubeConfig,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
  RequestContext,
  ServerConfiguration,
  setHeaderOptions,
  type ResponseContext,
} from "@kubernetes/client-node";
import { fetch, type Dispatcher } from "undici";
import { KbridgeError } from "../protocol/index.ts";
import type { ApiRequest } from "../agent/restore.mjs";
import { loadKubeConfig } from "./kubeconfig.ts";

export interface ClusterConnection {
  config: KubeConfig;
  context: string;
  server: string;
  core: CoreV1Api;
  apps: AppsV1Api;
  rbac: RbacAuthorizationV1Api;
  networking: NetworkingV1Api;
  /** One request by REST path, for the code kbridge shares with the cluster (helper/agent/restore.mjs). */
  request: ApiRequest;
  /** How long a request may take before it fails. */
  timeoutMs: number;
}

/** A request's longest wait (`KBRIDGE_API_TIMEOUT_MS` overrides it: tests, slow links). */
const DEFAULT_TIMEOUT_MS = 20_000;

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
  const timeoutMs = Number(process.env.KBRIDGE_API_TIMEOUT_MS) || DEFAULT_TIMEOUT_MS;
  // As KubeConfig.makeApiClient builds them, with a timeout on every request.
  const timeout = {
    pre: async (request: RequestContext) => {
      request.setSignal(AbortSignal.timeout(timeoutMs));
      return request;
    },
    post: async (response: ResponseContext) => response,
  };
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(server, {}),
    authMethods: { default: config },
    middleware: setHeaderOptions("User-Agent", "kbridge").middleware,
    promiseMiddleware: [timeout],
  });
  return {
    config,
    context,
    server,
    core: new CoreV1Api(configuration),
    apps: new AppsV1Api(configuration),
    rbac: new RbacAuthorizationV1Api(configuration),
    networking: new NetworkingV1Api(configuration),
    request: rawRequest(config, server, timeoutMs),
    timeoutMs,
  };
}

/** A request by path with the context's credentials (client-node's own), its body JSON (a PATCH's a merge patch). */
function rawRequest(config: KubeConfig, server: string, timeoutMs: number): ApiRequest {
  return async (method, path, body, options) => {
    const limit = Math.ceil(options?.timeoutMs ?? timeoutMs);
    const request = new RequestContext(`${server.replace(/\/+$/, "")}${path}`, HttpMethod[method]);
    request.setHeaderParam("Accept", "application/json");
    request.setHeaderParam("User-Agent", "kbridge");
    if (body !== undefined) {
      request.setHeaderParam("Content-Type", method === "PATCH" ? "application/merge-patch+json" : "application/json");
      request.setBody(JSON.stringify(body));
    }
    await config.applySecurityAuthentication(request);
    let response;
    try {
      response = await fetch(request.getUrl(), {
        method,
        headers: request.getHeaders(),
        body: request.getBody() as string | undefined,
        dispatcher: request.getDispatcher() as Dispatcher | undefined,
        signal: AbortSignal.timeout(limit),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = isTimeout(error) ? `no answer within ${limit / 1000} s` : (cause?.code ?? cause?.message ?? (error as Error).message);
      throw new Error(`${method} ${path}: ${why}`, { cause: error });
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = { message: text.slice(0, 200) };
    }
    return { status: response.status, body: parsed };
  };
}

const isTimeout = (error: unknown) => ["TimeoutError", "AbortError"].includes((error as { name?: string }).name ?? "");

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
  const transport = isTimeout(raw) || isTimeout(error.cause) ? `no answer within ${connection.timeoutMs / 1000} s` : (error.cause?.code ?? (typeof error.code === "string" ? error.code : undefined));
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
