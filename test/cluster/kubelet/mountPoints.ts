/**
 * Mount points that a pod needs but the node lacks are created on the node's filesystem
 * (mount namespaces share it). These helpers remember which paths did not exist before
 * and remove them again, deepest first and only while empty, when the pod goes.
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

export function removeCreated(paths: string[]): void {
  for (const at of [...paths].sort((a, b) => b.length - a.length)) {
    try {
      const stat = fs.lstatSync(at);
      if (stat.isDirectory()) fs.rmdirSync(at);
      else if (stat.isFile() && stat.size === 0) fs.rmSync(at);
    } catch {
      // Not empty (another pod uses it), or already gone.
    }
  }
}
