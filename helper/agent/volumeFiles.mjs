// A volume's files, for the workstation (KubernetesLocalProcessConfig.yaml volumeMounts), as
// the agent serves them on its outbound tunnel (agent.mjs): JSON { files: [{ path, mode, data
// (base64) }] }, symlinks followed within the mounts, the kubelet's own "..data" bookkeeping
// entries skipped, at most FILES_LIMIT bytes. Only paths within one of the container's volume
// mounts are served, and only regular files: never a device, a FIFO, or a file a link leads
// to elsewhere.
import fs from "node:fs";

const FILES_LIMIT = 64 * 1024 * 1024;
const denied = (message) => Object.assign(new Error(message), { code: "EPERM" });

/** The real path of each mount that exists. */
function realMounts(volumeMounts) {
  return volumeMounts.flatMap((mount) => {
    try {
      return [fs.realpathSync(mount)];
    } catch {
      return [];
    }
  });
}

/**
 * The files under `root` (a mount path or a path within one): `{ files, bytes }`, or throws
 * with a `code` ("EPERM" for a path outside the mounts).
 */
export function readVolumeFiles(root, volumeMounts) {
  const files = [];
  let total = 0;
  const allowed = realMounts(volumeMounts);
  const inside = (real) => allowed.some((mount) => real === mount || real.startsWith(mount === "/" ? "/" : `${mount}/`));
  const seen = new Set();
  const add = (full, name) => {
    const real = fs.realpathSync(full);
    if (!inside(real)) return;
    const stat = fs.statSync(real);
    if (stat.isDirectory()) return walk(real, `${name}/`);
    if (!stat.isFile()) return;
    total += stat.size;
    if (total > FILES_LIMIT) throw new Error(`more than ${FILES_LIMIT} bytes under ${root}`);
    files.push({ path: name, mode: stat.mode & 0o777, data: fs.readFileSync(real).toString("base64") });
  };
  const walk = (dir, prefix) => {
    if (seen.has(dir)) return; // a link back up the tree
    seen.add(dir);
    for (const entry of fs.readdirSync(dir)) if (!entry.startsWith("..")) add(`${dir}/${entry}`, `${prefix}${entry}`);
  };
  if (!root.startsWith("/") || root.split("/").includes("..")) throw denied(`${root} is not an absolute path without ".."`);
  if (!volumeMounts.some((m) => root === m || root.startsWith(m.endsWith("/") ? m : `${m}/`))) throw denied(`${root} is not within a volume mount of the container`);
  const real = fs.realpathSync(root);
  if (!inside(real)) throw denied(`${root} leads outside the container's volume mounts`);
  if (fs.statSync(real).isDirectory()) walk(real, "");
  else add(real, root.split("/").pop());
  return { files, bytes: total };
}
