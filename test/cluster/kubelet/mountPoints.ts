/**
 * Mount points that pods need but the node lacks are created on the node's filesystem
 * (mount namespaces share it), and removed when no running pod uses them any more. The
 * count must be machine-wide: removing a directory that is a mount point in another pod's
 * namespace detaches that pod's mount (Linux ≥ 3.18), so one pod ending must not remove a
 * path another pod still has mounted — nor may one test cluster remove a path that the pods
 * of another, in another process (test files run side by side), have mounted. So while other
 * clusters run on the machine, created paths are left to the last one to stop.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** Where the test clusters of this machine say they run (one file each), and the ledger of paths they created. */
const NODES_DIR = path.join(os.tmpdir(), "kbridge-test-cluster-nodes");
const LEDGER = path.join(NODES_DIR, "created-paths");

/** Every path from `target` up to (not including) its first existing ancestor. */
export function missingPaths(targets: string[]): string[] {
  const missing = new Set<string>();
  for (const target of targets) {
    for (let at = path.resolve(target); !fs.existsSync(at) && at !== path.dirname(at); at = path.dirname(at)) missing.add(at);
  }
  return [...missing];
}

export class MountPointRegistry {
  /** Paths this node created, with how many pod mount targets lie at or under each. */
  private readonly users = new Map<string, number>();
  private readonly node = path.join(NODES_DIR, `${process.pid}.${randomBytes(4).toString("hex")}`);

  constructor() {
    fs.mkdirSync(NODES_DIR, { recursive: true });
    fs.writeFileSync(this.node, "");
  }

  /** Before a pod's containers start: remember what is missing, and count the pod in. */
  acquire(targets: string[]): void {
    const missing = missingPaths(targets);
    for (const created of missing) if (!this.users.has(created)) this.users.set(created, 0);
    if (missing.length > 0) fs.appendFileSync(LEDGER, missing.map((at) => `${at}\n`).join(""));
    for (const at of this.createdAncestors(targets)) this.users.set(at, (this.users.get(at) ?? 0) + 1);
  }

  /** After a pod's containers ended: count it out, and remove what nobody uses, deepest first (unless another cluster runs). */
  release(targets: string[]): void {
    const unused: string[] = [];
    for (const at of this.createdAncestors(targets)) {
      const count = (this.users.get(at) ?? 1) - 1;
      this.users.set(at, count);
      if (count <= 0) unused.push(at);
    }
    for (const at of unused) this.users.delete(at);
    if (!othersRunning(this.node)) removeEmpty(unused);
  }

  /** The node stops: if it is the machine's last test cluster, every path any of them created goes. */
  close(): void {
    fs.rmSync(this.node, { force: true });
    if (othersRunning(this.node)) return;
    let recorded: string[] = [];
    try {
      recorded = fs.readFileSync(LEDGER, "utf8").split("\n").filter(Boolean);
      fs.rmSync(LEDGER, { force: true });
    } catch {
      // nothing recorded
    }
    removeEmpty(recorded);
  }

  private createdAncestors(targets: string[]): string[] {
    const found: string[] = [];
    for (const target of targets) {
      for (let at = path.resolve(target); at !== path.dirname(at); at = path.dirname(at)) if (this.users.has(at)) found.push(at);
    }
    return found;
  }
}

/** Whether another test cluster (of this process or another live one) runs on the machine; files of dead processes are removed. */
function othersRunning(self: string): boolean {
  let others = false;
  for (const name of fs.readdirSync(NODES_DIR)) {
    const file = path.join(NODES_DIR, name);
    const pid = Number(name.split(".")[0]);
    if (file === self || !Number.isInteger(pid) || name === path.basename(LEDGER)) continue;
    try {
      process.kill(pid, 0);
      others = true;
    } catch {
      fs.rmSync(file, { force: true });
    }
  }
  return others;
}

/** Removes the paths that are empty directories or empty files, deepest first. */
function removeEmpty(paths: string[]): void {
  for (const at of [...new Set(paths)].sort((a, b) => b.length - a.length)) {
    try {
      const stat = fs.lstatSync(at);
      if (stat.isDirectory()) fs.rmdirSync(at);
      else if (stat.isFile() && stat.size === 0) fs.rmSync(at);
    } catch {
      // Not empty (someone else put files there), or already gone.
    }
  }
}
