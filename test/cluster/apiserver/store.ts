/**
 * The emulator's etcd: objects by type/namespace/name, one global resourceVersion counter,
 * a ring of recent watch events so watches resume from any recent resourceVersion (older
 * ones get 410 Gone), and garbage collection by ownerReferences.
 */
import { randomUUID } from "node:crypto";
import { apiVersionOf, type ResourceType } from "./resources.ts";
import { ApiError, alreadyExists, conflict, notFound } from "./status.ts";
import { canonicalJson } from "./canonicalJson.ts";
import { validate } from "./validation.ts";

export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    generateName?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    [key: string]: unknown;
  };
  spec?: unknown;
  status?: unknown;
  [key: string]: unknown;
};

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoredEvent {
  rv: number;
  type: WatchEventType;
  resource: ResourceType;
  object: KubeObject;
}

export type WatchListener = (event: StoredEvent) => void;

const RING_SIZE = 10_000;
const NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789";

const keyOf = (type: ResourceType, namespace: string | undefined, name: string) => `${type.group}/${type.plural}/${namespace ?? ""}/${name}`;
const clone = <T>(value: T): T => structuredClone(value);

export class ObjectStore {
  private objects = new Map<string, { resource: ResourceType; object: KubeObject }>();
  private ring: StoredEvent[] = [];
  private listeners = new Set<WatchListener>();
  private revision = 1;

  /**
   * `ringSize`: how many recent events a watch can resume from (tests make it small to
   * provoke 410 Gone). `admission`: defaults and allocations applied on create/delete.
   */
  constructor(
    private readonly ringSize = RING_SIZE,
    private readonly admission?: {
      onCreate(type: ResourceType, object: KubeObject): void;
      onWrite(type: ResourceType, object: KubeObject, old?: KubeObject): void;
      onDelete(type: ResourceType, object: KubeObject): void;
      /** Validating admission (LimitRange, Pod Security, quota): throws to refuse; returns warnings. */
      admit?(store: ObjectStore, type: ResourceType, object: KubeObject, operation: "create" | "update", old?: KubeObject): string[];
    },
  ) {}

  get resourceVersion(): string {
    return String(this.revision);
  }

  list(type: ResourceType, namespace?: string): KubeObject[] {
    const prefix = `${type.group}/${type.plural}/${namespace ?? ""}`;
    const items: KubeObject[] = [];
    for (const [key, entry] of this.objects) {
      if (namespace === undefined ? key.startsWith(`${type.group}/${type.plural}/`) : key.startsWith(`${prefix}/`)) items.push(clone(entry.object));
    }
    return items.sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const entry = this.objects.get(keyOf(type, namespace, name));
    if (!entry) throw notFound(type.plural, name, type.group);
    return clone(entry.object);
  }

  find(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const entry = this.objects.get(keyOf(type, namespace, name));
    return entry ? clone(entry.object) : undefined;
  }

