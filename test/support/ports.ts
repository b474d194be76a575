import net from "node:net";

/** Ports this process handed out: the kernel may offer a closed one again at once, so two calls in a row could collide. */
const handedOut = new Set<number>();

/** A TCP port that was free on 127.0.0.1 a moment ago, never one this process was given before. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const { port: offered } = server.address() as net.AddressInfo;
        server.close(() => resolve(offered));
      });
    });
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}
