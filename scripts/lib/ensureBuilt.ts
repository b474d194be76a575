/**
 * Builds what is missing or stale before the dashboard starts: the Prisma client (from
 * prisma/schema.prisma) and the Next.js production build (from app/, helper/, public/ and
 * the configs). Each step is skipped when its output is newer than every input.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export interface BuildStep {
  name: string;
  inputs: string[];
  output: string;
  command: string[];
}

export function buildSteps(root: string): BuildStep[] {
  const bin = (name: string) => path.join(root, "node_modules", ".bin", name);
  return [
    {
      name: "Prisma client",
      inputs: ["prisma/schema.prisma", "package-lock.json"],
      output: "generated/prisma/client.ts",
      command: [bin("prisma"), "generate"],
    },
    {
      name: "dashboard (next build)",
      inputs: ["app", "helper", "public", "generated/prisma", "next.config.js", "postcss.config.mjs", "tsconfig.json", "package-lock.json"],
      output: ".next/BUILD_ID",
      command: [bin("next"), "build"],
    },
  ];
}

/** Newest modification time under `target` (file or folder), 0 when absent. */
export function newestMtime(target: string): number {
  const stat = fs.statSync(target, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of fs.readdirSync(target)) {
    if (entry === "node_modules" || entry.startsWith(".")) continue;
    newest = Math.max(newest, newestMtime(path.join(target, entry)));
  }
  return newest;
}

export function isStale(root: string, step: BuildStep): boolean {
  const built = newestMtime(path.join(root, step.output));
  return built === 0 || step.inputs.some((input) => newestMtime(path.join(root, input)) > built);
}

/** Runs the stale steps in order; throws with the step's name when one fails. */
export function ensureBuilt(root: string, log: (line: string) => void = console.log): void {
  for (const step of buildSteps(root)) {
    if (!isStale(root, step)) continue;
    log(`kbridge: building ${step.name}…`);
    const [command, ...args] = step.command as [string, ...string[]];
    const result = spawnSync(command, args, {
      cwd: root,
      stdio: "inherit",
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
    });
    if (result.status !== 0) {
      throw new Error(`building the ${step.name} failed (exit ${result.status ?? result.signal}); see the output above`);
    }
  }
}
