import fs from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { tempDir } from "../../test/support/tempDir.ts";
import { hostsBlockIds, removeHostsBlocks, writeHostsBlock } from "./hostsFile.ts";

// Everything a real hosts file may hold: comments, tabs, blank lines, IPv6, no newline at the end.
const ORIGINAL = "127.0.0.1\tlocalhost\n# my comment\n\n::1     localhost ip6-localhost\n10.0.0.5 db.internal   # trailing\n192.168.1.2 printer";

function hostsFile(content = ORIGINAL): string {
  const file = path.join(tempDir("hosts"), "hosts");
  fs.writeFileSync(file, content, { mode: 0o644 });
  return file;
}

describe("hosts file blocks", () => {
  test("a block is appended, replaced and removed; every other byte stays", () => {
    const file = hostsFile();
    writeHostsBlock(file, "home1-s1", [{ address: "127.1.1.1", names: ["api", "api.shop", "api.shop.svc", "api.shop.svc.cluster.local"] }, { address: "127.1.1.10", names: ["store"] }], "kbridge");
    const written = fs.readFileSync(file, "utf8");
    expect(written.startsWith(`${ORIGINAL}\n# kbridge begin home1-s1 — kbridge\n`)).toBe(true);
    expect(written).toContain("127.1.1.1  api api.shop api.shop.svc api.shop.svc.cluster.local\n127.1.1.10 store\n# kbridge end home1-s1\n");
    expect(hostsBlockIds(file)).toEqual(["home1-s1"]);

    writeHostsBlock(file, "home1-s1", [{ address: "127.1.1.2", names: ["web"] }], "kbridge");
    expect(fs.readFileSync(file, "utf8")).toBe(`${ORIGINAL}\n# kbridge begin home1-s1 — kbridge\n127.1.1.2 web\n# kbridge end home1-s1\n`);

    writeHostsBlock(file, "home1-s1", [], "kbridge");
    // The newline kbridge had to add after the last line stays: the user's lines are intact.
    expect(fs.readFileSync(file, "utf8")).toBe(`${ORIGINAL}\n`);
    expect((fs.statSync(file).mode & 0o777).toString(8)).toBe("644");
  });

  test("blocks of other sessions and homes are left alone; a crashed run's blocks are removed by id", () => {
    const file = hostsFile(`${ORIGINAL}\n`);
    writeHostsBlock(file, "home1-s1", [{ address: "127.1.1.1", names: ["a"] }], "x");
    writeHostsBlock(file, "home2-s9", [{ address: "127.1.1.1", names: ["b"] }], "x");
    writeHostsBlock(file, "home1-s2", [{ address: "127.1.1.2", names: ["c"] }], "x");
    expect(removeHostsBlocks(file, (id) => id.startsWith("home1-"))).toEqual(["home1-s1", "home1-s2"]);
    expect(fs.readFileSync(file, "utf8")).toBe(`${ORIGINAL}\n# kbridge begin home2-s9 — x\n127.1.1.1 b\n# kbridge end home2-s9\n`);
    expect(removeHostsBlocks(file, () => true)).toEqual(["home2-s9"]);
    expect(fs.readFileSync(file, "utf8")).toBe(`${ORIGINAL}\n`);
  });

  test("a block cut short (no end line, a crash mid-write by another tool) is removed to the end of the file", () => {
    const file = hostsFile(`${ORIGINAL}\n# kbridge begin home1-s1 — x\n127.1.1.1 a\n`);
    expect(removeHostsBlocks(file, () => true)).toEqual(["home1-s1"]);
    expect(fs.readFileSync(file, "utf8")).toBe(`${ORIGINAL}\n`);
  });
});
