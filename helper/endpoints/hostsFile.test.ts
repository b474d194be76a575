import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";
import { hostsBlockIds, readHostsBlock, removeHostsBlocks, writeHostsBlock } from "./hostsFile.ts";

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
    expect(written.startsWith(`${ORIGINAL}\n# kbridge begin home1-s1 (newline added) — kbridge\n`)).toBe(true);
    expect(written).toContain("127.1.1.1  api api.shop api.shop.svc api.shop.svc.cluster.local\n127.1.1.10 store\n# kbridge end home1-s1\n");
    expect(hostsBlockIds(file)).toEqual(["home1-s1"]);

    writeHostsBlock(file, "home1-s1", [{ address: "127.1.1.2", names: ["web"] }], "kbridge");
    expect(fs.readFileSync(file, "utf8")).toBe(`${ORIGINAL}\n# kbridge begin home1-s1 (newline added) — kbridge\n127.1.1.2 web\n# kbridge end home1-s1\n`);

    writeHostsBlock(file, "home1-s1", [], "kbridge");
    // The newline kbridge had to add after the last line goes with its block: the file is byte for byte as it was.
    expect(fs.readFileSync(file, "utf8")).toBe(ORIGINAL);
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

  test("a file without a final newline is byte for byte as it was after two blocks come and go, in either order", () => {
    for (const order of [["a", "b"], ["b", "a"]]) {
      const file = hostsFile();
      writeHostsBlock(file, "a", [{ address: "127.1.1.1", names: ["a"] }], "x");
      writeHostsBlock(file, "b", [{ address: "127.1.1.2", names: ["b"] }], "x");
      writeHostsBlock(file, order[0] as string, [], "x");
      expect(fs.readFileSync(file, "utf8")).not.toMatch(/printer# kbridge/);
      writeHostsBlock(file, order[1] as string, [], "x");
      expect(fs.readFileSync(file, "utf8")).toBe(ORIGINAL);
    }
  });

  test("only DNS names and IP addresses are written: a name with a newline (or anything else) is skipped and reported", () => {
    const file = hostsFile(`${ORIGINAL}\n`);
    const { skipped } = writeHostsBlock(file, "s1", [{ address: "127.1.1.1", names: ["api", "evil\n6.6.6.6 github.com", "under_score", "api.shop.svc.cluster.local"] }, { address: "6.6.6.6\n127.0.0.1", names: ["x"] }], "a comment\nwith a newline");
    expect(skipped).toEqual(['"evil\\n6.6.6.6 github.com" (not a DNS name)', '"under_score" (not a DNS name)', '"6.6.6.6\\n127.0.0.1" (not an IP address)']);
    expect(fs.readFileSync(file, "utf8")).toBe(`${ORIGINAL}\n# kbridge begin s1 — a comment with a newline\n127.1.1.1 api api.shop.svc.cluster.local\n# kbridge end s1\n`);
  });

  test("a symlinked hosts file is written through to its target, the link kept", () => {
    const target = hostsFile(`${ORIGINAL}\n`);
    const link = path.join(path.dirname(target), "hosts-link");
    fs.symlinkSync(target, link);
    writeHostsBlock(link, "s1", [{ address: "127.1.1.1", names: ["api"] }], "x");
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readHostsBlock(target, "s1")).toBe("# kbridge begin s1 — x\n127.1.1.1 api\n# kbridge end s1\n");
    expect(removeHostsBlocks(link, () => true)).toEqual(["s1"]);
    expect(fs.readFileSync(target, "utf8")).toBe(`${ORIGINAL}\n`);
  });

  test("two helpers writing at once, 30 rounds: both blocks are there every time", async () => {
    const dir = tempDir("hosts-race");
    const file = path.join(dir, "hosts");
    const rounds = 30;
    const writers = ["helper1-s1", "helper2-s1"].map((id, i) =>
      spawn(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "../../test/support/hostsWriter.ts")], {
        env: { ...process.env, HOSTS_FILE: file, BLOCK_ID: id, ADDRESS: `127.1.1.${i + 1}`, DIR: dir, ROUNDS: String(rounds) },
        stdio: ["ignore", "ignore", "inherit"],
      }),
    );
    try {
      for (let round = 1; round <= rounds; round++) {
        fs.writeFileSync(file, ORIGINAL);
        fs.writeFileSync(path.join(dir, `go-${round}`), "");
        await until(() => ["helper1-s1", "helper2-s1"].every((id) => fs.existsSync(path.join(dir, `done-${id}-${round}`))), `round ${round}`, 15_000);
        const text = fs.readFileSync(file, "utf8");
        expect(text.startsWith(ORIGINAL), `round ${round}`).toBe(true);
        for (const id of ["helper1-s1", "helper2-s1"]) expect(text, `round ${round}`).toContain(` round${round}-${id}\n`);
      }
    } finally {
      for (const writer of writers) writer.kill();
    }
  }, 90_000);
});
