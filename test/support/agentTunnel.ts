/**
 * A tunnel to one of an agent's ports over a plain TCP connection (no port-forward), as a
 * test opens one to an agent on loopback, or as another pod in the cluster could.
 */
import net from "node:net";
import { silentLogger } from "../../helper/logs/logger.ts";
import { openMuxTunnel, type MuxTunnel } from "../../helper/tunnel/muxTunnel.ts";

export function tunnelOverTcp(host: string, port: number, token: string, onOpen?: Parameters<typeof openMuxTunnel>[3]): Promise<MuxTunnel> {
  const socket = net.connect({ host, port });
  return openMuxTunnel(
    async (handlers) => {
      await new Promise((resolve) => socket.once("connect", resolve));
      socket.on("data", handlers.data).on("close", () => handlers.close()).on("drain", () => handlers.drain?.());
      return { send: (chunks) => void socket.write(Buffer.concat(chunks)), buffered: () => socket.writableLength, close: () => socket.destroy() };
    },
    token,
    silentLogger(),
    onOpen,
  );
}
