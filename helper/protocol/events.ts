/**
 * The Socket.IO contract between the helper and its clients (dashboard, CLI), in namespace
 * HELPER_NAMESPACE. Commands are imperative `domain:verb` and acknowledge with Result<T>;
 * notifications are past tense (or a plain noun for state snapshots) and carry no ack.
 * Every command's payload has a zod schema in `commandSchemas`: the helper parses with it.
 */
import { z } from "zod";
import type { Result } from "./result.ts";
import type { HelperStatus, KubeContextList } from "./status.ts";
import { contextRefSchema, namespaceRefSchema, removeObjectsSchema, type ClusterInventory, type IsolationView, type NamespaceList, type PodView, type ServiceView } from "./cluster.ts";
import { clusterCheckSchema, clusterCleanSchema, configPreviewSchema, followPodSchema, sessionIdSchema, sessionLogsSchema, sessionStartSchema, type CleanReport, type ConfigPreviewView, type EnvVarView, type LogLineView, type PreflightView, type SessionDiagnostics, type SessionView } from "./session.ts";

export const commandSchemas = {
  "helper:getStatus": z.object({}).strict(),
  "kube:listContexts": z.object({}).strict(),
  "session:start": sessionStartSchema,
  "session:stop": sessionIdSchema,
  "session:resume": sessionIdSchema,
  "session:env": sessionIdSchema,
  "session:diagnostics": sessionIdSchema,
  "session:logs": sessionLogsSchema,
  "session:restartProcess": sessionIdSchema,
  "session:list": z.object({}).strict(),
  "cluster:clean": clusterCleanSchema,
  "cluster:check": clusterCheckSchema,
  "kube:listNamespaces": contextRefSchema,
  "kube:listServices": namespaceRefSchema,
  "cluster:listObjects": namespaceRefSchema,
  "cluster:removeObjects": removeObjectsSchema,
  "config:preview": configPreviewSchema,
  "kube:listPods": namespaceRefSchema,
  "session:followPod": followPodSchema,
  "team:list": namespaceRefSchema,
  "cluster:watch": namespaceRefSchema,
  "cluster:unwatch": namespaceRefSchema,
} as const;

export type CommandName = keyof typeof commandSchemas;

/**
 * How long a client waits for a command's answer. Most answer at once; those that restore a
 * workload wait for its rollout to be verified (up to two minutes, and the calls around it).
 */
export const COMMAND_TIMEOUT_MS = 10_000;
const RESTORING_TIMEOUT_MS = 300_000;
export function commandTimeoutMs(command: CommandName): number {
  return command === "session:stop" || command === "cluster:clean" || command === "cluster:removeObjects" ? RESTORING_TIMEOUT_MS : COMMAND_TIMEOUT_MS;
}
/** What a client sends (defaults not yet applied). */
export type CommandInput<C extends CommandName> = z.input<(typeof commandSchemas)[C]>;
/** What a handler receives, once the schema parsed it. */
export type CommandArgs<C extends CommandName> = z.output<(typeof commandSchemas)[C]>;

/** What each command acknowledges with, on success. */
export interface CommandOutputs {
  "helper:getStatus": HelperStatus;
  "kube:listContexts": KubeContextList;
  /** Answers once the session is created; its progress arrives as `session:updated`. */
  "session:start": SessionView;
  /** Answers once the cluster is restored (an interrupted session: cleaned). */
  "session:stop": SessionView;
  /** Takes over an interrupted session; answers at once, progress arrives as `session:updated`. */
  "session:resume": SessionView;
  /** The environment the workstation process gets (secrets included: only the token holder asks). */
  "session:env": EnvVarView[];
  /** The session's endpoints checked from the workstation (names, ports), its hosts block, its log files. */
  "session:diagnostics": SessionDiagnostics;
  /** A session's log lines after `after` (oldest first); `next` is the seq to ask after next time. */
  "session:logs": { lines: LogLineView[]; next: number };
  /** Stops and starts the session's workstation process again. */
  "session:restartProcess": SessionView;
  "session:list": SessionView[];
  /** Restores and removes everything kbridge left in a namespace (sessions of crashed helpers). */
  "cluster:clean": CleanReport;
  /** Connect's preflight for a target: each check passed or failed with the reason and the fix; nothing changes. */
  "cluster:check": PreflightView;
  "kube:listNamespaces": NamespaceList;
  /** The namespace's services with their ports, workload and ready pods (the connect wizard's list). */
  "kube:listServices": ServiceView[];
  /** Every object kbridge created in the namespace, and the state of each session (the cluster page). */
  "cluster:listObjects": ClusterInventory;
  /** Removes one kbridge object, or all of a session (restoring its workload). */
  "cluster:removeObjects": { removed: string[]; restored?: string };
  /** What a KubernetesLocalProcessConfig.yaml will do (the profile form's preview); an invalid one fails naming the line. */
  "config:preview": ConfigPreviewView;
  /** The namespace's pods (the log pane's "follow a pod"). */
  "kube:listPods": PodView[];
  /** Adds a pod's log to the session's log (source "pod") until the session ends, or stops it (follow: false); answers the pods followed. */
  "session:followPod": { following: string[] };
  /** Every isolation session in the namespace, read from the cluster (the Team page). */
  "team:list": IsolationView[];
  /**
   * Puts this client in the place's room: `cluster:changed` arrives whenever kbridge's objects
   * there change. Answers once watching, with the kinds the user may not list (not watched).
   */
  "cluster:watch": { watched: string[]; unwatched: string[] };
  /** Leaves the place's room; the last client to leave ends the helper's watch. */
  "cluster:unwatch": { watching: false };
}

export type Ack<C extends CommandName> = (result: Result<CommandOutputs[C]>) => void;

export type ClientToServerEvents = {
  [C in CommandName]: (input: CommandInput<C>, ack: Ack<C>) => void;
};

export interface ServerToClientEvents {
  /** Sent on every connection, so a client knows which helper (bootId) it talks to. */
  "helper:status": (status: HelperStatus) => void;
  /** Every change of a session (state, a step), to every client. */
  "session:updated": (session: SessionView) => void;
  /**
   * New log lines of a session, in batches, to the clients in its room (sessionRoom): a client
   * joins by asking `session:logs`, which also gives it what it missed.
   */
  "session:logged": (batch: { sessionId: string; lines: LogLineView[] }) => void;
  /** kbridge's objects in a context's namespace changed (to the clients watching it, `clusterRoom`): read them again. */
  "cluster:changed": (place: { kubeContext: string; namespace: string; kinds: string[] }) => void;
}

/** The Socket.IO room of a session's log: the clients that asked for its lines. */
export const sessionRoom = (sessionId: string) => `session:${sessionId}`;

/** The Socket.IO room of the clients watching kbridge's objects in a context's namespace. */
export const clusterRoom = (place: { kubeContext: string; namespace: string }) => `cluster:${JSON.stringify([place.kubeContext, place.namespace])}`;

/** Per-connection data the helper keeps on each socket. */
export interface SocketData {
  /** "dashboard" for browsers (they send an Origin), "cli" for Node clients. */
  client: "dashboard" | "cli";
}

/** Query parameter / auth field names used at the handshake. */
export const TOKEN_AUTH_FIELD = "token";
