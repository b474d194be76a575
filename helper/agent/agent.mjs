// kbridge agent: runs in the cluster in place of a workload's container, on the stock
// node image, with no npm dependencies. It listens on the workload's ports and on two
// ports of its own that the helper reaches through the API server's port-forward, each
// with one multiplexed connection (./mux.mjs, shipped next to this file): on the inbound
// port, every connection the workload's ports accept travels to the workstation as a
// stream; on the outbound port, each stream the helper opens is connected from here,
// inside the cluster — cluster DNS and the pod's network identity — for the workstation's
// process.
//
// Environment:
//   KBRIDGE_PORTS          comma-separated ports to take over (the container's)
//   KBRIDGE_INBOUND_PORT   where the helper connects for inbound traffic (default 47000)
//   KBRIDGE_OUTBOUND_PORT  where the helper connects for outbound traffic (default 47001)
//   KBRIDGE_SESSION        the session id
//   KBRIDGE_HELPER_KEY     the helper's public key (./helloProof.mjs): the helper proves itself
//                          by signing a fresh challenge on each tunnel, so nothing else — not
//                          even someone who reads the pod spec or the session's Secret — can
//                          take the workload's traffic or use the agent as a proxy. Both helper
//                          ports listen on the pod's loopback only: port-forward reaches them,
//                          other pods cannot.
//   KBRIDGE_READY_PORT     a port on the pod's address that only accepts (the readiness probe)
//   KBRIDGE_VOLUME_MOUNTS  JSON list of the container's mount paths: the only files the helper may ask for
//   KBRIDGE_WAIT_MS        how long an accepted connection waits for a tunnel (default 10000)
//   KBRIDGE_PROBES         JSON list of the probes the profile keeps, which the agent answers
//                          itself so the pod stays healthy whatever the workstation does:
//                          [{"port": 8080, "path": "/healthz"}] (httpGet), [{"port": 8081}] (tcpSocket)
//   KBRIDGE_ROUTE_PROBES   "1" for an isolated agent: a request for /.kbridge/route-probe/<session>
//                          on a workload port is answered here with the session's id, so that the
//                          helper can check end to end that its routing key reaches this agent
//                          (routers send it only HTTP, so reading the first bytes delays nothing)
import fs from "node:fs";
import net from "node:net";
import { pipeline } from "node:stream";
import { checkHello, newChallenge, validPublicKey } from "./helloProof.mjs";
import { FRAME, Mux, MUX_MAGIC, MUX_MAGIC_TOKEN, readInto, TRANSPORT_HIGH_WATER } from "./mux.mjs";
import { readVolumeFiles } from "./volumeFiles.mjs";

const ports = (process.env.KBRIDGE_PORTS ?? "").split(",").filter(Boolean).map(Number);
const inboundPort = Number(process.env.KBRIDGE_INBOUND_PORT ?? 47000);
const outboundPort = Number(process.env.KBRIDGE_OUTBOUND_PORT ?? 47001);
const session = process.env.KBRIDGE_SESSION ?? "unknown";
const helperKey = process.env.KBRIDGE_HELPER_KEY ?? "";
const readyPort = Number(process.env.KBRIDGE_READY_PORT ?? inboundPort + 2);
const waitMs = Number(process.env.KBRIDGE_WAIT_MS ?? 10000);

const log = (message, fields = {}) => console.log(JSON.stringify({ time: new Date().toISOString(), session, message, ...fields }));

/**
 * A port the agent cannot listen on ends it at once, saying why (in its log, which the helper
 * reads, and in the termination message), instead of serving half the ports.
 */
const cannotListen = (port) => (error) => {
  const why = error.code === "EACCES" && port < 1024 ? "the node does not let this non-root process bind a port below 1024" : error.message;
  log("cannot listen", { port, code: error.code, reason: why });
  try {
    fs.writeFileSync("/dev/termination-log", `cannot listen on port ${port}: ${error.code ?? "error"}: ${why}`);
  } catch {
    // Not every runtime gives a termination log.
  }
  process.exit(78);
};

