/**
 * Mount points that pods need but the node lacks are created on the node's filesystem
 * (mount namespaces share it), and removed when no running pod uses them any more. The
 * count must be node-wide: removing a directory that is a mount point in another pod's
 * namespace detaches that pod's mount (Linux ≥ 3.18), so one pod ending must not remove a
 * path another pod still has mounted.
 */
import fs from "node:fs";
import path from "node:path";

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

  /** Before a pod's containers start: remember what is missing, and count the pod in. */
  acquire(targets: string[]): void {
    for (const created of missingPaths(targets)) if (!this.users.has(created)) this.users.set(created, 0);
    for (const at of this.createdAncestors(targets)) this.users.set(at, (this.users.get(at) ?? 0) + 1);
  }

  /** After a pod's containers ended: count it out, and remove what nobody uses, deepest first. */
  release(targets: string[]): void {
    const unused: string[] = [];
    for (const at of this.createdAncestors(targets)) {
      const count = (this.users.get(at) ?? 1) - 1;
      this.users.set(at, count);
      if (count <= 0) unused.push(at);
    }
    for (const at of [...new Set(unused)].sort((a, b) => b.length - a.length)) {
      this.users.delete(at);
      try {
        const stat = fs.lstatSync(at);
        if (stat.isDirectory()) fs.rmdirSync(at);
        else if (stat.isFile() && stat.size === 0) fs.rmSync(at);
      } catch {
        // Not empty (someone else put files there), or already gone.
      }
    }
  }

  private createdAncestors(targets: string[]): string[] {
    const found: string[] = [];
    for (const target of targets) {
      for (let at = path.resolve(target); at !== path.dirname(at); at = path.dirname(at)) if (this.users.has(at)) found.push(at);
    }
    return found;
  }
}
