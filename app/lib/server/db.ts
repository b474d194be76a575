import "server-only";
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaClient } from "../../../generated/prisma/client.ts";
import { kbridgeHome } from "../../../helper/home/kbridgeHome.ts";

/**
 * The Prisma client, once per process (cached on globalThis so dev reloads reuse it). Only
 * the data functions beside this file import it. The dashboard server migrates the
 * database before it serves (dashboardServer.ts).
 */
const globalForPrisma = globalThis as unknown as { kbridgePrisma?: PrismaClient };

export function db(): PrismaClient {
  globalForPrisma.kbridgePrisma ??= new PrismaClient({
    adapter: new PrismaBetterSqlite3({ url: `file:${kbridgeHome().database}` }),
  });
  return globalForPrisma.kbridgePrisma;
}