if (!validPublicKey(helperKey)) {
  console.error("kbridge agent: KBRIDGE_HELPER_KEY (the helper's Ed25519 public key, SPKI DER in base64) is missing or not such a key");
  process.exit(2);
}
let volumeMounts;
try {
  volumeMounts = JSON.parse(process.env.KBRIDGE_VOLUME_MOUNTS || "[]").filter((p) => typeof p === "string" && p.startsWith("/"));
} catch (error) {
  console.error(`kbridge agent: KBRIDGE_VOLUME_MOUNTS is not valid JSON: ${error.message}`);
  process.exit(2);
}
if (ports.length === 0 || ports.some((p) => !(p >= 1 && p <= 65535))) {
  console.error(`kbridge agent: KBRIDGE_PORTS must list the ports to take over (got "${process.env.KBRIDGE_PORTS ?? ""}")`);
  process.exit(2);
}

/** Port → probe paths answered here (an empty set: a TCP probe only). */
const probes = new Map();
try {
  for (const probe of JSON.parse(process.env.KBRIDGE_PROBES || "[]")) {
    if (!probes.has(probe.port)) probes.set(probe.port, new Set());
    if (probe.path) probes.get(probe.port).add(probe.path);
  }
} catch (error) {
  console.error(`kbridge agent: KBRIDGE_PROBES is not valid JSON: ${error.message}`);
  process.exit(2);
}
const PROBE_REQUEST = /^(?:GET|HEAD) (\S+) HTTP\/1\.[01]\r\n/;
const routeProbe = process.env.KBRIDGE_ROUTE_PROBES === "1" ? `GET /.kbridge/route-probe/${session} ` : undefined;

/** The helper's tunnel on the inbound port (a Mux), or null. */
let tunnel = null;
let waiters = [];

function setTunnel(next) {
  tunnel = next;
  if (next) {
    for (const resolve of waiters) resolve(next);
    waiters = [];
  }
}

function awaitTunnel() {
  if (tunnel && !tunnel.closed) return Promise.resolve(tunnel);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiters = waiters.filter((w) => w !== done);
      resolve(null);
    }, waitMs);
    const done = (value) => {
      clearTimeout(timer);
      resolve(value);
    };
    waiters.push(done);
  });
}

/** Every tunnel the helper holds now (inbound and outbound): where refusals are reported. */
const trustedTunnels = new Set();

/** Someone claimed this session and could not prove it: logged, and told to the helper at once. */
function reportRefusal(name, from, why) {
  log(`refused a ${name} connection that could not prove it is this session's helper`, { from, why });
  // Once: on the inbound tunnel while it is up, else on another the helper holds.
  const to = tunnel && !tunnel.closed ? tunnel : [...trustedTunnels].find((mux) => !mux.closed);
  if (!to) return;
  to.json(FRAME.NOTICE, 0, { refused: name, from: from ?? "unknown", why });
  to.flush();
}

/** Where a server listens, for its "listening" log line. */
const where = (server) => ({ address: server.address()?.address });

/** The helper pings every 10 s; a tunnel silent this long is dead (a port-forward gone without a word). */
const SILENCE_MS = 30000;

/**
 * A connection to one of the helper's ports, multiplexed (./mux.mjs). It counts only once
 * the helper has signed this connection's challenge with the session's key: anything else is
 * turned away and reported to the helper. `onTrusted(mux)` then; `onOpen` takes the streams
 * the helper opens (refused until trusted).
 */
/** Each connection to `server` that starts with kbridge's magic goes to `serve` (with the bytes after it); anything else is dropped. */
function sniffMagic(server, name, serve) {
  server.on("connection", (socket) => {
    socket.setNoDelay(true);
    socket.on("error", () => {});
    let head = Buffer.alloc(0);
    const sniff = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const known = Math.min(head.length, MUX_MAGIC.length);
      if (!head.subarray(0, known).equals(MUX_MAGIC.subarray(0, known))) {
        // Port scanners, or a helper of another kbridge version; one with a token claims this session.
        socket.off("data", sniff);
        if (!head.subarray(0, MUX_MAGIC_TOKEN.length).equals(MUX_MAGIC_TOKEN)) return socket.destroy();
        reportRefusal(name, socket.remoteAddress, "it offered a token, which this agent does not take");
        // Closed without a reset (what it still sends is read and dropped): it learns the tunnel ended, not that the pod failed.
        socket.on("data", () => {});
        socket.setTimeout(5000, () => socket.destroy());
        return socket.end();
      }
      if (head.length < MUX_MAGIC.length) return;
      socket.off("data", sniff);
      serve(socket, head.subarray(MUX_MAGIC.length));
    };
    socket.on("data", sniff);
  });
}

