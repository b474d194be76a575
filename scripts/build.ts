/** `npm run build`: builds whatever is missing or stale (also run by `npm start` and `npm test`). */
import { ensureBuilt } from "./lib/ensureBuilt.ts";
import { PROJECT_ROOT } from "./lib/projectRoot.ts";

try {
  ensureBuilt(PROJECT_ROOT);
} catch (error) {
  console.error(`kbridge: ${(error as Error).message}`);
  process.exit(1);
}
