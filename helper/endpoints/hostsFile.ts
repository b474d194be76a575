/**
 * Everything kbridge does that may need privileges, and nothing else: editing the hosts
 * file (its own marked blocks only) and binding loopback addresses and low ports. Callers
 * ask first (`hostsFileWritable`, `canBind`) and fall back to unprivileged endpoints.
 *
 * The hosts file is shared (other helpers, other sessions, the user's own tools), so:
 * - it is rewritten whole — every byte outside kbridge's blocks as it was, a missing final
 *   newline included (a block that needed one says so, and takes it when it goes) — through
 *   a temporary file and a rename when the folder allows it, else in place without ever
 *   leaving it empty (a hosts file bind-mounted into a container cannot be renamed over);
 * - a symlinked hosts file is written through to its target;
 * - writers take a lock (beside the file, else in the temporary folder) and check after writing that their change is there (another
 *   tool may have rewritten the file meanwhile), writing again if not;
 * - only valid DNS names and IP addresses are written: a name from the cluster that is not
 *   one (a newline in it would add lines of its own) is skipped and reported.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export const HOSTS_FILE_DEFAULT = "/etc/hosts";
const BEGIN = "# kbridge begin ";
const END = "# kbridge end ";
/** On a block's first line when kbridge added the newline the file lacked before it. */
const ADDED_NEWLINE = "(newline added)";
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/i;

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

/** The names (and addresses) that may go into a hosts file: `entries` without the others, and what was left out. */
export function validHostsEntries(entries: HostsEntry[]): { entries: HostsEntry[]; skipped: string[] } {
  const skipped: string[] = [];
  const valid: HostsEntry[] = [];
  for (const entry of entries) {
    if (net.isIP(entry.address) === 0) {
      skipped.push(`${JSON.stringify(entry.address)} (not an IP address)`);
      continue;
    }
    const names = entry.names.filter((name) => DNS_NAME.test(name) || void skipped.push(`${JSON.stringify(name)} (not a DNS name)`));
    if (names.length > 0) valid.push({ address: entry.address, names });
  }
  return { entries: valid, skipped };
}

/**
 * Writes kbridge's block `id` (replacing a previous one of that id), leaving every other byte
 * as it was. An empty `entries` removes the block. Returns the names and addresses skipped
 * because they may not go into a hosts file.
 */
export function writeHostsBlock(file: string, id: string, entries: HostsEntry[], comment: string): { skipped: string[] } {
  const valid = validHostsEntries(entries);
  const oneLine = comment.replace(/[\r\n]+/g, " ");
  const change = (text: string) => {
    const kept = withoutBlocks(text, (blockId) => blockId === id);
    if (valid.entries.length === 0) return kept;
    const width = Math.max(...valid.entries.map((e) => e.address.length));
    const needsNewline = kept !== "" && !kept.endsWith("\n");
    const lines = [`${BEGIN}${id}${needsNewline ? ` ${ADDED_NEWLINE}` : ""} — ${oneLine}`, ...valid.entries.map((e) => `${e.address.padEnd(width)} ${e.names.join(" ")}`), `${END}${id}`];
    return `${kept}${needsNewline ? "\n" : ""}${lines.join("\n")}\n`;
  };
  // Done when block `id` reads as this write meant (another writer's blocks may come and go around it).
  const done = (text: string) => readBlock(text, id) === readBlock(change(text), id);
  editHostsFile(file, change, done);
  return { skipped: valid.skipped };
}