function acceptHelper(server, { name, onTrusted, onClosed, onOpen }) {
  sniffMagic(server, name, (socket, rest) => serve(socket, rest));
  const serve = (socket, rest) => {
    let trusted = false;
    let challenge;
    const refuse = (why) => {
      reportRefusal(name, socket.remoteAddress, why);
      mux.json(FRAME.HELLO, 0, { error: "not this session's helper" });
      mux.flush();
      mux.close();
      socket.end();
    };
    let heard = Date.now();
    const mux = new Mux(
      {
        write(chunks) {
          socket.cork();
          for (const chunk of chunks) socket.write(chunk);
          socket.uncork();
          return socket.writableLength < TRANSPORT_HIGH_WATER;
        },
        unsent: () => socket.writableLength,
      },
      {
        onControl(type, payload) {
          if (type === FRAME.PING) return mux.frame(FRAME.PONG, 0, payload);
          if (type !== FRAME.HELLO) return;
          let hello;
          try {
            hello = JSON.parse(payload.toString("utf8"));
          } catch {
            hello = {};
          }
          if (trusted) return;
          if (challenge === undefined) {
            if (hello.session !== session) return refuse(`it named session ${String(hello.session)}`);
            challenge = newChallenge();
            return mux.json(FRAME.HELLO, 0, { challenge });
          }
          if (!checkHello(helperKey, session, challenge, hello.signature)) return refuse("its signature does not match the session's key");
          trusted = true;
          trustedTunnels.add(mux);
          mux.json(FRAME.HELLO, 0, { ok: true });
          log(`${name} tunnel up`, { from: socket.remoteAddress });
          onTrusted?.(mux);
        },
        onOpen(stream, request) {
          if (!trusted || !onOpen) return stream.refuse(trusted ? `the ${name} port opens no streams from the helper` : "not this session's helper");
          onOpen(stream, request);
        },
      },
    );
    const silence = setInterval(() => {
      if (Date.now() - heard <= SILENCE_MS) return;
      // Trusted: a helper gone without a word; not yet: something that never said hello.
      if (trusted) log(`the helper went silent on the ${name} tunnel; closing it`, { silentMs: Date.now() - heard });
      socket.destroy();
    }, SILENCE_MS / 3);
    socket.on("data", (chunk) => {
      heard = Date.now();
      mux.receive(chunk);
    });
    socket.on("drain", () => mux.drained());
    socket.on("close", () => {
      clearInterval(silence);
      mux.close();
      trustedTunnels.delete(mux);
      if (!trusted) return;
      log(`${name} tunnel closed`);
      onClosed?.(mux);
    });
    if (rest.length > 0) mux.receive(rest);
  };
  return server;
}

// The inbound port: one helper tunnel at a time; a newer one replaces the old (the helper
// reconnecting). Each connection the workload's ports accept becomes a stream of it.
acceptHelper(net.createServer({ allowHalfOpen: true }), {
  name: "inbound",
  onTrusted(mux) {
    const previous = tunnel;
    setTunnel(mux);
    if (previous && previous !== mux) previous.close(new Error("a newer tunnel took over"));
  },
  onClosed(mux) {
    if (tunnel === mux) setTunnel(null);
  },
})
  .on("error", cannotListen(inboundPort))
  .listen(inboundPort, "127.0.0.1", function () {
    log("inbound port listening", { port: inboundPort, ...where(this) });
  });

// Outbound: each stream the helper opens on its own port is connected from here, inside the
// cluster — cluster DNS and the pod's network identity — for the workstation's process; a
// failed connect answers with the reason, which the helper shows next to the endpoint.
acceptHelper(net.createServer({ allowHalfOpen: true }), {
  name: "outbound",
  onOpen(stream, request) {
    if (typeof request.files === "string") return sendFiles(stream, request.files);
    const port = Number(request.port);
    if (typeof request.host !== "string" || !request.host || !(port >= 1 && port <= 65535)) return stream.refuse(`expected a host and a port, got ${request.host}:${request.port}`);
    const target = net.connect({ host: request.host, port, allowHalfOpen: true, onread: readInto(stream, () => target.resume()) });
    target.setNoDelay(true);
    let connected = false;
    target.once("connect", () => {
      connected = true;
      if (stream.destroyed) return target.destroy();
      stream.accept();
      // What the cluster sends goes by readInto; its end, and everything the other way, here.
      target.once("end", () => stream.end());
      pipeline(stream, target, (error) => {
        if (error && error.code !== "ERR_STREAM_PREMATURE_CLOSE" && error.code !== "ECONNRESET") log("outbound connection ended with an error", { to: `${request.host}:${port}`, error: error.message });
      });
    });
    target.once("error", (error) => {
      if (!connected) stream.refuse(`${error.code ?? "error"}: ${error.message}`);
    });
  },
})
  .on("error", cannotListen(outboundPort))
  .listen(outboundPort, "127.0.0.1", function () {
    log("outbound port listening", { port: outboundPort, ...where(this) });
  });

