import fs from "node:fs";

/** kbridge's version, from package.json (read once). */
export const KBRIDGE_VERSION: string = (
  JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;
