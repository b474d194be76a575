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
// No npm dependencies (HTTP framing in httpFraming.mjs and the pod watch in podMirror.mjs are
// shipped beside it), run by the stock node image as a non-root user.
//
// Environment:
//   KBRIDGE_SERVICE            the Service routed (its agents carry kbridge.dev/route-from=<it>)
//   KBRIDGE_NAMESPACE          the namespace
//   KBRIDGE_ORIGINAL_SELECTOR  JSON: the Service's selector before kbridge changed it
//   KBRIDGE_ROUTER_PORTS       JSON: [{"port": 8080, "targetPort": "http"}] — listen on `port`,
//                              forward to the pod's `targetPort` (a number or a port name)
import net from "node:net";
import { bodyFraming, framer } from "./httpFraming.mjs";
import { mirrorPods } from "./podMirror.mjs";

const service = process.env.KBRIDGE_SERVICE ?? "";
const namespace = process.env.KBRIDGE_NAMESPACE ?? "";
const HEADER = "kubernetes-route-as";
const KEY_LABEL = "kbridge.dev/routing-key";
const ROUTE_FROM_LABEL = "kbridge.dev/route-from";
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

/** Replaces (or adds) the routing header in a raw request head. */
function withRoutingHeader(head, key) {
  const lines = head.toString("latin1").split("\r\n").slice(0, -2);
  const kept = lines.filter((line, i) => i === 0 || line.slice(0, line.indexOf(":")).trim().toLowerCase() !== HEADER);
  return Buffer.from(`${[...kept, `${HEADER}: ${key}`].join("\r\n")}\r\n\r\n`, "latin1");
}

// ---- The listeners. ----

