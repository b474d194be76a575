/**
 * The cluster's services on the workstation: each endpoint gets a loopback address (from
 * 127.1.1.1 upward, with the hosts file naming it) or, unprivileged, a free port on
 * 127.0.0.1; a listener on each of its ports carries every accepted connection through the
 * tunnel, where the agent dials it inside the cluster. Updated live as services come and go.
 *
 * An address names one service: the helper's sessions share one register of addresses (a
 * listener on another port of a taken address would succeed, and the hosts file would then
 * give that address two names), and addresses other helpers' blocks name are left alone.
 */
import net from "node:net";
import { pipeline, type Duplex } from "node:stream";
import type { Logger } from "../logs/logger.ts";
import type { ClusterEndpoint } from "../k8s/serviceCatalog.ts";
import type { EndpointView } from "../protocol/index.ts";
import { addressesOfOtherBlocks, writeHostsBlock } from "./hostsFile.ts";

export type EndpointMode = "hosts" | "unprivileged";

/** Where the workstation reaches a cluster service: in hosts mode each port as itself on the endpoint's address, unprivileged a free port on 127.0.0.1. */
export interface MappedEndpoint extends EndpointView {
  namespace: string;
  service: string;
  hostname?: string;
}

export interface EndpointMapOptions {
  mode: EndpointMode;
  /** Hosts mode: the file and this session's block in it. */
  hostsFile: string;
  blockId: string;
  dial(host: string, port: number): Promise<Duplex>;
  log: Logger;
}

interface Live {
  endpoint: MappedEndpoint;
  servers: net.Server[];
  /** Open connections through its listeners: cut when it is unmapped (their tunnel goes too). */
  sockets: Set<net.Socket>;
}

const FIRST = [127, 1, 1, 1];

/** Every address this helper's sessions map now (one process, one register). */
const HELPER_ADDRESSES = new Set<string>();

export class EndpointMap {
  private readonly live = new Map<string, Live>();
  /** Addresses found taken (EADDRINUSE) while this map looked for one. */
  private readonly unavailable = new Set<string>();
  private hostsText = "";

  constructor(private readonly options: EndpointMapOptions) {}

  list(): MappedEndpoint[] {
    return [...this.live.values()].map((l) => structuredClone(l.endpoint)).sort((a, b) => a.key.localeCompare(b.key));
  }

  /** Maps new endpoints, unmaps gone ones (ports changed: both), and rewrites the hosts block if the names changed. */
  async update(endpoints: ClusterEndpoint[]): Promise<{ added: string[]; removed: string[] }> {
    const wanted = new Map(endpoints.map((e) => [e.key, e]));
    const removed: string[] = [];
    for (const [key, live] of this.live) {
      const next = wanted.get(key);
      if (next && samePorts(next, live.endpoint) && next.dialHost === live.endpoint.dialHost) continue;
      await this.unmap(key);
      removed.push(key);
    }
    const added: string[] = [];
    for (const endpoint of endpoints) {
      if (this.live.has(endpoint.key)) continue;
      try {
        await this.map(endpoint);
        added.push(endpoint.key);
      } catch (error) {
        this.options.log.warn({ endpoint: endpoint.key, err: (error as Error).message }, "could not map a cluster service");
      }
    }
    this.writeHosts();
    return { added, removed: removed.filter((key) => !added.includes(key)) };
  }

  /** Closes every listener (cutting the connections still open) and removes the hosts block. */
  async close(): Promise<void> {
    for (const key of [...this.live.keys()]) await this.unmap(key);
    this.writeHosts();
  }

