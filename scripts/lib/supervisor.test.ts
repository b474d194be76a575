import fs from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { tempDir } from "../../test/support/tempDir.ts";
import { isAlive as alive } from "../../test/support/kbridgeProcess.ts";
import { until } from "../../test/support/until.ts";
import { supervise } from "./supervisor.ts";
import { PROJECT_ROOT } from "./projectRoot.ts";

const dir = tempDir("supervisor");

/** A child that says it is ready, then exits with `code` after `ms` (or stays until signalled). */
function entry(name: string, exit?: { code: number; ms: number }): string {
  const file = path.join(dir, `${name}.mjs`);
  fs.writeFileSync(file, `process.send({ ready: true, url: "http://${name}" });\n${exit ? `setTimeout(() => process.exit(${exit.code}), ${exit.ms});` : "setInterval(() => {}, 1000);"}\n`);
  return file;
}

test("a child marked restart is started again when it dies; the others keep running; stop ends all", async () => {
  const lines: string[] = [];
  const supervisor = supervise(
    [
      { name: "helper", entry: entry("crashing", { code: 3, ms: 300 }), restart: true },
      { name: "dashboard", entry: entry("steady") },
    ],
    { cwd: PROJECT_ROOT, env: process.env, log: (line) => lines.push(line) },
  );
  expect(await supervisor.ready).toEqual({ helper: "http://crashing", dashboard: "http://steady" });
  const first = supervisor.pids.helper as number;
  const dashboard = supervisor.pids.dashboard as number;
  await until(() => supervisor.pids.helper !== first && alive(supervisor.pids.helper as number), "the helper started again", 10_000);
  expect(lines.slice(0, 2)).toEqual(["kbridge: the helper exited unexpectedly (exit 3); starting it again", `kbridge: the helper is running again (pid ${supervisor.pids.helper})`]);
  expect(alive(dashboard)).toBe(true);
  supervisor.stop("test");
  expect(await supervisor.done).toBe(0);
  expect(alive(dashboard)).toBe(false);
});

test("a child that keeps dying is given up on, and everything stops with exit code 1", async () => {
  const lines: string[] = [];
  const supervisor = supervise(
    [
      { name: "helper", entry: entry("dying", { code: 1, ms: 10 }), restart: true },
      { name: "dashboard", entry: entry("steady-too") },
    ],
    { cwd: PROJECT_ROOT, env: process.env, log: (line) => lines.push(line) },
  );
  expect(await supervisor.done).toBe(1);
  expect(lines.filter((l) => l.includes("starting it again"))).toHaveLength(5);
  expect(lines.at(-1)).toBe("kbridge: stopping (the helper exited unexpectedly (exit 1), 5 times within a minute)");
}, 30_000);

test("a child without restart that exits stops everything", async () => {
  const supervisor = supervise(
    [
      { name: "helper", entry: entry("steady-helper"), restart: true },
      { name: "dashboard", entry: entry("quitting", { code: 0, ms: 200 }) },
    ],
    { cwd: PROJECT_ROOT, env: process.env, log: () => undefined },
  );
  const helper = (await supervisor.ready, supervisor.pids.helper as number);
  expect(await supervisor.done).toBe(1);
  expect(alive(helper)).toBe(false);
});
