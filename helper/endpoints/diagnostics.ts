/**
 * A connected session's endpoints, checked from the workstation: each hosts-file name
 * resolved as the workstation's processes resolve it, and each mapped port reached — the
 * local listener, and the service through the agent in the cluster.
 */
import dns from "node:dns/promises";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import type { Duplex } from "node:stream";
import type { InboundCheck, NameCheck, PortCheck, SessionView } from "../protocol/index.ts";
import { HOSTS_FILE_DEFAULT } from "./hostsFile.ts";

const CHECK_TIMEOUT_MS = 3_000;
const PARALLEL = 16;

/** name → the first address a hosts file gives it (as getaddrinfo reads it: the first line wins). */
export function hostsFileNames(file: string): Map<string, string> {
  const names = new Map<string, string>();
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return names;
  }
  for (const line of text.split("\n")) {
    const [address, ...aliases] = (line.split("#")[0] ?? "").trim().split(/\s+/);
    if (!address || net.isIP(address) === 0) continue;
    for (const alias of aliases) if (!names.has(alias.toLowerCase())) names.set(alias.toLowerCase(), address);
  }
  return names;
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${CHECK_TIMEOUT_MS / 1000} s`)), CHECK_TIMEOUT_MS);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/**
 * Resolves once something on this workstation accepts a connection to host:port (then
 * closed); rejects with "host:port: why" ("nothing listens there" for a refusal).
 */
function accepts(host: string, port: number): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host, port }, () => {
        socket.destroy();
        resolve();
      });
      socket.on("error", (error: NodeJS.ErrnoException) => reject(new Error(`${host}:${port}: ${error.code === "ECONNREFUSED" ? "nothing listens there" : error.message}`)));
    }),
    `${host}:${port}`,
  );
}

async function inBatches<T, R>(items: T[], check: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let at = 0; at < items.length; at += PARALLEL) results.push(...(await Promise.all(items.slice(at, at + PARALLEL).map(check))));
  return results;
}

/**
 * Resolves every name of the endpoints: in the hosts file kbridge writes and, when that is the
 * system's own, through the system resolver too (which may differ: a resolver cache, an
 * nsswitch.conf that skips files).
 */
export async function checkNames(endpoints: NonNullable<SessionView["endpoints"]>, hostsFile: string): Promise<NameCheck[]> {
  if (endpoints.mode !== "hosts") return [];
  const inFile = hostsFileNames(hostsFile);
  const system = path.resolve(hostsFile) === HOSTS_FILE_DEFAULT;
  const wanted = endpoints.list.flatMap((endpoint) => endpoint.names.map((name) => ({ name, expected: endpoint.address })));
  return inBatches(wanted, async ({ name, expected }) => {
    const fromFile = inFile.get(name.toLowerCase()) ?? null;
    if (!system) return { name, expected, hostsFile: fromFile, ok: fromFile === expected };
    const resolved = await withTimeout(dns.lookup(name, { family: 4 }), name).then(
      (answer) => answer.address,
      () => null,
    );
    return { name, expected, hostsFile: fromFile, system: resolved, ok: fromFile === expected && resolved === expected };
  });
}

/** Opens each mapped port's listener, and has the agent connect to the service in the cluster. */
export async function checkPorts(endpoints: NonNullable<SessionView["endpoints"]>, dial: (host: string, port: number) => Promise<Duplex>): Promise<PortCheck[]> {
  const wanted = endpoints.list.flatMap((endpoint) => endpoint.ports.map((port) => ({ endpoint, port })));
  return inBatches(wanted, async ({ endpoint, port }) => {
    const base = { endpoint: endpoint.key, address: endpoint.address, port: port.port, listenPort: port.listenPort };
    const started = performance.now();
    try {
      await accepts(endpoint.address, port.listenPort).catch((error: Error) => {
        throw new Error(`the workstation listener ${error.message}`);
      });
      const connection = await withTimeout(dial(endpoint.dialHost, port.port), `${endpoint.dialHost}:${port.port} in the cluster`);
      connection.destroy();
      return { ...base, ok: true, ms: Math.round(performance.now() - started) };
    } catch (error) {
      return { ...base, ok: false, ms: Math.round(performance.now() - started), error: (error as Error).message };
    }
  });
}

/**
 * The inbound side: the cluster's traffic for each container port goes to 127.0.0.1 on its
 * workstation port; is anything listening there?
 */
export async function checkInbound(routes: [number, number][]): Promise<InboundCheck[]> {
  return inBatches(routes, async ([containerPort, workstationPort]) => {
    const started = performance.now();
    const failure = await accepts("127.0.0.1", workstationPort).then(
      () => undefined,
      (error: Error) => error.message,
    );
    return { containerPort, workstationPort, ok: failure === undefined, ms: Math.round(performance.now() - started), ...(failure ? { error: failure } : {}) };
  });
}

