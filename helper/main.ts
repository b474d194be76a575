/** Entry of the helper process (`npm start` runs it; `npx kbridge helper` runs the same). */
import { errorText } from "./protocol/index.ts";
import { runHelper, stopOnSignalsAndParentExit, tuneHeapForRelaying } from "./server/runHelper.ts";

tuneHeapForRelaying();
try {
  const server = await runHelper();
  stopOnSignalsAndParentExit(server);
  process.send?.({ ready: "helper", url: server.url, port: server.port });
  console.log(`kbridge helper listening on ${server.url}`);
} catch (error) {
  console.error(`kbridge helper: ${errorText(error)}`);
  process.exit(1);
}
