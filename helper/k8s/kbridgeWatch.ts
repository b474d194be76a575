/**
 * Watches kbridge's objects in a namespace and says when any changed: the Team and Cluster
 * pages read again then, instead of every few seconds. Each kind is listed once (for its
 * resourceVersion), then watched from there; a watch that ends is resumed where it stopped,
 * one whose history is gone (410) is listed again, which counts as a change.
 */
import { Watch } from "@kubernetes/client-node";
import { KbridgeError } from "../protocol/index.ts";
import { clusterCall, type ClusterConnection } from "./clusterConnection.ts";
import { MANAGED_SELECTOR } from "./sessionLabels.ts";

interface WatchedKind {
  kind: string;
  path: (namespace: string) => string;
  list: (connection: ClusterConnection, namespace: string) => Promise<{ metadata?: { resourceVersion?: string } }>;
}

/** What changes when a session, an isolation or a restorer does: its pods, its Secret (the restorer's status), ConfigMaps, Ingresses, routers. */
const WATCHED: WatchedKind[] = [
  { kind: "Pod", path: (ns) => `/api/v1/namespaces/${ns}/pods`, list: (c, namespace) => c.core.listNamespacedPod({ namespace, labelSelector: MANAGED_SELECTOR, limit: 1 }) },
  { kind: "Secret", path: (ns) => `/api/v1/namespaces/${ns}/secrets`, list: (c, namespace) => c.core.listNamespacedSecret({ namespace, labelSelector: MANAGED_SELECTOR, limit: 1 }) },
  { kind: "ConfigMap", path: (ns) => `/api/v1/namespaces/${ns}/configmaps`, list: (c, namespace) => c.core.listNamespacedConfigMap({ namespace, labelSelector: MANAGED_SELECTOR, limit: 1 }) },
  { kind: "Ingress", path: (ns) => `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`, list: (c, namespace) => c.networking.listNamespacedIngress({ namespace, labelSelector: MANAGED_SELECTOR, limit: 1 }) },
  { kind: "Deployment", path: (ns) => `/apis/apps/v1/namespaces/${ns}/deployments`, list: (c, namespace) => c.apps.listNamespacedDeployment({ namespace, labelSelector: MANAGED_SELECTOR, limit: 1 }) },
];

const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

export interface KbridgeWatch {
  /** Once each kind was listed: the kinds watched, and those the user may not list (not watched). */
  ready: Promise<{ watched: string[]; unwatched: string[] }>;
  stop(): void;
}

interface Callbacks {
  onChange: (kind: string) => void;
  onError: (kind: string, error: Error) => void;
  stopped: () => boolean;
}

/** Starts watching; `onChange` is called (not debounced) for every change of a watched kind. */
export function watchKbridgeObjects(connection: ClusterConnection, namespace: string, onChange: (kind: string) => void, onError: (kind: string, error: Error) => void = () => undefined): KbridgeWatch {
  let stopped = false;
  const followers = WATCHED.map((kind) => new KindFollower(connection, namespace, kind, { onChange, onError, stopped: () => stopped }));
  const ready = Promise.all(followers.map(async (follower) => ({ kind: follower.kind.kind, watched: await follower.start() }))).then((kinds) => ({
    watched: kinds.filter((k) => k.watched).map((k) => k.kind),
    unwatched: kinds.filter((k) => !k.watched).map((k) => k.kind),
  }));
  return {
    ready,
    stop() {
      stopped = true;
      for (const follower of followers) follower.stop();
    },
  };
}

/** One kind: listed, then watched from the list's resourceVersion, resumed (or listed again) whenever the watch ends. */
class KindFollower {
  private resourceVersion: string | undefined;
  private retryMs = RETRY_MIN_MS;
  private abort: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly watch: Watch;

  constructor(
    private readonly connection: ClusterConnection,
    private readonly namespace: string,
    readonly kind: WatchedKind,
    private readonly callbacks: Callbacks,
  ) {
    this.watch = new Watch(connection.config);
  }

  /** False when the user may not list this kind (it is not watched then). */
  async start(): Promise<boolean> {
    try {
      await this.list();
    } catch (error) {
      if (error instanceof KbridgeError && error.info.code === "cluster-forbidden") return false;
      this.callbacks.onError(this.kind.kind, error as Error);
      this.again(true);
      return true;
    }
    this.follow();
    return true;
  }

  stop(): void {
    this.abort?.abort();
    clearTimeout(this.timer);
  }

  private async list(): Promise<void> {
    const list = await clusterCall(this.connection, `list kbridge's ${this.kind.kind} objects`, () => this.kind.list(this.connection, this.namespace));
    this.resourceVersion = list.metadata?.resourceVersion;
  }

  private again(relist: boolean): void {
    if (this.callbacks.stopped()) return;
    this.timer = setTimeout(() => void this.resume(relist), relist ? this.retryMs : 0);
  }

  private async resume(relist: boolean): Promise<void> {
    if (relist) {
      try {
        await this.list();
        // What happened while the watch was down is unknown: the pages read again.
        this.callbacks.onChange(this.kind.kind);
        this.retryMs = RETRY_MIN_MS;
      } catch (error) {
        this.callbacks.onError(this.kind.kind, error as Error);
        this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
        return this.again(true);
      }
    }
    this.follow();
  }

  private follow(): void {
    if (this.callbacks.stopped()) return;
    let gone = false;
    const query = { labelSelector: MANAGED_SELECTOR, allowWatchBookmarks: true, ...(this.resourceVersion ? { resourceVersion: this.resourceVersion } : {}) };
    const onEvent = (type: string, object: { code?: number; metadata?: { resourceVersion?: string } }) => {
      if (type === "ERROR") {
        gone = object.code === 410;
        return;
      }
      if (object.metadata?.resourceVersion) this.resourceVersion = object.metadata.resourceVersion;
      if (type !== "BOOKMARK") this.callbacks.onChange(this.kind.kind);
    };
    const onEnd = (error: Error | null) => {
      if (this.callbacks.stopped()) return;
      // A quiet watch times out on the client (no bookmark in 30 s): resumed where it was.
      const quiet = error?.name === "TimeoutError";
      if (error && !quiet) this.callbacks.onError(this.kind.kind, error);
      this.again(gone || (error !== null && !quiet));
    };
    this.watch.watch(this.kind.path(this.namespace), query, onEvent, onEnd).then(
      (abort) => {
        if (this.callbacks.stopped()) abort.abort();
        else this.abort = abort;
      },
      (error: Error) => {
        // Before any request (credentials could not be applied): tried again, slower each time.
        this.callbacks.onError(this.kind.kind, error);
        this.again(true);
      },
    );
  }
}