// Readiness: the helper's ports are on loopback, which the kubelet's probe does not reach.
net
  .createServer((socket) => socket.on("error", () => {}).end())
  .on("error", cannotListen(readyPort))
  .listen(readyPort, function () {
    log("ready port listening", { port: readyPort, ...where(this) });
  });

/** A volume's files on an outbound stream (./volumeFiles.mjs), or the reason they are not served. */
function sendFiles(stream, root) {
  let read;
  try {
    read = readVolumeFiles(root, volumeMounts);
  } catch (error) {
    return stream.refuse(`${error.code ?? "error"}: ${error.message}`);
  }
  stream.accept();
  stream.resume();
  stream.end(JSON.stringify({ files: read.files }));
  log("sent a volume's files", { path: root, files: read.files.length, bytes: read.bytes });
}

/**
 * Carries an accepted connection to the workstation (with the bytes already read, if any):
 * a stream of the helper's tunnel at once, bytes flowing before the helper has connected
 * (they wait there), and the cluster's connection reset if the workstation refuses.
 */
async function forward(socket, port, head) {
  socket.pause();
  const mux = await awaitTunnel();
  if (!mux) {
    log("no tunnel for a connection; resetting it", { port, waitedMs: waitMs });
    return socket.resetAndDestroy();
  }
  const stream = mux.open({ port });
  // Before the pipeline's own handler, which would close the cluster's connection cleanly.
  stream.once("close", () => {
    if (stream.refusal === undefined) return;
    log("workstation refused a connection", { port, reason: stream.refusal });
    socket.resetAndDestroy();
  });
  if (head) stream.write(head);
  socket.resume();
  pipeline(socket, stream, socket, (error) => {
    if (error && error.code !== "ERR_STREAM_PREMATURE_CLOSE" && error.code !== "ECONNRESET") log("connection ended with an error", { port, error: error.message });
  });
}

/**
 * A port with kept HTTP probes: the first bytes decide. The kubelet's probe (its request
 * line names a probe path, its User-Agent is kube-probe) is answered here; anything else
 * goes to the workstation, first bytes included. HTTP clients speak first, so waiting for
 * them costs nothing.
 */
function answerProbeOrForward(socket, port, paths) {
  socket.once("data", (head) => {
    socket.pause();
    const text = head.toString("latin1");
    const path = PROBE_REQUEST.exec(text)?.[1]?.split("?")[0];
    if (path && paths.has(path) && /\r\nuser-agent: *kube-probe\//i.test(text)) {
      socket.end("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n");
      return;
    }
    if (ports.includes(port)) return void forward(socket, port, head);
    socket.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
  });
}

/** An isolated agent's port: the helper's route probe is answered here, anything else goes to the workstation. */
function answerRouteProbeOrForward(socket, port) {
  socket.once("data", (head) => {
    socket.pause();
    if (!head.toString("latin1").startsWith(routeProbe)) return void forward(socket, port, head);
    socket.end(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${session.length}\r\nconnection: close\r\n\r\n${session}`);
  });
}

// The workload's ports, and the ports of kept probes.
for (const port of new Set([...ports, ...probes.keys()])) {
  const paths = probes.get(port);
  net
    .createServer({ allowHalfOpen: true }, (socket) => {
      socket.setNoDelay(true);
      socket.on("error", () => {});
      if (paths && paths.size > 0) return answerProbeOrForward(socket, port, paths);
      if (routeProbe && ports.includes(port)) return answerRouteProbeOrForward(socket, port);
      // Each accepted connection becomes a stream to the workstation at once (server-speaks-first works).
      if (ports.includes(port)) return void forward(socket, port);
      socket.end(); // a TCP probe's port that is not the workload's: accepting is the answer
    })
    .on("error", cannotListen(port))
    .listen(port, () => log("listening", { port, ...(paths ? { probes: [...paths] } : {}) }));
}

process.on("SIGTERM", () => {
  log("stopping");
  process.exit(0);
});
