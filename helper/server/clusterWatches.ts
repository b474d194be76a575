/**
 * The helper's watches of kbridge's objects, one per context and namespace that some client
 * looks at (the Team and Cluster pages): changes go to that place's room, gathered for a
 * moment so that one rollout is one "read again", and the watch ends with the room.
 */
import type { Namespace } from "socket.io";
import type { ClusterConnection } from "../k8s/clusterConnection.ts";
import { watchKbridgeObjects, type KbridgeWatch } from "../k8s/kbridgeWatch.ts";
import { clusterRoom } from "../protocol/index.ts";
import type { Logger } from "../logs/logger.ts";

/** How long changes are gathered before the clients are told. */
const GATHER_MS = 150;

interface Place {
  kubeContext: string;
  namespace: string;
}

interface Watching {
  watch: KbridgeWatch;
  pending: Set<string>;
  timer?: NodeJS.Timeout;
}

export class ClusterWatches {
  private readonly watching = new Map<string, Watching>();
  private clients: Namespace | undefined;

  constructor(private readonly deps: { open: (kubeContext: string) => ClusterConnection; log: Logger }) {}

  /** The helper's Socket.IO namespace, once it listens: its rooms are the watching clients. */
  attach(clients: Namespace): void {
    this.clients = clients;
    clients.adapter.on("delete-room", (room: string) => this.release(room));
  }

  /** Watches the place (once for all its clients); answers with what is watched once each kind is listed. */
  async watch(place: Place): Promise<{ watched: string[]; unwatched: string[] }> {
    const room = clusterRoom(place);
    let entry = this.watching.get(room);
    if (!entry) {
      const connection = this.deps.open(place.kubeContext);
      const pending = new Set<string>();
      const created: Watching = {
        pending,
        watch: watchKbridgeObjects(
          connection,
          place.namespace,
          (kind) => this.changed(room, place, created, kind),
          (kind, error) => this.deps.log.info({ room, kind, err: error.message }, "watch of kbridge's objects interrupted; resuming"),
        ),
      };
      entry = created;
      this.watching.set(room, entry);
    }
    const ready = await entry.watch.ready;
    // Its clients may have gone while the watch started.
    if ((this.clients?.adapter.rooms.get(room)?.size ?? 0) === 0) this.release(room);
    return ready;
  }

  /** The room emptied (its clients left or disconnected): its watch ends. */
  release(room: string): void {
    const entry = this.watching.get(room);
    if (!entry) return;
    entry.watch.stop();
    clearTimeout(entry.timer);
    this.watching.delete(room);
  }

  private changed(room: string, place: Place, entry: Watching, kind: string): void {
    entry.pending.add(kind);
    entry.timer ??= setTimeout(() => {
      entry.timer = undefined;
      const kinds = [...entry.pending].sort();
      entry.pending.clear();
      if (this.watching.get(room) === entry) this.clients?.to(room).emit("cluster:changed", { ...place, kinds });
    }, GATHER_MS);
  }
}