function plainAnswer(status, reason, message) {
  const body = `kbridge router (${service}): ${message}\n`;
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\nkbridge-router: ${service}\r\n\r\n${body}`;
}

/**
 * One client connection of HTTP/1.x: each request's head is read to pick its upstream (the
 * key's agent, or one of the Service's own pods), marked when it came on a personal host, and
 * passed on with its body as bytes; responses pass back as bytes, their ends tracked so that
 * a request for another upstream waits until the earlier ones are answered (order kept). An
 * upgrade (WebSocket) turns the connection into a plain pipe after its head.
 */
function serveHttp(client, targetPort) {
  const conn = {
    client,
    upstreams: new Map(),
    current: null,
    held: false,
    clientEnded: false,
    pendingTotal: () => [...conn.upstreams.values()].reduce((sum, u) => sum + u.pending.length, 0),
    fail(status, reason, message) {
      if (client.writable) client.end(plainAnswer(status, reason, message));
      for (const upstream of conn.upstreams.values()) upstream.socket.destroy();
    },
    release() {
      conn.held = false;
      try {
        requests(Buffer.alloc(0));
      } catch (error) {
        return conn.fail(400, "Bad Request", error.message);
      }
      if (!conn.held) client.resume();
    },
  };
  const requests = framer(
    (head, parsed) => routeRequest(conn, head, parsed, targetPort),
    (body) => {
      if (!conn.current.socket.write(body)) {
        client.pause();
        conn.current.socket.once("drain", () => client.resume());
      }
    },
    () => {},
  );
  client.on("data", (chunk) => {
    try {
      requests(chunk);
    } catch (error) {
      conn.fail(400, "Bad Request", error.message);
    }
  });
  client.on("end", () => {
    conn.clientEnded = true;
    for (const upstream of conn.upstreams.values()) upstream.socket.end();
    if (conn.upstreams.size === 0) client.end();
  });
  client.on("close", () => {
    for (const upstream of conn.upstreams.values()) upstream.socket.destroy();
  });
}

/** A request's head: sent to its upstream (held while another upstream owes answers); how its body is framed. */
function routeRequest(conn, head, parsed, targetPort) {
  const marked = hostKey(parsed.headers.host);
  const key = marked ?? requestKey(parsed.headers);
  const target = upstreamFor(key, targetPort);
  if (!target) {
    conn.fail(503, "Service Unavailable", `no ready pod of service ${service} serves port ${targetPort}`);
    return null;
  }
  const id = `${target.host}:${target.port}`;
  // Another upstream while earlier requests are unanswered: hold this one (responses stay in order).
  if (conn.current && conn.current.id !== id && conn.pendingTotal() > 0) {
    conn.held = true;
    conn.client.pause();
    return null;
  }
  conn.current = upstreamSocket(conn, target);
  conn.current.pending.push(parsed.startLine.split(" ")[0]);
  conn.current.socket.write(marked ? withRoutingHeader(head, marked) : head);
  if (/upgrade/i.test(parsed.headers.connection ?? "") && parsed.headers.upgrade) {
    conn.current.raw = true;
    return { kind: "raw" };
  }
  return bodyFraming(parsed.headers);
}

/** The connection's socket to an upstream (one per upstream, kept alive): responses pass back to the client as bytes. */
function upstreamSocket(conn, target) {
  const { client, upstreams } = conn;
  const id = `${target.host}:${target.port}`;
  const known = upstreams.get(id);
  if (known && !known.socket.destroyed) return known;
  const socket = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
  socket.setNoDelay(true);
  const entry = { id, target, socket, pending: [], closeDelimited: false, raw: false };
  const responses = responseFramer(conn, entry);
  socket.on("data", (chunk) => {
    if (!client.write(chunk)) {
      socket.pause();
      client.once("drain", () => socket.resume());
    }
    try {
      if (!entry.raw) responses(chunk);
    } catch (error) {
      log("bad response from upstream", { upstream: id, error: error.message });
      client.destroy();
    }
  });
  socket.on("error", (error) => {
    if (entry.pending.length > 0 && !entry.answered) conn.fail(502, "Bad Gateway", `${target.key ? `developer ${target.key}'s agent ${target.pod}` : `pod ${target.pod}`} did not answer: ${error.message}`);
    else client.destroy();
  });
  socket.on("end", () => {
    if (upstreams.get(id) === entry) upstreams.delete(id);
    // A response read until close, an upgrade's end, an unanswered request, or the client already done: the client's side ends too.
    // (An idle kept-alive upstream closing is no reason: the next request opens another.)
    if (entry.closeDelimited || entry.raw || entry.pending.length > 0 || (conn.clientEnded && upstreams.size === 0)) client.end();
  });
  socket.on("close", () => {
    if (upstreams.get(id) === entry) upstreams.delete(id);
  });
  socket.once("data", () => (entry.answered = true));
  upstreams.set(id, entry);
  return entry;
}

/** Tracks where each response of an upstream ends, so a held request goes once every earlier one is answered. */
function responseFramer(conn, entry) {
  return framer(
    (head, parsed) => {
      const status = Number(parsed.startLine.split(" ")[1]);
      if (status === 101) return { kind: "raw" };
      if (status >= 100 && status < 200) {
        entry.interim = true; // 100 Continue and the like: the final response follows
        return { kind: "none" };
      }
      const method = entry.pending[0];
      if (method === "HEAD" || status === 204 || status === 304) return { kind: "none" };
      const framing = bodyFraming(parsed.headers);
      if (framing.kind === "none" && parsed.headers["content-length"] === undefined) {
        entry.closeDelimited = true;
        return { kind: "close" };
      }
      return framing;
    },
    () => {},
    () => {
      if (entry.interim) return void (entry.interim = false);
      entry.pending.shift();
      if (conn.held && conn.pendingTotal() === 0) conn.release();
    },
  );
}

/** An HTTP/1.x request line starts with a method token and a space; HTTP/2's preface is "PRI * HTTP/2.0". */
const HTTP1 = /^[A-Z]{3,12} /;

/** Non-HTTP traffic: passed to one of the Service's own pods as it is, half-close and all. */
function passThrough(socket, head, targetPort) {
  const upstream = upstreamFor(undefined, targetPort);
  if (!upstream) return socket.destroy();
  const peer = net.connect({ host: upstream.host, port: upstream.port, allowHalfOpen: true });
  peer.setNoDelay(true);
  if (head.length) peer.write(head);
  socket.pipe(peer).pipe(socket);
  peer.on("error", () => socket.destroy());
  socket.on("error", () => peer.destroy());
}

/** How long a new connection may stay silent before it counts as a server-speaks-first protocol (a database, SMTP) and passes through. */
const SNIFF_MS = 1000;

function listen({ port, targetPort }) {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.setNoDelay(true);
    socket.on("error", () => {});
    const silent = setTimeout(() => {
      socket.removeListener("data", first);
      passThrough(socket, Buffer.alloc(0), targetPort);
    }, SNIFF_MS);
    socket.once("close", () => clearTimeout(silent));
    const first = (head) => {
      clearTimeout(silent);
      socket.pause();
      const start = head.subarray(0, 13).toString("latin1");
      if (HTTP1.test(start) && !start.startsWith("PRI ")) serveHttp(socket, targetPort);
      else return void (passThrough(socket, head, targetPort), socket.resume());
      socket.unshift(head);
      socket.resume();
    };
    socket.once("data", first);
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
  mirrorPods({ namespace, labelSelector: Object.entries(originalSelector).map(([key, value]) => `${key}=${value}`).join(","), pods: originals, onChange: routesChanged, log }),
  mirrorPods({ namespace, labelSelector: KEY_LABEL, pods: agents, onChange: routesChanged, log }),
]);
await Promise.all(routerPorts.map(listen));
process.on("SIGTERM", () => {
  log("stopping");
  process.exit(0);
});
