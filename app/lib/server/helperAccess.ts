import "server-only";
import { kbridgeHome, readOrCreateToken } from "../../../helper/shared/kbridgeHome.ts";
import { helperUrl } from "../../../helper/shared/portFromEnv.ts";

export interface HelperAccess {
  url: string;
  token: string;
}

/**
 * What the browser needs to reach the helper. The token goes into the page only: the
 * dashboard serves loopback Host headers alone, and other origins cannot read its pages.
 */
let cached: HelperAccess | undefined;

/** Read once per process: the token file does not change while kbridge runs. */
export function helperAccess(): HelperAccess {
  cached ??= {
    url: helperUrl(process.env),
    token: readOrCreateToken(kbridgeHome()),
  };
  return cached;
}
