import fs from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { tempDir } from "../../test/support/tempDir.ts";
import { silentLogger } from "../logs/logger.ts";
import { SessionJournal } from "./sessionJournal.ts";

const dir = tempDir("journal-compat");

test("a plan journalled by an earlier version (controlPort) is read with its inbound port, so its session can be resumed", () => {
  const plan = { id: "ab12cd34", owner: "dev@box", routes: [[8080, 3000]], controlPort: 47000, outboundPort: 47001, token: "t", deadmanSeconds: 30 };
  fs.writeFileSync(path.join(dir, "ab12cd34.json"), JSON.stringify({ id: "ab12cd34", startedAt: "2026-12-01T00:00:00.000Z", input: {}, plan }));
  const [entry] = new SessionJournal(dir, silentLogger()).list();
  expect(entry?.plan).toMatchObject({ inboundPort: 47000, outboundPort: 47001 });
  expect(entry?.plan).not.toHaveProperty("controlPort");
});

test("an entry (which holds the session's private key) is owner-only from its creation, and a link in its place is replaced, not followed", () => {
  const dir = tempDir("journal-mode");
  const journal = new SessionJournal(dir, silentLogger());
  const victim = path.join(tempDir("journal-victim"), "victim");
  fs.writeFileSync(victim, "mine\n", { mode: 0o644 });
  fs.mkdirSync(dir, { recursive: true });
  fs.symlinkSync(victim, path.join(dir, "abcd1234.json"));
  const previous = process.umask(0o000);
  try {
    journal.write({ id: "abcd1234", startedAt: new Date(0).toISOString(), input: {} as never, connecting: true });
  } finally {
    process.umask(previous);
  }
  const file = path.join(dir, "abcd1234.json");
  expect(fs.lstatSync(file).isFile()).toBe(true);
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  expect(fs.readFileSync(victim, "utf8")).toBe("mine\n");
});
