/**
 * A TCP front for the API server that a test can freeze: while frozen, no byte moves on any
 * connection either way and new connections are accepted but not served — an API server
 * that stopped answering (a control-plane outage, a partition), as clients and pods see it.
 * Thawed, everything goes on where it stopped. The pods keep running: only the API is gone.
 */
import net from "node:net";
import type { AddressInfo } from "node:net";

export interface FreezableFront {
  host: string;
  port: number;
  readonly frozen: boolean;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

interface Link {
  client: net.Socket;
  upstream?: net.Socket;
}

export async function startFreezableFront(target: { host: string; port: number }, host = "127.0.0.1"): Promise<FreezableFront> {
  const links = new Set<Link>();
  let frozen = false;

  const flow = (link: Link) => {
    const { client } = link;
    if (!link.upstream) {
      const upstream = net.connect(target);
      link.upstream = upstream;
      upstream.setNoDelay(true);
      upstream.on("error", () => client.destroy());
      upstream.on("close", () => client.destroy());
      client.on("close", () => upstream.destroy());
    }
    client.pipe(link.upstream);
    link.upstream.pipe(client);
  };
  const stall = (link: Link) => {
    link.client.unpipe();
    link.upstream?.unpipe();
    link.client.pause();
    link.upstream?.pause();
  };

  const server = net.createServer({ allowHalfOpen: false, pauseOnConnect: true }, (client) => {
    const link: Link = { client };
    links.add(link);
    client.setNoDelay(true);
    client.on("error", () => link.upstream?.destroy());
    client.on("close", () => links.delete(link));
    if (!frozen) flow(link);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  return {
    host,
    port: (server.address() as AddressInfo).port,
    get frozen() {
      return frozen;
    },
    freeze() {
      if (frozen) return;
      frozen = true;
      for (const link of links) stall(link);
    },
    thaw() {
      if (!frozen) return;
      frozen = false;
      for (const link of links) if (!link.client.destroyed) flow(link);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const link of links) {
          link.client.destroy();
          link.upstream?.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
