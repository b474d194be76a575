/**
 * The helper's Socket.IO server: typed contract, access control, command dispatch. A
 * factory with its dependencies injected, so tests run it on port 0 with real clients.
 */
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, type Socket } from "socket.io";
import {
  BIND_ADDRESS,
  clusterRoom,
  commandSchemas,
  HELPER_NAMESPACE,
  namespaceRefSchema,
  sessionRoom,
  type ClientToServerEvents,
  type CommandName,
  type HelperStatus,
  type ServerToClientEvents,
  type SocketData,
} from "../protocol/index.ts";
import type { Logger } from "../logs/logger.ts";
import { allowRequest, checkEveryRequest, requireToken } from "./accessControl.ts";
import { listenError } from "../shared/listenError.ts";
import { runCommand, splitAck, type CommandHandlers } from "./runCommand.ts";

export type HelperIo = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type HelperSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export interface HelperServerOptions {
  token: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  dashboardPort: number;
  status: () => HelperStatus;
  handlers: CommandHandlers;
  log: Logger;
}

export interface HelperServer {
  io: HelperIo;
  http: HttpServer;
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startHelperServer(options: HelperServerOptions): Promise<HelperServer> {
  const { log } = options;
  const http = createServer((_req, res) => {
    res.writeHead(404, { "content-type": "text/plain" }).end("kbridge helper: connect with Socket.IO\n");
  });
  let port = options.port;
  const policy = { token: options.token, helperPort: () => port, dashboardPort: options.dashboardPort };
  const io: HelperIo = new Server(http, {
    allowRequest: allowRequest(policy, log),
    // The browser connects over WebSocket only; the CLI may poll first. No CORS headers.
    cors: undefined,
    serveClient: false,
    maxHttpBufferSize: 1_000_000,
  });
  io.engine.use(checkEveryRequest(policy, log));
  const namespace = io.of(HELPER_NAMESPACE);
  namespace.use(requireToken(policy, log));
  namespace.on("connection", (socket: HelperSocket) => {
    log.debug({ client: socket.data.client, id: socket.id }, "client connected");
    socket.emit("helper:status", options.status());
    const serve = <C extends CommandName>(command: C) => {
      // Listeners take raw arguments: the payload is untrusted until runCommand parses it.
      (socket as unknown as { on(event: string, listener: (...args: unknown[]) => void): void }).on(command, (...args) => {
        const { payload, ack } = splitAck(args);
        // Asking a session's log puts this client in its room, before the lines so far are read: no line falls between.
        const sessionId = command === "session:logs" ? (payload as { sessionId?: unknown } | undefined)?.sessionId : undefined;
        if (typeof sessionId === "string") void socket.join(sessionRoom(sessionId));
        // Watching a place puts this client in its room first, so no change falls between the answer and the events.
        if (command === "cluster:watch" || command === "cluster:unwatch") {
          const place = namespaceRefSchema.safeParse(payload);
          if (place.success) void (command === "cluster:watch" ? socket.join(clusterRoom(place.data)) : socket.leave(clusterRoom(place.data)));
        }
        void runCommand(command, options.handlers[command], payload, log).then((result) => {
          if (ack) ack(result);
          else log.info({ command }, "command sent without an acknowledgement callback; result dropped");
        });
      });
    };
    for (const command of Object.keys(commandSchemas) as CommandName[]) serve(command);
  });

  await new Promise<void>((resolve, reject) => {
    http.once("error", (error) => reject(listenError(error, "helper", options.port, "KBRIDGE_HELPER_PORT")));
    http.listen(options.port, BIND_ADDRESS, () => {
      http.removeAllListeners("error");
      resolve();
    });
  });
  port = (http.address() as AddressInfo).port;
  return {
    io,
    http,
    port,
    url: `http://${BIND_ADDRESS}:${port}`,
    close: () => new Promise<void>((resolve) => void io.close(() => resolve())),
  };
}
