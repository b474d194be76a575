import "server-only";

/** The Prisma client for the pages' data functions (server-only: never in a client bundle). */
export { db } from "./database.ts";
