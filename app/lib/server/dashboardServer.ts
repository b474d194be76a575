/**
 * The dashboard's HTTP server: Next.js behind one gate that refuses foreign Host headers
 * (DNS rebinding) and foreign Origins (cross-site posts) for every request — pages,
 * assets, server actions and upgrades alike. Binds 127.0.0.1 only. The database is
 * created and migrated before the first request. Beside Next.js it runs the session
 * recorder, which writes each profile's session history as the helper reports endings.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import next from "next";
import { BIND_ADDRESS, isAllowedOrigin, isLoopbackHost } from "../../../helper/protocol/index.ts";
import { ensureHome, kbridgeHome, readOrCreateToken } from "../../../helper/shared/kbridgeHome.ts";
import { listenError } from "../../../helper/shared/listenError.ts";
import { helperUrl } from "../../../helper/shared/portFromEnv.ts";
import { migrateDatabase } from "./migrate.ts";
import { startSessionRecorder } from "./sessionRecorder.ts";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export interface DashboardOptions {
  port: number;
  dev?: boolean;
  onMigrated?: (applied: string[]) => void;
}

export interface Dashboard {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const home = ensureHome(kbridgeHome());
  options.onMigrated?.(migrateDatabase(home.database, path.join(PROJECT_ROOT, "prisma/migrations")));
  const token = readOrCreateToken(home);

  let port = options.port;
  // Filled in once Next.js is prepared; until then requests get 503.
  const nextJs: {
    handle?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    upgrade?: (req: IncomingMessage, socket: Socket, head: Buffer) => Promise<void>;
  } = {};

  const server = createServer((req, res) => {
    const refusal = refuse(req, port);
    if (refusal) {
      res.writeHead(403, { "content-type": "text/plain; charset=utf-8" }).end(refusal);
      return;
    }
    if (!nextJs.handle) {
      res.writeHead(503, { "content-type": "text/plain; charset=utf-8", "retry-after": "1" }).end("kbridge dashboard is starting\n");
      return;
    }
    void nextJs.handle(req, res);
  });
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (refuse(req, port) || !nextJs.upgrade) {
      socket.end("HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n");
      return;
    }
    void nextJs.upgrade(req, socket, head);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) => reject(listenError(error, "dashboard", options.port, "KBRIDGE_PORT")));
    server.listen(options.port, BIND_ADDRESS, () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  const app = next({ dev: options.dev ?? false, dir: PROJECT_ROOT, hostname: "localhost", port, customServer: true });
  await app.prepare();
  const requestHandler = app.getRequestHandler();
  nextJs.handle = (req, res) => requestHandler(req, res);
  nextJs.upgrade = app.getUpgradeHandler();
  const recorder = startSessionRecorder({ url: helperUrl(process.env), token }, (error, view) =>
    console.error(`kbridge dashboard: could not record session ${view?.id ?? ""} in the history: ${(error as Error).message}`),
  );

  return {
    server,
    port,
    url: `http://localhost:${port}`,
    close: async () => {
      await recorder.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Why a request is refused, or null to serve it. */
function refuse(req: IncomingMessage, port: number): string | null {
  if (!isLoopbackHost(req.headers.host, port)) {
    return `kbridge refuses requests for host "${req.headers.host ?? ""}": open http://localhost:${port} instead.\n`;
  }
  if (!isAllowedOrigin(req.headers.origin, port)) {
    return `kbridge refuses requests from origin "${req.headers.origin}".\n`;
  }
  return null;
}