  private async map(endpoint: ClusterEndpoint): Promise<void> {
    const { mode } = this.options;
    const elsewhere = mode === "hosts" ? addressesOfOtherBlocks(this.options.hostsFile, (id) => id === this.options.blockId) : new Set<string>();
    for (let attempt = 0; attempt < 64; attempt++) {
      const address = mode === "hosts" ? this.nextAddress(elsewhere) : "127.0.0.1";
      const mapped: MappedEndpoint = { key: endpoint.key, kind: endpoint.kind, namespace: endpoint.namespace, service: endpoint.service, ...(endpoint.hostname ? { hostname: endpoint.hostname } : {}), names: endpoint.names, dialHost: endpoint.dialHost, address, ports: [] };
      const servers: net.Server[] = [];
      const sockets = new Set<net.Socket>();
      try {
        for (const port of endpoint.ports) {
          const server = await this.listen(mapped, address, mode === "hosts" ? port.port : 0, port.port, sockets);
          servers.push(server);
          mapped.ports.push({ ...(port.name ? { name: port.name } : {}), port: port.port, listenPort: (server.address() as net.AddressInfo).port });
        }
        if (mode === "hosts") HELPER_ADDRESSES.add(address);
        this.live.set(endpoint.key, { endpoint: mapped, servers, sockets });
        return;
      } catch (error) {
        for (const server of servers) server.close();
        // Taken by another process (another helper): the next address. Anything else is final.
        if (mode !== "hosts" || (error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
        this.unavailable.add(address);
        this.options.log.debug({ address, endpoint: endpoint.key }, "address in use; trying the next one");
      }
    }
    throw new Error(`no free loopback address for ${endpoint.key}`);
  }

  private listen(endpoint: MappedEndpoint, address: string, listenPort: number, servicePort: number, sockets: Set<net.Socket>): Promise<net.Server> {
    // Half-open: a client that finishes sending (shutdown(SHUT_WR)) still gets its answer.
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
      socket.setNoDelay(true);
      socket.pause();
      socket.on("error", () => {});
      this.options.dial(endpoint.dialHost, servicePort).then(
        (stream) => {
          delete endpoint.lastError;
          socket.resume();
          pipeline(socket, stream, socket, () => undefined);
        },
        (error: Error) => {
          endpoint.lastError = error.message;
          this.options.log.warn({ endpoint: endpoint.key, port: servicePort, err: error.message }, "could not reach a cluster service");
          socket.resetAndDestroy();
        },
      );
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: address, port: listenPort, exclusive: true }, () => {
        server.off("error", reject);
        resolve(server);
      });
    });
  }

  private async unmap(key: string): Promise<void> {
    const live = this.live.get(key);
    if (!live) return;
    this.live.delete(key);
    if (this.options.mode === "hosts") HELPER_ADDRESSES.delete(live.endpoint.address);
    const closed = Promise.all(live.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    for (const socket of live.sockets) socket.destroy();
    await closed;
  }

  private nextAddress(elsewhere: Set<string>): string {
    const octets = [...FIRST];
    for (;;) {
      const address = octets.join(".");
      if (!HELPER_ADDRESSES.has(address) && !this.unavailable.has(address) && !elsewhere.has(address)) return address;
      octets[3] = (octets[3] as number) + 1;
      if ((octets[3] as number) > 254) {
        octets[3] = 1;
        octets[2] = (octets[2] as number) + 1;
        if ((octets[2] as number) > 255) throw new Error("the 127.1.0.0/16 endpoint range is exhausted");
      }
    }
  }

  private writeHosts(): void {
    if (this.options.mode !== "hosts") return;
    const entries = [...this.live.values()].map((l) => ({ address: l.endpoint.address, names: l.endpoint.names })).sort((a, b) => compareAddresses(a.address, b.address));
    const text = JSON.stringify(entries);
    if (text === this.hostsText) return;
    const { skipped } = writeHostsBlock(this.options.hostsFile, this.options.blockId, entries, "cluster services mapped by kbridge; removed when the session ends");
    if (skipped.length > 0) this.options.log.warn({ skipped }, "left out of the hosts file: not DNS names (reach those services by address)");
    this.hostsText = text;
  }
}

function samePorts(a: ClusterEndpoint, b: MappedEndpoint): boolean {
  return a.ports.length === b.ports.length && a.ports.every((p, i) => p.port === b.ports[i]?.port);
}

function compareAddresses(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return (pa[i] as number) - (pb[i] as number);
  return 0;
}
