import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaClient } from "../../../generated/prisma/client.ts";
import { kbridgeHome } from "../../../helper/shared/kbridgeHome.ts";

/**
 * The Prisma client, once per process (cached on globalThis, so dev reloads and the custom
 * server's session recorder share it with the pages). Pages' data functions import it
 * through db.ts, which guards against client bundles; the dashboard server (which runs
 * outside Next's server-only world) imports it here. The dashboard server migrates the
 * database before it serves (dashboardServer.ts).
 */
const globalForPrisma = globalThis as unknown as { kbridgePrisma?: PrismaClient };

export function db(): PrismaClient {
  globalForPrisma.kbridgePrisma ??= new PrismaClient({
    adapter: new PrismaBetterSqlite3({ url: `file:${kbridgeHome().database}` }),
  });
  return globalForPrisma.kbridgePrisma;
}
