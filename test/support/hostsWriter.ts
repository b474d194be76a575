/**
 * Test process: one of several kbridge helpers writing the same hosts file at once. For each
 * round 1..ROUNDS it waits for DIR/go-<round>, writes its block BLOCK_ID naming
 * `round<round>-<BLOCK_ID>`, and creates DIR/done-<BLOCK_ID>-<round>.
 * Env: HOSTS_FILE, BLOCK_ID, ADDRESS, DIR, ROUNDS.
 */
import fs from "node:fs";
import path from "node:path";
import { writeHostsBlock } from "../../helper/endpoints/hostsFile.ts";

const { HOSTS_FILE = "", BLOCK_ID = "", ADDRESS = "", DIR = "", ROUNDS = "0" } = process.env;
for (let round = 1; round <= Number(ROUNDS); round++) {
  while (!fs.existsSync(path.join(DIR, `go-${round}`))) await new Promise((resolve) => setTimeout(resolve, 1));
  writeHostsBlock(HOSTS_FILE, BLOCK_ID, [{ address: ADDRESS, names: [`round${round}-${BLOCK_ID}`] }], "concurrency test");
  fs.writeFileSync(path.join(DIR, `done-${BLOCK_ID}-${round}`), "");
}
