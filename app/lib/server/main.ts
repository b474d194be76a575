/** Entry of the dashboard process (`npm start` runs it beside the helper). */
import { DEFAULT_DASHBOARD_PORT, errorText } from "../../../helper/protocol/index.ts";
import { portFromEnv } from "../../../helper/shared/portFromEnv.ts";
import { startDashboard } from "./dashboardServer.ts";

try {
  const dashboard = await startDashboard({
    port: portFromEnv(process.env, "KBRIDGE_PORT", DEFAULT_DASHBOARD_PORT),
    dev: process.env.KBRIDGE_DASHBOARD_DEV === "1",
    onMigrated: (applied) => {
      if (applied.length > 0) console.log(`kbridge dashboard: database migrated (${applied.join(", ")})`);
    },
  });
  const stop = () => void dashboard.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  // Started by `npm start` with an IPC channel: when the launcher goes away, so do we.
  process.on("disconnect", stop);
  process.send?.({ ready: "dashboard", url: dashboard.url, port: dashboard.port });
  console.log(`kbridge dashboard listening on ${dashboard.url}`);
} catch (error) {
  console.error(`kbridge dashboard: ${errorText(error)}`);
  process.exit(1);
}
