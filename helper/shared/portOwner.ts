/**
 * Names the process listening on a TCP port (Linux: /proc/net/tcp{,6} → socket inode →
 * /proc/<pid>/fd), so "port already in use" errors can say who holds it. Returns null when
 * it cannot tell (another user's process, or not Linux).
 */
import fs from "node:fs";

const LISTEN = "0A";

export interface PortOwner {
  pid: number;
  command: string;
}

export function findPortOwner(port: number): PortOwner | null {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return null;
  let pids: string[];
  try {
    pids = fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry));
  } catch {
    return null;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const match = /^socket:\[(\d+)\]$/.exec(link);
      if (match && inodes.has(match[1] as string)) return { pid: Number(pid), command: commandLine(pid) };
    }
  }
  return null;
}

/** "pid 123 (node server.js)" or "another process" — for error messages. */
export function describePortOwner(port: number): string {
  const owner = findPortOwner(port);
  return owner ? `pid ${owner.pid} (${owner.command})` : "another process";
}

function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = fs.readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (local && local.endsWith(`:${hexPort}`) && fields[3] === LISTEN && fields[9]) inodes.add(fields[9]);
    }
  }
  return inodes;
}

function commandLine(pid: string): string {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
    return raw.length > 80 ? `${raw.slice(0, 77)}...` : raw;
  } catch {
    return "unknown command";
  }
}
