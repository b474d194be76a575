/**
 * `npm run bench [section…]`: every measurement side by side with its baseline, in one run.
 * Sections: port-forward (the test cluster's kubectl port-forward), connect (kbridge's
 * connect time and inbound tunnel), outbound (cluster services from the workstation, and
 * connect time by namespace size), log-pane (the dashboard's log pane under 10k lines/s, and
 * the session page's time to interactive), router (isolation's router against no router).
 * Without arguments, all of them.
 */
import { benchConnect } from "./connect.ts";
import { benchLogPane } from "./logPane.ts";
import { benchOutbound } from "./outbound.ts";
import { benchPortForward } from "./portForward.ts";
import { benchRouter } from "./router.ts";

const sections: Record<string, () => Promise<void>> = { "port-forward": benchPortForward, connect: benchConnect, outbound: benchOutbound, "log-pane": benchLogPane, router: benchRouter };
const chosen = process.argv.slice(2);
for (const name of chosen) {
  if (!sections[name]) {
    console.error(`Unknown bench section "${name}"; the sections are: ${Object.keys(sections).join(", ")}.`);
    process.exit(2);
  }
}
for (const name of chosen.length > 0 ? chosen : Object.keys(sections)) await sections[name]?.();
