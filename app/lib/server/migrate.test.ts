import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { expect, test } from "vitest";
import { tempDir } from "../../../test/support/tempDir.ts";
import { KbridgeError } from "../../../helper/protocol/index.ts";
import { migrateDatabase, readMigrations } from "./migrate.ts";

const dir = tempDir("migrate");
const realMigrations = path.resolve(import.meta.dirname, "../../../prisma/migrations");

function copyMigrations(to: string): string {
  fs.cpSync(realMigrations, to, { recursive: true });
  return to;
}

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof KbridgeError) return error.info.code;
    throw error;
  }
  return "no error";
}

test("a fresh database gets every migration, owner-only, recorded in Prisma's ledger; a second run applies nothing", () => {
  const file = path.join(dir, "fresh", "kbridge.db");
  const names = readMigrations(realMigrations).map((m) => m.name);
  expect(names.length).toBeGreaterThan(0);
  expect(migrateDatabase(file, realMigrations)).toEqual(names);
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  const db = new Database(file, { readonly: true });
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
  expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(["Project", "Profile", "SessionRecord", "_prisma_migrations"]));
  const ledger = db.prepare(`SELECT migration_name, checksum, finished_at FROM "_prisma_migrations"`).all() as { migration_name: string; checksum: string; finished_at: string }[];
  expect(ledger.map((row) => row.migration_name)).toEqual(names);
  expect(ledger[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
  db.close();
  expect(migrateDatabase(file, realMigrations)).toEqual([]);
});

test("a new migration is applied on top, keeping the rows", () => {
  const migrations = copyMigrations(path.join(dir, "grow-migrations"));
  const file = path.join(dir, "grow", "kbridge.db");
  migrateDatabase(file, migrations);
  const db = new Database(file);
  db.prepare(`INSERT INTO Project (name, folderPath, updatedAt) VALUES ('shop', '/src/shop', 0)`).run();
  db.close();
  fs.mkdirSync(path.join(migrations, "29990101000000_add_note"));
  fs.writeFileSync(path.join(migrations, "29990101000000_add_note", "migration.sql"), `ALTER TABLE "Project" ADD COLUMN "note" TEXT;\n`);
  expect(migrateDatabase(file, migrations)).toEqual(["29990101000000_add_note"]);
  const after = new Database(file, { readonly: true });
  expect(after.prepare("SELECT name, note FROM Project").all()).toEqual([{ name: "shop", note: null }]);
  after.close();
});

test("an applied migration that was edited, or one this kbridge does not know, stops the start with a clear error", () => {
  const migrations = copyMigrations(path.join(dir, "edit-migrations"));
  const file = path.join(dir, "edit", "kbridge.db");
  migrateDatabase(file, migrations);
  const first = readMigrations(migrations)[0]!;
  fs.appendFileSync(path.join(migrations, first.name, "migration.sql"), "\n-- edited\n");
  expect(codeOf(() => migrateDatabase(file, migrations))).toBe("migration-modified");

  const newer = path.join(dir, "newer", "kbridge.db");
  migrateDatabase(newer, realMigrations);
  const db = new Database(newer);
  db.prepare(`INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count) VALUES ('x', 'y', current_timestamp, '29990101000000_from_the_future', 1)`).run();
  db.close();
  expect(codeOf(() => migrateDatabase(newer, realMigrations))).toBe("database-newer");
});

test("a failing migration leaves nothing half-applied", () => {
  const migrations = copyMigrations(path.join(dir, "bad-migrations"));
  const file = path.join(dir, "bad", "kbridge.db");
  migrateDatabase(file, migrations);
  fs.mkdirSync(path.join(migrations, "29990101000000_broken"));
  fs.writeFileSync(path.join(migrations, "29990101000000_broken", "migration.sql"), `CREATE TABLE "Half" (id INTEGER);\nALTER TABLE "NoSuchTable" ADD COLUMN x TEXT;\n`);
  expect(() => migrateDatabase(file, migrations)).toThrow(/NoSuchTable/);
  const db = new Database(file, { readonly: true });
  expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'Half'").all()).toEqual([]);
  expect(db.prepare(`SELECT count(*) AS n FROM "_prisma_migrations" WHERE migration_name LIKE '%broken'`).get()).toEqual({ n: 0 });
  db.close();
});
