import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseEnv } from "node:util";
import { describe, expect, test } from "vitest";
import { tempDir } from "../../test/support/tempDir.ts";
import type { EnvVarView } from "../protocol/index.ts";
import { formatEnvironment } from "./formatEnv.ts";

const tricky: Record<string, string> = {
  PLAIN: "hello world",
  DOUBLE: 'say "hi"',
  SINGLE: "it's",
  BOTH: `it's "both"`,
  NEWLINES: "line one\nline two\n",
  DOLLAR: "$HOME and $(cmd) and `cmd`",
  BACKSLASH_N: "a literal \\n here",
  EMPTY: "",
  EQUALS: "a=b=c",
  HASH: "value # not a comment",
};
const vars: EnvVarView[] = Object.entries(tricky).map(([name, value]) => ({ name, value, source: "env", secret: false }));

describe("formatEnvironment", () => {
  test("dotenv round-trips through Node's own parser", () => {
    expect(parseEnv(formatEnvironment(vars, "dotenv"))).toEqual(tricky);
  });

  test("sh round-trips through a POSIX shell; names a shell cannot hold are skipped with a comment", () => {
    const file = path.join(tempDir("env-sh"), "env.sh");
    fs.writeFileSync(file, formatEnvironment([...vars, { name: "not.a.name", value: "x", source: "envFrom", secret: false }], "sh"));
    const out = execFileSync("sh", ["-c", `. "$0" && node -e 'const n = JSON.parse(process.argv[1]); console.log(JSON.stringify(Object.fromEntries(n.map((k) => [k, process.env[k]]))))' '${JSON.stringify(Object.keys(tricky))}'`, file], { env: { PATH: process.env.PATH } as unknown as NodeJS.ProcessEnv }).toString();
    expect(JSON.parse(out)).toEqual(tricky);
    expect(fs.readFileSync(file, "utf8")).toContain('# skipped "not.a.name": not a shell variable name');
  });

  test("json is the plain object; a value dotenv cannot quote is refused with what to use instead", () => {
    expect(JSON.parse(formatEnvironment(vars, "json"))).toEqual(tricky);
    expect(() => formatEnvironment([{ name: "ALL", value: "\" ' `", source: "env", secret: false }], "dotenv")).toThrow(/contains every dotenv quote character/);
  });
});
