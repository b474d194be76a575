/**
 * The dashboard server's session recorder: a client of the helper that writes a
 * SessionRecord whenever a profile's session ends — whoever ended it (dashboard, CLI, a
 * helper restart, the cluster's restorer). It reconnects by itself; on every (re)connect it
 * records the finished sessions the helper still lists, so nothing ends unrecorded while
 * the dashboard was down (records are upserted by session id, so twice is harmless).
 */
import { createHelperSocket, sendCommand, type HelperSocket } from "../../../helper/client/helperSocket.ts";
import type { SessionView } from "../../../helper/protocol/index.ts";
import { recordSession } from "./sessionRecords.ts";

export interface SessionRecorder {
  socket: HelperSocket;
  /** Resolves once every record started so far is written (tests, shutdown). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function startSessionRecorder(helper: { url: string; token: string }, onError: (error: unknown, view?: SessionView) => void): SessionRecorder {
  const socket = createHelperSocket({ url: helper.url, token: helper.token, reconnection: true });
  let writes: Promise<void> = Promise.resolve();
  // One write at a time, in arrival order: a session's last state is the one that stays.
  const record = (view: SessionView) => {
    writes = writes.then(() => recordSession(view).then(() => undefined, (error: unknown) => onError(error, view)));
  };
  socket.on("session:updated", (view) => {
    if (view.state === "ended" || view.state === "failed") record(view);
  });
  socket.on("connect", () => {
    void sendCommand(socket, "session:list", {}).then((listed) => {
      if (listed.ok) for (const view of listed.data) if (view.state === "ended" || view.state === "failed") record(view);
    });
  });
  return {
    socket,
    flush: () => writes,
    async close() {
      socket.close();
      await writes;
    },
  };
}
