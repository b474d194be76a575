/**
 * An ingress controller on a loopback address: routes HTTP (and WebSocket upgrades) by
 * Host and path (Exact, Prefix, ImplementationSpecific as Prefix; longest match wins; rules
 * without a host match any) to the backend Service's ClusterIP, answers 404 like a default
 * backend otherwise, and publishes its address in every Ingress's status.loadBalancer.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import net, { type AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { KubeObject, ObjectStore } from "../apiserver/store.ts";
import { arr, kind, obj, save } from "../controllers/objects.ts";

export interface IngressController {
  address: string;
  port: number;
  url: string;
  stop(): Promise<void>;
}

interface Backend {
  host: string;
  port: number;
}

/** The backend for a request, or null. */
export function routeIngress(store: ObjectStore, hostHeader: string | undefined, path: string): Backend | null {
  const host = (hostHeader ?? "").replace(/:\d+$/, "").toLowerCase();
  let best: { length: number; exact: boolean; specificHost: boolean; backend: Backend } | null = null;
  for (const ingress of store.list(kind("Ingress"))) {
    const spec = obj(ingress.spec);
    for (const rule of arr(spec.rules)) {
      const ruleHost = typeof rule.host === "string" ? rule.host.toLowerCase() : undefined;
      if (ruleHost !== undefined && !hostMatches(ruleHost, host)) continue;
      for (const entry of arr(obj(rule.http).paths)) {
        const rulePath = String(entry.path ?? "/");
        const type = String(entry.pathType ?? "Prefix");
        if (!(type === "Exact" ? path === rulePath : prefixMatches(rulePath, path))) continue;
        const backend = serviceBackend(store, ingress, obj(entry.backend));
        if (!backend) continue;
        const candidate = { length: rulePath.length, exact: type === "Exact", specificHost: ruleHost !== undefined, backend };
        if (!best || better(candidate, best)) best = candidate;
      }
    }
  }
  if (best) return best.backend;
  for (const ingress of store.list(kind("Ingress"))) {
    const fallback = obj(obj(ingress.spec).defaultBackend);
    const backend = Object.keys(fallback).length ? serviceBackend(store, ingress, fallback) : null;
    if (backend) return backend;
  }
  return null;
}

function better(a: { length: number; exact: boolean; specificHost: boolean }, b: { length: number; exact: boolean; specificHost: boolean }): boolean {
  if (a.specificHost !== b.specificHost) return a.specificHost;
  if (a.exact !== b.exact) return a.exact;
  return a.length > b.length;
}

function hostMatches(rule: string, host: string): boolean {
  if (!rule.startsWith("*.")) return rule === host;
  const rest = host.slice(host.indexOf(".") + 1);
  return host.includes(".") && rest === rule.slice(2);
}

/** Prefix matching is by path element: /foo matches /foo and /foo/bar, not /foobar. */
function prefixMatches(rule: string, path: string): boolean {
  const trimmed = rule.replace(/\/+$/, "");
  return trimmed === "" || path === trimmed || path.startsWith(`${trimmed}/`);
}

function serviceBackend(store: ObjectStore, ingress: KubeObject, backend: Record<string, unknown>): Backend | null {
  const service = obj(backend.service);
  const found = store.find(kind("Service"), ingress.metadata.namespace, String(service.name ?? ""));
  if (!found) return null;
  const spec = obj(found.spec);
  const wanted = obj(service.port);
  const port = arr(spec.ports).find((p) => (wanted.number !== undefined ? p.port === wanted.number : p.name === wanted.name));
  if (!port || typeof spec.clusterIP !== "string" || spec.clusterIP === "None") return null;
  return { host: spec.clusterIP, port: Number(port.port) };
}

export async function startIngressController(store: ObjectStore, address: string, preferredPort = 80): Promise<IngressController> {
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const backend = routeIngress(store, req.headers.host, path);
    if (!backend) return void res.writeHead(404, { "content-type": "text/plain" }).end("default backend - 404\n");
    const forwarded = { ...req.headers, "x-forwarded-for": req.socket.remoteAddress ?? "", "x-forwarded-host": req.headers.host ?? "", "x-forwarded-proto": "http" };
    // From the ingress address: the backends' NetworkPolicies see the controller there.
    const upstream = http.request({ host: backend.host, port: backend.port, localAddress: address, method: req.method, path: req.url, headers: forwarded, agent }, (response) => {
      res.writeHead(response.statusCode ?? 502, response.headers);
      response.pipe(res);
    });
    upstream.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`bad gateway: ${error.message}\n`);
    });
    req.pipe(upstream);
  });
  server.on("upgrade", (req: IncomingMessage, client: Duplex, head: Buffer) => {
    const backend = routeIngress(store, req.headers.host, (req.url ?? "/").split("?")[0] ?? "/");
    if (!backend) return void client.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    const upstream = net.connect({ ...backend, localAddress: address }, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`, ...Object.entries(req.headers).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : v}`)];
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length) upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      // Port 80 needs root; without it, any free port (published in the Ingress status).
      if (error.code === "EACCES" && preferredPort !== 0) server.listen(0, address, () => resolve((server.address() as AddressInfo).port));
      else reject(error);
    });
    server.listen(preferredPort, address, () => resolve((server.address() as AddressInfo).port));
  });

  const publish = () => {
    const status = { loadBalancer: { ingress: [{ ip: address, ...(port === 80 ? {} : { ports: [{ port, protocol: "TCP" }] }) }] } };
    for (const ingress of store.list(kind("Ingress"))) {
      if (JSON.stringify(ingress.status) !== JSON.stringify(status)) save(store, kind("Ingress"), { ...ingress, status });
    }
  };
  const unsubscribe = store.watch(Number(store.resourceVersion), (event) => {
    if (event.resource.kind === "Ingress" && event.type !== "DELETED") setImmediate(publish);
  });
  publish();
  return {
    address,
    port,
    url: `http://${address}${port === 80 ? "" : `:${port}`}`,
    stop: () =>
      new Promise<void>((resolve) => {
        unsubscribe();
        agent.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
