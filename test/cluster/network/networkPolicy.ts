/**
 * NetworkPolicy ingress, as a CNI enforces it: a pod selected by an Ingress policy of its
 * namespace takes only connections some rule admits (peers by podSelector, namespaceSelector,
 * both, or ipBlock; ports by number, name or range); a pod no policy selects takes all.
 * Pods ask over a unix socket (the bind shim, for connections by pod IP); the service proxy
 * and the ingress controller ask in process (ClusterIP and ingress traffic).
 */
import fs from "node:fs";
import net from "node:net";
import { findType } from "../apiserver/resources.ts";
import type { KubeObject, ObjectStore } from "../apiserver/store.ts";
import { arr, obj, type Any } from "../controllers/objects.ts";

const type = (group: string, plural: string) => findType(group, "v1", plural)!;

/** matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist); an empty selector selects everything. */
export function selects(selector: unknown, labels: Record<string, string> | undefined): boolean {
  const s = obj(selector);
  const have = labels ?? {};
  if (!Object.entries(obj(s.matchLabels)).every(([key, value]) => have[key] === value)) return false;
  return arr(s.matchExpressions).every((e) => {
    const key = String(e.key);
    const values = (e.values as string[] | undefined) ?? [];
    switch (e.operator) {
      case "In":
        return key in have && values.includes(have[key] as string);
      case "NotIn":
        return !(key in have) || !values.includes(have[key] as string);
      case "Exists":
        return key in have;
      case "DoesNotExist":
        return !(key in have);
      default:
        return false;
    }
  });
}

const toNumber = (ip: string) => ip.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
function inCidr(ip: string, cidr: string): boolean {
  const [base = "", bits = "32"] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toNumber(ip) / size) === Math.floor(toNumber(base) / size);
}

const podByIp = (store: ObjectStore, ip: string) => store.list(type("", "pods")).find((p) => obj(p.status).podIP === ip && !p.metadata.deletionTimestamp);

function peerMatches(store: ObjectStore, peer: Any, policyNamespace: string, from: { ip: string; pod?: KubeObject }): boolean {
  if (peer.ipBlock) {
    const block = obj(peer.ipBlock);
    return inCidr(from.ip, String(block.cidr)) && !((block.except as string[] | undefined) ?? []).some((cidr) => inCidr(from.ip, cidr));
  }
  if (!from.pod) return false;
  const namespace = from.pod.metadata.namespace ?? "";
  const namespaceOk =
    peer.namespaceSelector === undefined ? namespace === policyNamespace : selects(peer.namespaceSelector, store.find(type("", "namespaces"), undefined, namespace)?.metadata.labels);
  return namespaceOk && (peer.podSelector === undefined || selects(peer.podSelector, from.pod.metadata.labels));
}

function portMatches(rulePort: Any, port: number, pod: KubeObject): boolean {
  if ((rulePort.protocol ?? "TCP") !== "TCP") return false;
  if (rulePort.port === undefined) return true;
  if (typeof rulePort.port === "string") {
    const named = arr(obj(pod.spec).containers).flatMap((c) => arr(c.ports)).find((p) => p.name === rulePort.port);
    return named !== undefined && Number(named.containerPort) === port;
  }
  const first = Number(rulePort.port);
  return rulePort.endPort === undefined ? first === port : port >= first && port <= Number(rulePort.endPort);
}

/** Whether a TCP connection from `fromIp` (a pod's IP, or another address) may reach `toIp:port`. */
export function admits(store: ObjectStore, fromIp: string, toIp: string, port: number): boolean {
  // Most clusters in tests have no policy at all: no pod lookups then.
  if (store.list(type("networking.k8s.io", "networkpolicies")).length === 0) return true;
  const target = podByIp(store, toIp);
  if (!target) return true;
  const namespace = target.metadata.namespace ?? "";
  const policies = store.list(type("networking.k8s.io", "networkpolicies"), namespace).filter((policy) => {
    const spec = obj(policy.spec);
    const types = (spec.policyTypes as string[] | undefined) ?? ["Ingress"];
    return types.includes("Ingress") && selects(spec.podSelector, target.metadata.labels);
  });
  if (policies.length === 0) return true;
  const from = { ip: fromIp, pod: podByIp(store, fromIp) };
  return policies.some((policy) =>
    arr(obj(policy.spec).ingress).some((rule) => {
      const peers = arr(rule.from);
      const ports = arr(rule.ports);
      return (peers.length === 0 || peers.some((peer) => peerMatches(store, peer, namespace, from))) && (ports.length === 0 || ports.some((p) => portMatches(p, port, target)));
    }),
  );
}

export interface PolicyServer {
  socket: string;
  close(): Promise<void>;
}

/** Answers the pods' bind shims: a line `FROM TO PORT`, answered `y` or `n`. The socket is open to every user (pods run as any uid). */
export function startPolicyServer(store: ObjectStore, socket: string): PolicyServer {
  fs.rmSync(socket, { force: true });
  const server = net.createServer((connection) => {
    let buffer = "";
    connection.on("error", () => connection.destroy());
    connection.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      const end = buffer.indexOf("\n");
      if (end < 0) return;
      const [from = "", to = "", port = "0"] = buffer.slice(0, end).split(" ");
      connection.end(admits(store, from, to, Number(port)) ? "y" : "n");
    });
  });
  server.listen(socket, () => fs.chmodSync(socket, 0o666));
  return {
    socket,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
