/**
 * The API server's upgrade requests: `exec` and `portforward` on pods, over WebSocket
 * (channel protocols, or SPDY tunnelled in one) and plain SPDY/3.1. Errors before the
 * upgrade are answered with a Kubernetes Status, which makes kubectl fall back or report.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { ObjectStore } from "../apiserver/store.ts";
import { ApiError, badRequest } from "../apiserver/status.ts";
import { kind } from "../controllers/objects.ts";
import { runExec, type ExecTarget } from "./exec.ts";
import { acceptPlainSpdy, acceptTunnelledSpdy, forwardOverChannels } from "./portForward.ts";
import { queryFlag } from "../apiserver/queryFlag.ts";

const TUNNEL = "SPDY/3.1+portforward.k8s.io";
// `ws` rejects "/" in subprotocols: the tunnel's name travels as this alias inside the server.
const TUNNEL_ALIAS = "kbridge-spdy-tunnel";

export interface StreamingBackend {
  store: ObjectStore;
  /** The container's process and environment for exec, or why there is none. */
  execTarget(namespace: string, pod: string, container: string): ExecTarget | { error: string };
}

/** A port-forward in progress: which pod, which ports, since when. */
export interface ActivePortForward {
  namespace: string;
  pod: string;
  ports: number[];
}

export function createUpgradeHandler(backend: StreamingBackend) {
  const active = new Set<ActivePortForward>();
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered: Set<string>, req: IncomingMessage) => {
      const preference = (req as IncomingMessage & { kbridgeKind?: string }).kbridgeKind === "exec" ? ["v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io"] : [TUNNEL_ALIAS, "v4.channel.k8s.io"];
      return preference.find((p) => offered.has(p)) ?? false;
    },
  });
  wss.on("headers", (headers: string[]) => {
    const index = headers.findIndex((line) => line.toLowerCase() === `sec-websocket-protocol: ${TUNNEL_ALIAS}`);
    if (index >= 0) headers[index] = `Sec-WebSocket-Protocol: ${TUNNEL}`;
  });

  const handle = (req: IncomingMessage, socket: Duplex, head: Buffer, path: string, query: URLSearchParams): void => {
    try {
      const match = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|portforward|attach)$/.exec(path);
      if (!match) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
      const [, namespace, name, action] = match as unknown as [string, string, string, string];
      const pod = backend.store.get(kind("Pod"), namespace, name);
      const spec = pod.spec as { nodeName?: string; containers: { name: string }[] };
      if (!spec.nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
      const upgrade = String(req.headers.upgrade ?? "").toLowerCase();
      if (action === "portforward") {
        const podIp = (pod.status as { podIP?: string }).podIP;
        if (!podIp) throw badRequest(`pod ${name} does not have an IP yet`);
        const target = { host: podIp, describe: `${name}, uid ${pod.metadata.uid}` };
        if (upgrade === "spdy/3.1") return acceptPlainSpdy(socket, head, target);
        const protocols = String(req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
        if (protocols.includes(TUNNEL)) {
          req.headers["sec-websocket-protocol"] = TUNNEL_ALIAS;
          return wss.handleUpgrade(req, socket, head, (ws: WebSocket) => acceptTunnelledSpdy(ws, target));
        }
        const ports = query.getAll("ports").flatMap((p) => p.split(",")).map(Number);
        if (ports.length === 0 || ports.some((p) => !(p >= 1 && p <= 65535))) throw badRequest("query parameter ports is required (1-65535)");
        return wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
          const entry = { namespace, pod: name, ports };
          active.add(entry);
          ws.once("close", () => active.delete(entry));
          forwardOverChannels(ws, target, ports);
        });
      }
      if (action === "attach") throw badRequest("attach is not supported by the kbridge test cluster");
      if (upgrade !== "websocket") throw badRequest("exec over SPDY is not supported by the kbridge test cluster; use the WebSocket protocol (kubectl's default)");
      const flags = { stdin: queryFlag(query, "stdin"), stdout: queryFlag(query, "stdout"), stderr: queryFlag(query, "stderr") };
      if (!flags.stdin && !flags.stdout && !flags.stderr) throw badRequest("you must specify at least 1 of stdin, stdout, stderr");
      const names = spec.containers.map((c) => c.name);
      const container = query.get("container") ?? (names.length === 1 ? names[0] : undefined);
      if (!container) throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${names.join(" ")}]`);
      if (!names.includes(container)) throw badRequest(`container ${container} is not valid for pod ${name}`);
      const command = query.getAll("command");
      if (command.length === 0) throw badRequest("you must specify at least one command for the container");
      const target = backend.execTarget(namespace, name, container);
      if ("error" in target) throw badRequest(target.error);
      (req as IncomingMessage & { kbridgeKind?: string }).kbridgeKind = "exec";
      return wss.handleUpgrade(req, socket, head, (ws: WebSocket) => runExec(ws, ws.protocol, target, { command, ...flags }));
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError(500, "InternalError", String(error));
      const body = JSON.stringify(apiError.toStatus());
      socket.end(`HTTP/1.1 ${apiError.code} ${apiError.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    }
  };
  /** The WebSocket port-forwards open now (client-node's: kbridge's tunnels). */
  const portForwards = (): ActivePortForward[] => [...active].map((entry) => ({ ...entry, ports: [...entry.ports] }));
  return Object.assign(handle, { portForwards });
}
