/**
 * `npm start`: builds what is missing, starts the helper and the dashboard, prints the
 * URL, and stops both on Ctrl-C / SIGTERM.
 */
import { ensureBuilt } from "./lib/ensureBuilt.ts";
import { PROJECT_ROOT } from "./lib/projectRoot.ts";
import { KBRIDGE_PROCESSES, supervise } from "./lib/supervisor.ts";

const dev = process.env.KBRIDGE_DASHBOARD_DEV === "1";
try {
  if (!dev) ensureBuilt(PROJECT_ROOT);
} catch (error) {
  console.error(`kbridge: ${(error as Error).message}`);
  process.exit(1);
}

const supervisor = supervise(
  KBRIDGE_PROCESSES,
  { cwd: PROJECT_ROOT, env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" }, log: (line) => console.log(line) },
);
process.on("SIGINT", () => supervisor.stop("Ctrl-C"));
process.on("SIGTERM", () => supervisor.stop("SIGTERM"));

supervisor.ready.then(
  (urls) => {
    console.log(`\nkbridge is running: open ${urls.dashboard}  (helper ${urls.helper}; pids ${JSON.stringify(supervisor.pids)})\nPress Ctrl-C to stop.\n`);
  },
  (error: Error) => supervisor.stop(error.message),
);
process.exitCode = await supervisor.done;
