/**
 * Everything kbridge does that may need privileges, and nothing else: editing the hosts
 * file (its own marked blocks only) and binding loopback addresses and low ports. Callers
 * ask first (`hostsFileWritable`, `canBind`) and fall back to unprivileged endpoints.
 *
 * The hosts file is rewritten whole — every line outside kbridge's blocks byte for byte —
 * through a temporary file and a rename when the folder allows it, else in place (a hosts
 * file bind-mounted into a container cannot be renamed over).
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

export const HOSTS_FILE_DEFAULT = "/etc/hosts";
const BEGIN = "# kbridge begin ";
const END = "# kbridge end ";

export interface HostsEntry {
  address: string;
  names: string[];
}

/** Can this process rewrite the hosts file? */
export function hostsFileWritable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.R_OK | fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes kbridge's block `id` (replacing a previous one of that id), leaving every other line
 * as it was. An empty `entries` removes the block.
 */
export function writeHostsBlock(file: string, id: string, entries: HostsEntry[], comment: string): void {
  const text = fs.readFileSync(file, "utf8");
  const kept = withoutBlocks(text, (blockId) => blockId === id);
  if (entries.length === 0) {
    if (kept !== text) replaceFile(file, kept);
    return;
  }
  const width = Math.max(...entries.map((e) => e.address.length));
  const block = [`${BEGIN}${id} — ${comment}`, ...entries.map((e) => `${e.address.padEnd(width)} ${e.names.join(" ")}`), `${END}${id}`].join("\n") + "\n";
  replaceFile(file, (kept === "" || kept.endsWith("\n") ? kept : `${kept}\n`) + block);
}

/** Removes every kbridge block whose id matches (a crashed run's leftovers); returns the ids removed. */
export function removeHostsBlocks(file: string, matches: (id: string) => boolean): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const removed: string[] = [];
  const kept = withoutBlocks(text, (id) => {
    const match = matches(id);
    if (match) removed.push(id);
    return match;
  });
  if (removed.length > 0) replaceFile(file, kept);
  return removed;
}

/** The ids of kbridge's blocks in the hosts file. */
export function hostsBlockIds(file: string): string[] {
  try {
    return [...fs.readFileSync(file, "utf8").matchAll(/^# kbridge begin (\S+)/gm)].map((m) => m[1] as string);
  } catch {
    return [];
  }
}

/** Block `id` exactly as it is in the hosts file, begin and end lines included; null when there is none. */
export function readHostsBlock(file: string, id: string): string | null {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return null;
  }
  const start = text.indexOf(`${BEGIN}${id} `);
  if (start < 0) return null;
  const endLine = text.indexOf(`${END}${id}`, start);
  const stop = endLine < 0 ? text.length : text.indexOf("\n", endLine) < 0 ? text.length : text.indexOf("\n", endLine) + 1;
  return text.slice(start, stop);
}

/** The text without the blocks `drop` selects; a block without its end line runs to the end of the file. */
function withoutBlocks(text: string, drop: (id: string) => boolean): string {
  const lines = text.split(/(?<=\n)/);
  const out: string[] = [];
  let skipping: string | null = null;
  for (const line of lines) {
    if (skipping === null && line.startsWith(BEGIN)) {
      const id = line.slice(BEGIN.length).split(/\s/)[0] ?? "";
      if (drop(id)) {
        skipping = id;
        continue;
      }
    }
    if (skipping !== null) {
      if (line.startsWith(`${END}${skipping}`)) skipping = null;
      continue;
    }
    out.push(line);
  }
  return out.join("");
}

function replaceFile(file: string, text: string): void {
  const stat = fs.statSync(file);
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.kbridge-${process.pid}`);
  try {
    fs.writeFileSync(temporary, text, { mode: stat.mode & 0o777 });
    try {
      fs.chownSync(temporary, stat.uid, stat.gid);
    } catch {
      // not ours to change: the file keeps this process's owner
    }
    fs.renameSync(temporary, file);
    return;
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    const code = (error as NodeJS.ErrnoException).code;
    // EBUSY/EXDEV: a bind-mounted file; EACCES/EPERM: the folder is not writable but the file is.
    if (!["EBUSY", "EXDEV", "EACCES", "EPERM", "EROFS"].includes(code ?? "")) throw error;
  }
  fs.writeFileSync(file, text);
}

/** Can this process listen on address:port (a 127.x alias, a port below 1024)? */
export function canBind(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
