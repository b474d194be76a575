import fs from "node:fs";
import net from "node:net";

/** Ports this process handed out: never given twice. */
const handedOut = new Set<number>();

/**
 * Below the kernel's ephemeral range, where it never picks the local port of an outgoing
 * connection: a port from that range (what listening on port 0 gives) can be taken by one of
 * the suite's many connections between being handed out and being listened on (EADDRINUSE).
 */
function portRange(): [number, number] {
  let low = 32_768;
  try {
    low = Number(fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || low;
  } catch {
    // not Linux: its usual default
  }
  // [0, 0]: no room below the range, so the kernel picks (port 0).
  return low > 11_000 ? [10_000, low - 1] : [0, 0];
}
const [LOW, HIGH] = portRange();

const canListen = (port: number) =>
  new Promise<number | null>((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(null));
    server.listen(port, "127.0.0.1", () => {
      const { port: bound } = server.address() as net.AddressInfo;
      server.close(() => resolve(bound));
    });
  });

/** A TCP port that was free on 127.0.0.1 a moment ago, outside the ephemeral range, never one this process was given before. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await canListen(HIGH > LOW ? LOW + Math.floor(Math.random() * (HIGH - LOW + 1)) : 0);
    if (port === null || handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}
