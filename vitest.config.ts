import { defineConfig } from "vitest/config";

const serverOnlyStub = new URL("./test/support/serverOnlyStub.ts", import.meta.url).pathname;
// Tests never edit the machine's hosts file (it is shared): each file gets its own.
const setupFiles = [new URL("./test/support/isolateHostsFile.ts", import.meta.url).pathname];

export default defineConfig({
  test: {
    projects: [
      {
        resolve: { alias: { "server-only": serverOnlyStub } },
        test: {
          name: "unit",
          setupFiles,
          sequence: { groupOrder: 0 },
          include: ["{app,helper,scripts,test}/**/*.test.ts"],
          exclude: ["**/*.int.test.ts", "node_modules/**"],
          testTimeout: 20_000,
        },
      },
      {
        resolve: { alias: { "server-only": serverOnlyStub } },
        test: {
          name: "integration",
          setupFiles,
          include: ["{app,helper,test}/**/*.int.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Most of a cluster test's time is spent waiting (rollouts, dead-man intervals, polls):
          // three files at a time on two cores keep the whole run within CI's budget.
          maxWorkers: 3,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: "e2e",
          setupFiles,
          include: ["test/e2e/**/*.spec.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // One dashboard at a time: they share the CPU with Chromium.
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
