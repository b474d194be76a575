/** Builds bindShim.c once per content hash (into the temp folder) and returns the .so path. */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export function bindShimLibrary(): string {
  const source = fs.readFileSync(new URL("./bindShim.c", import.meta.url), "utf8");
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 12);
  const output = path.join(os.tmpdir(), `kbridge-bind-shim-${hash}.so`);
  if (fs.existsSync(output)) return output;
  const sourceFile = `${output}.${process.pid}.c`;
  const partial = `${output}.${process.pid}.tmp`;
  fs.writeFileSync(sourceFile, source);
  try {
    execFileSync("cc", ["-shared", "-fPIC", "-O2", "-o", partial, sourceFile, "-ldl"], { stdio: ["ignore", "ignore", "pipe"] });
    fs.renameSync(partial, output);
  } catch (error) {
    throw new Error(`the test cluster needs a C compiler (cc) to build its bind shim: ${(error as Error).message}`, { cause: error });
  } finally {
    fs.rmSync(sourceFile, { force: true });
    fs.rmSync(partial, { force: true });
  }
  return output;
}
