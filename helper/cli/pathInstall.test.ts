/**
 * The README's step for using kbridge from one's own project folder: `npm link` in the clone
 * puts `kbridge` on the PATH (here into a temporary npm prefix, not the machine's).
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { expect, test } from "vitest";
import { tempDir } from "../../test/support/tempDir.ts";

const run = promisify(execFile);
const clone = path.resolve(import.meta.dirname, "../..");

test("after npm link, kbridge runs from a folder outside the clone", async () => {
  const prefix = tempDir("npm-prefix");
  const elsewhere = tempDir("my-project");
  await run("npm", ["link", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: clone, env: { ...process.env, npm_config_prefix: prefix } });
  expect(fs.readlinkSync(path.join(prefix, "bin", "kbridge"))).toMatch(/kbridge\/bin\/kbridge\.js$/);
  const help = await run("kbridge", ["--help"], { cwd: elsewhere, env: { ...process.env, PATH: `${path.join(prefix, "bin")}:${process.env.PATH ?? ""}` } });
  expect(help.stdout).toMatch(/^kbridge — connect a workstation process to a Kubernetes cluster\n/);
}, 60_000);
