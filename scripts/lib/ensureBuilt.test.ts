import fs from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { tempDir } from "../../test/support/tempDir.ts";
import { isStale, type BuildStep } from "./ensureBuilt.ts";

const root = tempDir("build");
const step: BuildStep = { name: "demo", inputs: ["src", "config.js"], output: "out/BUILD_ID", command: ["true"] };

function touch(relative: string, mtimeSeconds: number): void {
  const file = path.join(root, relative);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, relative);
  // Folders count too (a deleted file changes its folder's mtime): age every ancestor.
  for (let target = file; target !== root; target = path.dirname(target)) fs.utimesSync(target, mtimeSeconds, mtimeSeconds);
}

test("a step is stale without its output, or when any input is newer, and fresh otherwise", () => {
  touch("src/deep/a.ts", 1000);
  touch("config.js", 1000);
  expect(isStale(root, step)).toBe(true);
  touch("out/BUILD_ID", 2000);
  expect(isStale(root, step)).toBe(false);
  touch("src/deep/b.ts", 3000);
  expect(isStale(root, step)).toBe(true);
  touch("out/BUILD_ID", 4000);
  expect(isStale(root, step)).toBe(false);
  touch("config.js", 5000);
  expect(isStale(root, step)).toBe(true);
  touch("out/BUILD_ID", 6000);
  fs.rmSync(path.join(root, "src/deep/a.ts"));
  expect(isStale(root, step)).toBe(true);
});