/** Removes every kbridge block whose id matches (a crashed run's leftovers); returns the ids removed. */
export function removeHostsBlocks(file: string, matches: (id: string) => boolean): string[] {
  let removed: string[] = [];
  const change = (text: string) => {
    removed = [];
    return withoutBlocks(text, (id) => {
      const match = matches(id);
      if (match) removed.push(id);
      return match;
    });
  };
  try {
    editHostsFile(file, change, (text) => blockIds(text).every((id) => !matches(id)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return removed;
}

/** The ids of kbridge's blocks in the hosts file. */
export function hostsBlockIds(file: string): string[] {
  try {
    return blockIds(fs.readFileSync(file, "utf8"));
  } catch {
    return [];
  }
}

/** The addresses named in kbridge blocks other than those `ours` selects (other sessions and helpers use them). */
export function addressesOfOtherBlocks(file: string, ours: (id: string) => boolean): Set<string> {
  const used = new Set<string>();
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return used;
  }
  let inOther = false;
  for (const line of text.split("\n")) {
    if (line.startsWith(BEGIN)) inOther = !ours(line.slice(BEGIN.length).split(/\s/)[0] ?? "");
    else if (line.startsWith(END)) inOther = false;
    else if (inOther) {
      const address = line.split(/\s+/)[0];
      if (address) used.add(address);
    }
  }
  return used;
}

function blockIds(text: string): string[] {
  return [...text.matchAll(/^# kbridge begin (\S+)/gm)].map((m) => m[1] as string);
}

/** Block `id` exactly as it is in the hosts file, begin and end lines included; null when there is none. */
export function readHostsBlock(file: string, id: string): string | null {
  try {
    return readBlock(fs.readFileSync(file, "utf8"), id);
  } catch {
    return null;
  }
}

function readBlock(text: string, id: string): string | null {
  const start = text.search(new RegExp(`^${escapeRegExp(`${BEGIN}${id} `)}`, "m"));
  if (start < 0) return null;
  const endLine = text.indexOf(`${END}${id}`, start);
  const stop = endLine < 0 ? text.length : text.indexOf("\n", endLine) < 0 ? text.length : text.indexOf("\n", endLine) + 1;
  return text.slice(start, stop);
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The text without the blocks `drop` selects; a block without its end line runs to the end of
 * the file. A block that added a newline takes it along when nothing follows it; when another
 * kbridge block follows, that one carries the mark on.
 */
function withoutBlocks(text: string, drop: (id: string) => boolean): string {
  const lines = text.split(/(?<=\n)/);
  const out: string[] = [];
  let skipping: string | null = null;
  /** The line (in `out`) whose newline a dropped block had added. */
  let added = -1;
  for (const line of lines) {
    if (skipping === null && line.startsWith(BEGIN)) {
      const id = line.slice(BEGIN.length).split(/\s/)[0] ?? "";
      if (drop(id)) {
        skipping = id;
        if (line.slice(BEGIN.length + id.length + 1).startsWith(ADDED_NEWLINE)) added = out.length - 1;
        continue;
      }
    }
    if (skipping !== null) {
      if (line.startsWith(`${END}${skipping}`)) skipping = null;
      continue;
    }
    out.push(line);
  }
  if (added >= 0) {
    const next = out[added + 1];
    if (next === undefined) out[added] = (out[added] ?? "").replace(/\n$/, "");
    else if (next.startsWith(BEGIN) && !next.includes(ADDED_NEWLINE)) {
      const id = next.slice(BEGIN.length).split(/\s/)[0] ?? "";
      out[added + 1] = `${BEGIN}${id} ${ADDED_NEWLINE}${next.slice(BEGIN.length + id.length)}`;
    }
  }
  return out.join("");
}

const LOCK_STALE_MS = 10_000;
const WRITE_TRIES = 5;

/** Applies `change` to the file's text under the lock, then checks `done` on what the file says, writing again if another tool undid it. */
function editHostsFile(file: string, change: (text: string) => string, done: (text: string) => boolean): void {
  // A symlinked hosts file is written where it leads (the link itself stays).
  const target = fs.realpathSync(file);
  const release = lock(target);
  try {
    for (let attempt = 1; ; attempt++) {
      const text = fs.readFileSync(target, "utf8");
      if (done(text)) return;
      const next = change(text);
      if (next !== text) replaceFile(target, next);
      if (done(fs.readFileSync(target, "utf8"))) return;
      if (attempt >= WRITE_TRIES) throw new Error(`the hosts file ${target} kept changing while kbridge wrote its block (${WRITE_TRIES} tries)`);
    }
  } finally {
    release();
  }
}

/**
 * A lock shared by every kbridge process on this machine for one hosts file (a file created
 * exclusively; a stale one is taken over): beside the hosts file where its folder is writable
 * (as the rename needs), else in the temporary folder.
 */
function lock(target: string): () => void {
  const besideTarget = (() => {
    try {
      fs.accessSync(path.dirname(target), fs.constants.W_OK);
      return true;
    } catch {
      return false;
    }
  })();
  const name = besideTarget ? path.join(path.dirname(target), `.${path.basename(target)}.kbridge.lock`) : path.join(os.tmpdir(), `kbridge-hosts-${createHash("sha256").update(target).digest("hex").slice(0, 16)}.lock`);
  const deadline = Date.now() + 2 * LOCK_STALE_MS;
  for (;;) {
    try {
      fs.writeFileSync(name, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      return () => fs.rmSync(name, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    if (lockIsStale(name)) {
      fs.rmSync(name, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`the hosts file ${target} stayed locked (${name}) for ${(2 * LOCK_STALE_MS) / 1000} s`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  }
}

/** A lock whose process is gone, or older than any write takes. */
function lockIsStale(name: string): boolean {
  try {
    const pid = Number(fs.readFileSync(name, "utf8").trim());
    if (Date.now() - fs.statSync(name).mtimeMs > LOCK_STALE_MS) return true;
    if (!(pid > 0)) return false; // being written this instant
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

function replaceFile(file: string, text: string): void {
  const stat = fs.statSync(file);
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.kbridge-${process.pid}`);
  try {
    fs.writeFileSync(temporary, text, { mode: stat.mode & 0o777 });
    fs.chmodSync(temporary, stat.mode & 0o777);
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
  // In place: the new text over the old, then cut to its length — a reader never sees the file empty.
  const fd = fs.openSync(file, "r+");
  try {
    fs.writeSync(fd, text, 0, "utf8");
    fs.ftruncateSync(fd, Buffer.byteLength(text));
  } finally {
    fs.closeSync(fd);
  }
}

/** Can this process listen on address:port (a 127.x alias, a port below 1024)? */
export function canBind(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
