/** Entry of the helper process (`npm start` runs it; `npx kbridge helper` runs the same). */
import { KbridgeError } from "./protocol/index.ts";
import { runHelper, stopOnSignalsAndParentExit } from "./server/runHelper.ts";

try {
  const server = await runHelper();
  stopOnSignalsAndParentExit(server);
  process.send?.({ ready: "helper", url: server.url, port: server.port });
  console.log(`kbridge helper listening on ${server.url}`);
} catch (error) {
  const hint = error instanceof KbridgeError && error.info.hint ? `\n  ${error.info.hint}` : "";
  console.error(`kbridge helper: ${error instanceof Error ? error.message : String(error)}${hint}`);
  process.exit(1);
}
