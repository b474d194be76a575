/**
 * Loopback ranges of a test cluster. Several clusters can run on one machine (tests run
 * in parallel): cluster k (0–49) claims its block by holding a listening lock socket on
 * 127.(200+k).0.99, and uses
 * - pods:        127.(20+k).0.0/16
 * - ClusterIPs:  127.(100+k).0.0/16, the `kubernetes` Service at 127.(100+k).0.1
 * - ingress:     127.(200+k).0.1
 * - cluster DNS: 127.(200+k).0.10
 * None of these overlaps kbridge's own 127.1.1.0/24 endpoints or 127.0.0.1.
 */
import net from "node:net";

export const NODE_NAME = "kbridge-node";
const MAX_CLUSTERS = 50;
const LOCK_PORT = 65000;

export interface ClusterAddresses {
  index: number;
  podPrefix: string;
  servicePrefix: string;
  apiServiceIp: string;
  ingress: string;
  dns: string;
  /** Releases the block. */
  release(): Promise<void>;
}

export async function claimAddresses(): Promise<ClusterAddresses> {
  for (let index = 0; index < MAX_CLUSTERS; index++) {
    const lock = net.createServer();
    const claimed = await new Promise<boolean>((resolve) => {
      lock.once("error", () => resolve(false));
      lock.listen(LOCK_PORT, `127.${200 + index}.0.99`, () => resolve(true));
    });
    if (!claimed) continue;
    lock.unref();
    return {
      index,
      podPrefix: `127.${20 + index}`,
      servicePrefix: `127.${100 + index}`,
      apiServiceIp: `127.${100 + index}.0.1`,
      ingress: `127.${200 + index}.0.1`,
      dns: `127.${200 + index}.0.10`,
      release: () => new Promise((resolve) => lock.close(() => resolve())),
    };
  }
  throw new Error(`all ${MAX_CLUSTERS} test-cluster address blocks are in use on this machine`);
}

/** Hands out addresses `<prefix>.<a>.<b>` in order, reusing released ones. */
export class AddressPool {
  private next = 1;
  private free: string[] = [];
  private used = new Set<string>();

  constructor(private readonly prefix: string) {}

  allocate(): string {
    const reused = this.free.shift();
    if (reused) {
      this.used.add(reused);
      return reused;
    }
    if (this.next >= 254 * 254) throw new Error(`address pool ${this.prefix}.0.0/16 is exhausted`);
    const address = `${this.prefix}.${Math.floor(this.next / 254)}.${(this.next % 254) + 1}`;
    this.next += 1;
    this.used.add(address);
    return address;
  }

  /** Marks an address taken (an object that asked for a specific one). */
  claim(address: string): boolean {
    if (this.used.has(address)) return false;
    this.used.add(address);
    this.free = this.free.filter((a) => a !== address);
    return true;
  }

  release(address: string): void {
    if (this.used.delete(address)) this.free.push(address);
  }
}
