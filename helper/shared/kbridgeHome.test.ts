import fs from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { tempDir } from "../../test/support/tempDir.ts";
import { ensureHome, kbridgeHome, readOrCreateToken, readToken } from "./kbridgeHome.ts";

const root = tempDir("home");

test("KBRIDGE_HOME chooses the folder; ~/.kbridge otherwise", () => {
  expect(kbridgeHome({ KBRIDGE_HOME: root }).root).toBe(root);
  expect(kbridgeHome({ HOME: "/home/someone" }).root).toMatch(/\.kbridge$/);
});

test("the token is created once, owner-only, and read back unchanged", () => {
  const home = kbridgeHome({ KBRIDGE_HOME: path.join(root, "a") });
  expect(readToken(home)).toBeNull();
  const token = readOrCreateToken(home);
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(fs.statSync(home.tokenFile).mode & 0o777).toBe(0o600);
  expect(fs.statSync(home.root).mode & 0o777).toBe(0o700);
  expect(readOrCreateToken(home)).toBe(token);
  expect(readToken(home)).toBe(token);
});

test("a token file readable by others is tightened; a malformed one is replaced", () => {
  const home = kbridgeHome({ KBRIDGE_HOME: path.join(root, "b") });
  const token = readOrCreateToken(home);
  fs.chmodSync(home.tokenFile, 0o644);
  expect(readOrCreateToken(home)).toBe(token);
  expect(fs.statSync(home.tokenFile).mode & 0o777).toBe(0o600);

  fs.writeFileSync(home.tokenFile, "short\n");
  const replaced = readOrCreateToken(home);
  expect(replaced).not.toBe(token);
  expect(replaced).toMatch(/^[A-Za-z0-9_-]{43}$/);
});

test("a home that existed with wide modes (0777, 0755) becomes owner-only, with its files", () => {
  for (const wide of [0o777, 0o755]) {
    const home = kbridgeHome({ KBRIDGE_HOME: path.join(root, `wide-${wide.toString(8)}`) });
    fs.mkdirSync(home.logs, { recursive: true });
    fs.chmodSync(home.root, wide);
    fs.chmodSync(home.logs, wide);
    fs.writeFileSync(home.database, "", { mode: 0o644 });
    fs.chmodSync(home.database, 0o644);
    fs.writeFileSync(path.join(home.logs, "helper.log"), "", { mode: 0o666 });
    fs.chmodSync(path.join(home.logs, "helper.log"), 0o666);
    ensureHome(home);
    expect([home.root, home.logs].map((p) => fs.statSync(p).mode & 0o777)).toEqual([0o700, 0o700]);
    expect(fs.statSync(home.database).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(home.logs, "helper.log")).mode & 0o777).toBe(0o600);
  }
});
