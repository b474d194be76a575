/**
 * Applies prisma/migrations to the SQLite database at dashboard start, so users never run
 * a Prisma command (and the native schema engine, which cannot be downloaded here, is not
 * needed). Keeps Prisma's own `_prisma_migrations` ledger (name, sha256 checksum), so the
 * Prisma CLI on a machine that has the engine sees the same state.
 */
import { createHash, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { KbridgeError } from "../../../helper/protocol/index.ts";

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export function readMigrations(migrationsDir: string): Migration[] {
  return fs
    .readdirSync(migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = fs.readFileSync(path.join(migrationsDir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}

const LEDGER = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" TEXT PRIMARY KEY NOT NULL,
  "checksum" TEXT NOT NULL,
  "finished_at" DATETIME,
  "migration_name" TEXT NOT NULL,
  "logs" TEXT,
  "rolled_back_at" DATETIME,
  "started_at" DATETIME NOT NULL DEFAULT current_timestamp,
  "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

interface LedgerRow {
  migration_name: string;
  checksum: string;
  finished_at: string | null;
}

/** Brings the database at `databaseFile` up to date; returns the names it applied. */
export function migrateDatabase(databaseFile: string, migrationsDir: string): string[] {
  fs.mkdirSync(path.dirname(databaseFile), { recursive: true, mode: 0o700 });
  const db = new Database(databaseFile);
  // Profiles may hold env overrides with secrets: owner-only, like the token.
  fs.chmodSync(databaseFile, 0o600);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("busy_timeout = 5000");
    const migrations = readMigrations(migrationsDir);
    // IMMEDIATE: two dashboards starting at once do not both apply the same migration.
    return db.transaction(() => applyPending(db, migrations, databaseFile)).immediate();
  } finally {
    db.close();
  }
}

function applyPending(db: Database.Database, migrations: Migration[], databaseFile: string): string[] {
  db.exec(LEDGER);
  const rows = db
    .prepare<[], LedgerRow>(`SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL`)
    .all();
  const applied = new Map(rows.map((row) => [row.migration_name, row]));
  const known = new Set(migrations.map((migration) => migration.name));
  const unknown = rows.filter((row) => !known.has(row.migration_name));
  if (unknown.length > 0) {
    throw storeError(
      "database-newer",
      `The database ${databaseFile} was migrated by a newer kbridge (${unknown[0]?.migration_name}).`,
      "Update kbridge, or point KBRIDGE_HOME at another folder.",
    );
  }
  const done: string[] = [];
  for (const migration of migrations) {
    const row = applied.get(migration.name);
    if (row?.finished_at === null) {
      throw storeError(
        "migration-failed",
        `Migration ${migration.name} failed earlier and left ${databaseFile} half-migrated.`,
        "Move the database file aside (profiles in it can be exported by hand with sqlite3) and start again.",
      );
    }
    if (row) {
      if (row.checksum !== migration.checksum) {
        throw storeError(
          "migration-modified",
          `Migration ${migration.name} changed after it was applied to ${databaseFile}.`,
          "Restore prisma/migrations from git: applied migrations must never be edited.",
        );
      }
      continue;
    }
    db.exec(migration.sql);
    db.prepare(
      `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES (?, ?, current_timestamp, ?, current_timestamp, 1)`,
    ).run(randomUUID(), migration.checksum, migration.name);
    done.push(migration.name);
  }
  return done;
}

function storeError(code: string, message: string, hint: string): KbridgeError {
  return new KbridgeError({ code, category: "config", message, hint });
}
