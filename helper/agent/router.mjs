// kbridge router: isolation mode's traffic switch, put in front of a Service by pointing the
// Service's selector at it. It watches two sets of pods through the API server: the
// Service's own pods (its original selector) and kbridge's isolated agents (pods labelled
// with a routing key). A request whose `kubernetes-route-as` header — or W3C baggage entry
// `kubernetes-route-as=<key>` — names the key of an agent cloned from this Service goes to
// that agent (and on to its developer's workstation); every other request goes to the
// Service's own pods. A request whose Host starts with an active key (`<key>.shop.example`,
// the developer's personal URL) is marked with that key first, so the personal URL needs no
// browser extension. HTTP/1.x with keep-alive (each request routed on its own) and WebSocket
// upgrades are routed; anything else on the port (TLS, h2c, a database protocol) passes
// through to the Service's own pods untouched.
// One file, no npm dependencies, run by the stock node image as a non-root user.
//
// Environment:
//   KBRIDGE_SERVICE            the Service routed (its agents carry kbridge.dev/route-from=<it>)
//   KBRIDGE_NAMESPACE          the namespace
//   KBRIDGE_ORIGINAL_SELECTOR  JSON: the Service's selector before kbridge changed it
//   KBRIDGE_ROUTER_PORTS       JSON: [{"port": 8080, "targetPort": "http"}] — listen on `port`,
//                              forward to the pod's `targetPort` (a number or a port name)
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";

const service = process.env.KBRIDGE_SERVICE ?? "";
const namespace = process.env.KBRIDGE_NAMESPACE ?? "";
const HEADER = "kubernetes-route-as";
const KEY_LABEL = "kbridge.dev/routing-key";
const ROUTE_FROM_LABEL = "kbridge.dev/route-from";
const SA = "/var/run/secrets/kubernetes.io/serviceaccount";
const log = (message, fields = {}) => console.log(JSON.stringify({ time: new Date().toISOString(), service, message, ...fields }));

let originalSelector;
let routerPorts;
try {
  originalSelector = JSON.parse(process.env.KBRIDGE_ORIGINAL_SELECTOR ?? "");
  routerPorts = JSON.parse(process.env.KBRIDGE_ROUTER_PORTS ?? "");
} catch (error) {
  console.error(`kbridge router: KBRIDGE_ORIGINAL_SELECTOR and KBRIDGE_ROUTER_PORTS must be JSON (${error.message})`);
  process.exit(2);
}
if (!service || !namespace || !originalSelector || Object.keys(originalSelector).length === 0 || !Array.isArray(routerPorts) || routerPorts.length === 0) {
  console.error("kbridge router: KBRIDGE_SERVICE, KBRIDGE_NAMESPACE, KBRIDGE_ORIGINAL_SELECTOR (non-empty) and KBRIDGE_ROUTER_PORTS are required");
  process.exit(2);
}

// ---- The pods, as the API server tells them (list, then watch from its resourceVersion). ----

/** A GET on the API server with the pod's service-account token; the response stream. */
function apiGet(path) {
  return new Promise((resolve, reject) => {
    const request = https.get(
      {
        host: process.env.KUBERNETES_SERVICE_HOST,
        port: process.env.KUBERNETES_SERVICE_PORT ?? 443,
        path,
        ca: fs.readFileSync(`${SA}/ca.crt`),
        headers: { authorization: `Bearer ${fs.readFileSync(`${SA}/token`, "utf8").trim()}`, accept: "application/json" },
      },
      resolve,
    );
    request.setTimeout(30_000, () => request.destroy(new Error(`GET ${path} timed out`)));
    request.on("error", reject);
  });
}

