/**
 * Loopback ranges of the test cluster. None overlaps kbridge's own 127.1.1.0/24 endpoints.
 * - pods:        127.20.0.0/16
 * - ClusterIPs:  127.30.0.0/16
 * - ingress:     127.40.0.1
 * - cluster DNS: 127.40.0.10
 */
export const NODE_NAME = "kbridge-node";
export const INGRESS_ADDRESS = "127.40.0.1";
export const DNS_ADDRESS = "127.40.0.10";

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
