/**
 * The kbridge home (`~/.kbridge`, or `KBRIDGE_HOME`): the per-install helper token, the
 * dashboard's SQLite database and one log file per process. Shared by helper, dashboard
 * server and CLI, which all run as the same user.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { KbridgeError } from "../protocol/index.ts";

/** Environment variables as kbridge reads them (a plain record, so tests can pass their own). */
export type Env = Readonly<Record<string, string | undefined>>;

export interface HomePaths {
  root: string;
  tokenFile: string;
  database: string;
  logs: string;
}

export function kbridgeHome(env: Env = process.env): HomePaths {
  // turbopackIgnore: a runtime folder of the user's, not a file of the app to trace into the build.
  const root = path.resolve(/*turbopackIgnore: true*/ env.KBRIDGE_HOME || path.join(os.homedir(), ".kbridge"));
  return {
    root,
    tokenFile: path.join(root, "helper-token"),
    database: path.join(root, "kbridge.db"),
    logs: path.join(root, "logs"),
  };
}

/** A short stable id of a home: its helper's hosts-file blocks carry it, so helpers of other homes leave them alone. */
export function homeId(home: HomePaths): string {
  return createHash("sha256").update(home.root).digest("hex").slice(0, 8);
}

/**
 * Creates the home and its log folder, owner-only (0700) — and makes them so when they
 * existed already with wider modes (a home made by hand, or by an older kbridge), with the
 * files directly in them: the database, the token, logs and journals hold secrets.
 */
export function ensureHome(home: HomePaths): HomePaths {
  try {
    fs.mkdirSync(home.logs, { recursive: true, mode: 0o700 });
    for (const folder of [home.root, home.logs]) tightenFolder(folder);
  } catch (cause) {
    throw new KbridgeError(
      {
        code: "home-unwritable",
        category: "config",
        message: `Cannot create the kbridge home ${home.root}: ${(cause as Error).message}`,
        hint: "Set KBRIDGE_HOME to a folder you can write.",
      },
      { cause },
    );
  }
  return home;
}

/** `folder` 0700 and the regular files directly in it without group or other bits (links and folders below are not followed). */
function tightenFolder(folder: string): void {
  const stat = fs.lstatSync(folder);
  if (!stat.isDirectory()) throw new Error(`${folder} is not a folder`);
  if ((stat.mode & 0o077) !== 0 && stat.uid === process.getuid?.()) fs.chmodSync(folder, 0o700);
  for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(folder, entry.name);
    const stat = fs.lstatSync(file);
    // Not ours (another user's file left there): left as it is; ours are tightened.
    if ((stat.mode & 0o077) !== 0 && stat.uid === process.getuid?.()) fs.chmodSync(file, stat.mode & 0o700);
  }
}

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{32,}$/;

/**
 * The per-install token clients present at the helper's handshake. Created once with mode
 * 0600 (exclusive create, so two processes starting together agree on one token); a file
 * that is readable by others is tightened, one that is malformed is replaced.
 */
export function readOrCreateToken(home: HomePaths): string {
  ensureHome(home);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const token = randomBytes(32).toString("base64url");
      fs.writeFileSync(home.tokenFile, token + "\n", { mode: 0o600, flag: "wx" });
      return token;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const existing = readToken(home);
    if (existing !== null) {
      if ((fs.statSync(home.tokenFile).mode & 0o077) !== 0) fs.chmodSync(home.tokenFile, 0o600);
      return existing;
    }
    fs.rmSync(home.tokenFile, { force: true });
  }
  throw new KbridgeError({
    code: "token-unavailable",
    category: "internal",
    message: `Cannot create the helper token at ${home.tokenFile}.`,
  });
}

/** The token if the file exists and holds one, else null (clients never create it). */
export function readToken(home: HomePaths): string | null {
  let text: string;
  try {
    text = fs.readFileSync(home.tokenFile, "utf8").trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  return TOKEN_PATTERN.test(text) ? text : null;
}
