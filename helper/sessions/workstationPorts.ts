/**
 * Whether the cluster's traffic finds a process on the workstation: each port the session
 * sends redirected connections to is tried every few seconds, so that a session whose
 * process is not listening says so instead of looking healthy while every request fails.
 */
import net from "node:net";

const EVERY_MS = 5000;
const CONNECT_TIMEOUT_MS = 1000;

/** Tries to connect to 127.0.0.1:port; resolves null when something accepts, else why not (ECONNREFUSED, …). */
export function probePort(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const done = (result: string | null) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => done("no answer within 1 s"));
    socket.once("connect", () => done(null));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}

/**
 * Checks `ports` now and every few seconds; reports the first that refuses (port and why),
 * or null once all accept. Returns the stop.
 */
export function watchWorkstationPorts(ports: number[], report: (refused: { port: number; error: string } | null) => void): () => void {
  let stopped = false;
  const check = async () => {
    for (const port of ports) {
      const error = await probePort(port);
      if (stopped) return;
      if (error) return report({ port, error });
    }
    if (!stopped) report(null);
  };
  void check();
  const timer = setInterval(() => void check(), EVERY_MS).unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