  /**
   * Stores a new object: name from generateName, uid, timestamps, generation. `dryRun` returns
   * it unstored (admitted all the same); admission's warnings go into `warnings`.
   */
  create(type: ResourceType, input: KubeObject, options: { dryRun?: boolean; warnings?: string[] } = {}): KubeObject {
    const object = clone(input);
    object.apiVersion = apiVersionOf(type);
    object.kind = type.kind;
    const meta = object.metadata;
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomSuffix();
    if (!meta.name) throw new ApiError(422, "Invalid", `${type.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
    if (this.objects.has(keyOf(type, meta.namespace, meta.name))) throw alreadyExists(type.plural, meta.name, type.group);
    this.admission?.onCreate(type, object);
    try {
      validate(type, object);
      const warnings = this.admission?.admit?.(this, type, object, "create") ?? [];
      options.warnings?.push(...warnings);
    } catch (error) {
      // Refused: nothing admission allocated (a ClusterIP) is kept.
      this.admission?.onDelete(type, object);
      throw error;
    }
    meta.uid = randomUUID();
    meta.creationTimestamp = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    if (object.spec !== undefined) meta.generation = 1;
    if (options.dryRun) {
      // Defaulted like the real thing, but nothing it allocated is kept.
      this.admission?.onDelete(type, object);
      return object;
    }
    return this.commit("ADDED", type, object);
  }

  /** Replaces an object; a stale `metadata.resourceVersion` is a 409 Conflict. Spec changes bump the generation. */
  update(type: ResourceType, input: KubeObject, options: { dryRun?: boolean; warnings?: string[] } = {}): KubeObject {
    const name = input.metadata.name ?? "";
    const current = this.objects.get(keyOf(type, input.metadata.namespace, name));
    if (!current) throw notFound(type.plural, name, type.group);
    const expected = input.metadata.resourceVersion;
    if (expected && expected !== current.object.metadata.resourceVersion) throw conflict(type.plural, name);
    const object = clone(input);
    object.apiVersion = apiVersionOf(type);
    object.kind = type.kind;
    this.admission?.onWrite(type, object, current.object);
    validate(type, object, current.object);
    const warnings = this.admission?.admit?.(this, type, object, "update", current.object) ?? [];
    options.warnings?.push(...warnings);
    const before = current.object.metadata;
    Object.assign(object.metadata, { uid: before.uid, creationTimestamp: before.creationTimestamp, generation: before.generation });
    if (before.deletionTimestamp) object.metadata.deletionTimestamp = before.deletionTimestamp;
    if (object.spec !== undefined && canonicalJson(object.spec) !== canonicalJson(current.object.spec)) object.metadata.generation = (before.generation ?? 0) + 1;
    if (options.dryRun) return object;
    if (canonicalJson({ ...object, metadata: { ...object.metadata, resourceVersion: undefined } }) === canonicalJson({ ...current.object, metadata: { ...before, resourceVersion: undefined } })) {
      return clone(current.object);
    }
    return this.commit("MODIFIED", type, object);
  }

  /** Removes an object (and, by garbage collection, the dependents it alone owned); returns its last state. */
  delete(type: ResourceType, namespace: string | undefined, name: string, options: { dryRun?: boolean } = {}): KubeObject {
    const key = keyOf(type, namespace, name);
    const entry = this.objects.get(key);
    if (!entry) throw notFound(type.plural, name, type.group);
    if (options.dryRun) return clone(entry.object);
    this.objects.delete(key);
    this.admission?.onDelete(type, entry.object);
    const last = this.record("DELETED", type, entry.object);
    this.collectGarbage();
    return last;
  }

  /**
   * Foreground deletion: the object stays, with a deletionTimestamp and the
   * `foregroundDeletion` finalizer, while its dependents go (pods gracefully, after
   * `podGrace(pod)` seconds, by the kubelet; anything else in foreground too); it goes once
   * nothing it owns is left.
   */
  deleteForeground(type: ResourceType, namespace: string | undefined, name: string, podGrace: (pod: KubeObject) => number): KubeObject {
    const entry = this.objects.get(keyOf(type, namespace, name));
    if (!entry) throw notFound(type.plural, name, type.group);
    const marked = this.markForeground(entry.resource, entry.object);
    this.deleteDependents(marked.metadata.uid ?? "", podGrace);
    this.collectGarbage();
    return clone(this.objects.get(keyOf(type, namespace, name))?.object ?? marked);
  }

  /** Orphan deletion: the dependents lose their owner reference to the object and stay; the object goes. */
  deleteOrphaning(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const entry = this.objects.get(keyOf(type, namespace, name));
    if (!entry) throw notFound(type.plural, name, type.group);
    const uid = entry.object.metadata.uid;
    for (const dependent of [...this.objects.values()].filter(({ object }) => object.metadata.ownerReferences?.some((owner) => owner.uid === uid))) {
      const object = clone(dependent.object);
      object.metadata.ownerReferences = object.metadata.ownerReferences?.filter((owner) => owner.uid !== uid);
      if (object.metadata.ownerReferences?.length === 0) delete object.metadata.ownerReferences;
      this.commit("MODIFIED", dependent.resource, object);
    }
    return this.delete(type, namespace, name);
  }

  private markForeground(resource: ResourceType, object: KubeObject): KubeObject {
    if (object.metadata.finalizers?.includes(FOREGROUND)) return clone(object);
    const marked = clone(object);
    marked.metadata.deletionTimestamp ??= new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    marked.metadata.finalizers = [...(marked.metadata.finalizers ?? []), FOREGROUND];
    return this.commit("MODIFIED", resource, marked);
  }

  private deleteDependents(uid: string, podGrace: (pod: KubeObject) => number): void {
    for (const { resource, object } of [...this.objects.values()].filter((entry) => entry.object.metadata.ownerReferences?.some((owner) => owner.uid === uid))) {
      const { namespace, name = "" } = object.metadata;
      if (resource.kind === "Pod") {
        const grace = podGrace(object);
        if (grace > 0) this.beginDeletion(resource, namespace, name, grace);
        else this.delete(resource, namespace, name);
        continue;
      }
      this.markForeground(resource, object);
      this.deleteDependents(object.metadata.uid ?? "", podGrace);
    }
  }

  /**
   * Graceful deletion (pods): stamps deletionTimestamp and the grace period; the kubelet
   * deletes the object once the processes are gone. Already terminating: unchanged.
   */
  beginDeletion(type: ResourceType, namespace: string | undefined, name: string, graceSeconds: number): KubeObject {
    const entry = this.objects.get(keyOf(type, namespace, name));
    if (!entry) throw notFound(type.plural, name, type.group);
    if (entry.object.metadata.deletionTimestamp) return clone(entry.object);
    const object = clone(entry.object);
    object.metadata.deletionTimestamp = new Date(Date.now() + graceSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
    object.metadata.deletionGracePeriodSeconds = graceSeconds;
    return this.commit("MODIFIED", type, object);
  }

  /** Every stored object, for controllers and namespace deletion. */
  all(): { resource: ResourceType; object: KubeObject }[] {
    return [...this.objects.values()].map(({ resource, object }) => ({ resource, object: clone(object) }));
  }

  /**
   * Subscribes to events after `sinceRv` (replayed from the ring first). Throws 410 Gone
   * when the ring no longer holds everything after `sinceRv`.
   */
  watch(sinceRv: number, listener: WatchListener): () => void {
    const oldest = this.ring[0]?.rv ?? this.revision + 1;
    if (sinceRv < oldest - 1 && sinceRv < this.revision) {
      throw new ApiError(410, "Expired", `too old resource version: ${sinceRv} (${oldest - 1})`);
    }
    for (const event of this.ring) if (event.rv > sinceRv) listener(event);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** How many watches are subscribed now (the cluster's own controllers among them): tests see a client's watch end. */
  get watchCount(): number {
    return this.listeners.size;
  }

  private commit(type: WatchEventType, resource: ResourceType, object: KubeObject): KubeObject {
    this.revision += 1;
    object.metadata.resourceVersion = String(this.revision);
    this.objects.set(keyOf(resource, object.metadata.namespace, object.metadata.name ?? ""), { resource, object });
    this.publish({ rv: this.revision, type, resource, object: clone(object) });
    return clone(object);
  }

  /** A DELETED event carries the last state stamped with the deletion's resourceVersion. */
  private record(type: WatchEventType, resource: ResourceType, object: KubeObject): KubeObject {
    this.revision += 1;
    const last = clone(object);
    last.metadata.resourceVersion = String(this.revision);
    this.publish({ rv: this.revision, type, resource, object: clone(last) });
    return last;
  }

  private publish(event: StoredEvent): void {
    this.ring.push(event);
    if (this.ring.length > this.ringSize) this.ring.splice(0, this.ring.length - this.ringSize);
    for (const listener of this.listeners) listener(event);
  }

  /**
   * Background propagation: an object whose owners are all gone is deleted, transitively;
   * and an object in foreground deletion goes once nothing it owns is left.
   */
  private collectGarbage(): void {
    for (;;) {
      const owners = new Set([...this.objects.values()].flatMap((entry) => (entry.object.metadata.ownerReferences ?? []).map((owner) => owner.uid)));
      const finished = [...this.objects.entries()].find(([, { object }]) => object.metadata.finalizers?.includes(FOREGROUND) && !owners.has(object.metadata.uid ?? ""));
      if (finished) {
        this.objects.delete(finished[0]);
        this.admission?.onDelete(finished[1].resource, finished[1].object);
        this.record("DELETED", finished[1].resource, { ...finished[1].object, metadata: { ...finished[1].object.metadata, finalizers: finished[1].object.metadata.finalizers?.filter((f) => f !== FOREGROUND) } });
        continue;
      }
      const uids = new Set([...this.objects.values()].map((entry) => entry.object.metadata.uid));
      const orphan = [...this.objects.entries()].find(([, { object }]) => {
        const owners = object.metadata.ownerReferences ?? [];
        return owners.length > 0 && owners.every((owner) => !uids.has(owner.uid));
      });
      if (!orphan) return;
      this.objects.delete(orphan[0]);
      this.admission?.onDelete(orphan[1].resource, orphan[1].object);
      this.record("DELETED", orphan[1].resource, orphan[1].object);
    }
  }
}

/** The finalizer of an object whose dependents go first. */
const FOREGROUND = "foregroundDeletion";

function randomSuffix(): string {
  let suffix = "";
  for (let i = 0; i < 5; i++) suffix += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
  return suffix;
}
