/**
 * A tunnel to one of an agent's ports over a plain TCP connection (no port-forward), as a
 * test opens one to an agent on loopback. Rejects when the agent does not adopt it.
 */
import net from "node:net";
import { silentLogger } from "../../helper/logs/logger.ts";
import { openMuxTunnel, type HelloCredentials, type MuxTunnel, type MuxTunnelHandlers } from "../../helper/tunnel/muxTunnel.ts";

export function tunnelOverTcp(host: string, port: number, credentials: HelloCredentials, handlers: MuxTunnelHandlers = {}): Promise<MuxTunnel> {
  const socket = net.connect({ host, port });
  return openMuxTunnel(
    async (forward) => {
      await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
      socket.on("data", forward.data).on("close", () => forward.close()).on("drain", () => forward.drain?.());
      return { send: (chunks) => void socket.write(Buffer.concat(chunks)), buffered: () => socket.writableLength, close: () => socket.destroy() };
    },
    credentials,
    silentLogger(),
    handlers,
  );
}