async function apiJson(path) {
  const response = await apiGet(path);
  let text = "";
  for await (const chunk of response) text += chunk;
  if (response.statusCode !== 200) throw new Error(`GET ${path}: HTTP ${response.statusCode} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

/**
 * Keeps `pods` (name → pod) equal to the pods the selector matches: a list, then a watch from
 * its resourceVersion; a closed watch resumes, a 410 (too old) lists again; failures back off
 * up to 5 s. Resolves once the first list is in.
 */
function mirrorPods(labelSelector, pods, onChange) {
  const base = `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(labelSelector)}`;
  let resourceVersion = "";
  let backoff = 250;
  let first;
  const listed = new Promise((resolve) => (first = resolve));
  const relist = async () => {
    const list = await apiJson(base);
    pods.clear();
    for (const pod of list.items) pods.set(pod.metadata.name, pod);
    resourceVersion = list.metadata.resourceVersion;
    onChange();
    first();
  };
  const watch = async () => {
    const response = await apiGet(`${base}&watch=1&allowWatchBookmarks=true&resourceVersion=${resourceVersion}`);
    if (response.statusCode !== 200) {
      response.resume();
      throw new Error(`watch pods (${labelSelector}): HTTP ${response.statusCode}`);
    }
    let buffered = "";
    for await (const chunk of response) {
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (!line) continue;
        const event = JSON.parse(line);
        if (event.type === "ERROR") {
          if (event.object?.code === 410) resourceVersion = "";
          return;
        }
        resourceVersion = event.object.metadata.resourceVersion;
        if (event.type === "BOOKMARK") continue;
        if (event.type === "DELETED") pods.delete(event.object.metadata.name);
        else pods.set(event.object.metadata.name, event.object);
        onChange();
        backoff = 250;
      }
    }
  };
  void (async () => {
    for (;;) {
      try {
        if (!resourceVersion) await relist();
        await watch();
      } catch (error) {
        log("pod watch failed; retrying", { selector: labelSelector, error: error.message, retryInMs: backoff });
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(5000, backoff * 2);
      }
    }
  })();
  return listed;
}

const originals = new Map();
const agents = new Map();
const ready = (pod) => !pod.metadata.deletionTimestamp && pod.status?.podIP && (pod.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

/** Active routing keys (any agent in the namespace: a personal host is marked whichever service the developer isolates). */
let activeKeys = new Set();
let routeSummary = "";
function routesChanged() {
  activeKeys = new Set([...agents.values()].filter((pod) => !pod.metadata.deletionTimestamp).map((pod) => pod.metadata.labels[KEY_LABEL]));
  const mine = [...agents.values()].filter((pod) => pod.metadata.labels[ROUTE_FROM_LABEL] === service && ready(pod)).map((pod) => pod.metadata.labels[KEY_LABEL]);
  const summary = JSON.stringify({ keys: [...activeKeys].sort(), routed: mine.sort(), originals: [...originals.values()].filter(ready).length });
  if (summary !== routeSummary) log("routes", JSON.parse(summary));
  routeSummary = summary;
}

/** The pod's port for a Service targetPort (a number, or a container port's name). */
function portOf(pod, targetPort) {
  if (typeof targetPort === "number") return targetPort;
  for (const container of pod.spec.containers) for (const port of container.ports ?? []) if (port.name === targetPort) return port.containerPort;
  return undefined;
}

let turn = 0;
/** Where a request goes: the key's agent cloned from this Service, else the Service's own pods (round robin). */
function upstreamFor(key, targetPort) {
  if (key) {
    for (const pod of agents.values()) {
      if (pod.metadata.labels[KEY_LABEL] === key && pod.metadata.labels[ROUTE_FROM_LABEL] === service && ready(pod)) {
        const port = portOf(pod, targetPort);
        if (port) return { host: pod.status.podIP, port, pod: pod.metadata.name, key };
      }
    }
  }
  const candidates = [...originals.values()].filter((pod) => ready(pod) && portOf(pod, targetPort));
  if (candidates.length === 0) return null;
  const pod = candidates[turn++ % candidates.length];
  return { host: pod.status.podIP, port: portOf(pod, targetPort), pod: pod.metadata.name };
}

// ---- Routing keys on requests. ----

/** The routing key a request carries: the header, else the W3C baggage entry. */
function requestKey(headers) {
  const header = headers[HEADER];
  if (typeof header === "string" && header.trim()) return header.split(",")[0].trim();
  const baggage = Array.isArray(headers.baggage) ? headers.baggage.join(",") : headers.baggage;
  for (const member of (baggage ?? "").split(",")) {
    const [pair] = member.split(";");
    const at = pair.indexOf("=");
    if (at > 0 && pair.slice(0, at).trim() === HEADER) return decodeURIComponent(pair.slice(at + 1).trim());
  }
  return undefined;
}

/** The key of a personal host (`<key>.<host>`), when that key is active. */
function hostKey(host) {
  const name = (host ?? "").replace(/:\d+$/, "").toLowerCase();
  const dot = name.indexOf(".");
  return dot > 0 && activeKeys.has(name.slice(0, dot)) ? name.slice(0, dot) : undefined;
}

/** Marks a request that came in on a personal host; returns the key it routes by. */
function routeRequest(req) {
  const marked = hostKey(req.headers.host);
  if (marked) {
    req.headers[HEADER] = marked;
    const at = req.rawHeaders.findIndex((name, i) => i % 2 === 0 && name.toLowerCase() === HEADER);
    if (at >= 0) req.rawHeaders[at + 1] = marked;
    else req.rawHeaders.push(HEADER, marked);
  }
  return requestKey(req.headers);
}

// ---- The listeners. ----

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"]);
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 64 });

function plainError(res, status, message) {
  if (res.headersSent) return res.destroy();
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "kbridge-router": service });
  res.end(`kbridge router (${service}): ${message}\n`);
}

function serveHttp(targetPort) {
  const server = http.createServer({ keepAliveTimeout: 65_000 });
  server.on("request", (req, res) => {
    const key = routeRequest(req);
    const upstream = upstreamFor(key, targetPort);
    if (!upstream) return plainError(res, 503, `no ready pod of service ${service} serves port ${targetPort}`);
    const headers = {};
    for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value;
    const forwarded = http.request({ host: upstream.host, port: upstream.port, method: req.method, path: req.url, headers, agent: keepAlive }, (response) => {
      const answer = {};
      for (const [name, value] of Object.entries(response.headers)) if (!HOP_BY_HOP.has(name)) answer[name] = value;
      res.writeHead(response.statusCode ?? 502, response.statusMessage, answer);
      response.pipe(res);
      response.on("error", () => res.destroy());
    });
    forwarded.on("error", (error) => plainError(res, 502, `${upstream.key ? `developer ${upstream.key}'s agent ${upstream.pod}` : `pod ${upstream.pod}`} did not answer: ${error.message}`));
    res.on("close", () => {
      if (!res.writableFinished) forwarded.destroy();
    });
    req.pipe(forwarded);
  });
  server.on("upgrade", (req, client, head) => {
    const key = routeRequest(req);
    const upstream = upstreamFor(key, targetPort);
    if (!upstream) return void client.end("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    const socket = net.connect({ host: upstream.host, port: upstream.port });
    socket.setNoDelay(true);
    socket.once("connect", () => {
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length) socket.write(head);
      socket.pipe(client).pipe(socket);
    });
    socket.on("error", () => client.destroy());
    client.on("error", () => socket.destroy());
  });
  server.on("clientError", (error, socket) => {
    if (socket.writable && error.code !== "ECONNRESET") socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });
  return server;
}

/** An HTTP/1.x request line starts with a method token and a space; HTTP/2's preface is "PRI * HTTP/2.0". */
const HTTP1 = /^[A-Z]{3,12} /;

/** Non-HTTP traffic: passed to one of the Service's own pods as it is, half-close and all. */
function passThrough(socket, head, targetPort) {
  const upstream = upstreamFor(undefined, targetPort);
  if (!upstream) return socket.destroy();
  const peer = net.connect({ host: upstream.host, port: upstream.port, allowHalfOpen: true });
  peer.setNoDelay(true);
  peer.write(head);
  socket.pipe(peer).pipe(socket);
  peer.on("error", () => socket.destroy());
  socket.on("error", () => peer.destroy());
}

function listen({ port, targetPort }) {
  const httpServer = serveHttp(targetPort);
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false }, (socket) => {
    socket.setNoDelay(true);
    socket.on("error", () => {});
    socket.once("data", (head) => {
      socket.pause();
      const start = head.subarray(0, 13).toString("latin1");
      if (HTTP1.test(start) && !start.startsWith("PRI ")) {
        socket.unshift(head);
        httpServer.emit("connection", socket);
        socket.resume();
      } else {
        passThrough(socket, head, targetPort);
        socket.resume();
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, () => {
      log("listening", { port, targetPort });
      resolve();
    });
  });
}

// Ready (listening) only once both sets of pods are known, so no request meets an empty table.
await Promise.all([
  mirrorPods(Object.entries(originalSelector).map(([key, value]) => `${key}=${value}`).join(","), originals, routesChanged),
  mirrorPods(KEY_LABEL, agents, routesChanged),
]);
await Promise.all(routerPorts.map(listen));
process.on("SIGTERM", () => {
  log("stopping");
  process.exit(0);
});
