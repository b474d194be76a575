/**
 * A profile's paths (config file, working directory) as the helper needs them: relative ones
 * are in the project's folder, and none may lead out of it (a profile imported from a
 * repository says where kbridge reads and runs).
 */

/** `p` with `.` and `..` segments resolved, as a POSIX path (no file system involved: this runs in the browser too). */
function normalize(p: string): string {
  const parts: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

export function inProjectFolder(folderPath: string, relativeOrAbsolute: string): string {
  const trimmed = relativeOrAbsolute.trim();
  return normalize(trimmed.startsWith("/") ? trimmed : `${folderPath.replace(/\/$/, "")}/${trimmed}`);
}

/** Why `relativeOrAbsolute` is not a place in the project's folder, or null when it is. */
export function outsideProject(folderPath: string, relativeOrAbsolute: string, what: string): string | null {
  if (relativeOrAbsolute.trim() === "") return null;
  const folder = normalize(folderPath);
  const resolved = inProjectFolder(folderPath, relativeOrAbsolute);
  if (resolved === folder || resolved.startsWith(folder === "/" ? "/" : `${folder}/`)) return null;
  return `${what} must be inside the project folder (${folder}); ${relativeOrAbsolute.trim()} is ${resolved}`;
}
