/** Sessions as the helper runs them: what starts one, and what clients are told about it. */
import { z } from "zod";
import { targetRefSchema } from "./target.ts";
import { podResourcesSchema } from "./podResources.ts";
import { agentImageSchema, portSchema, privilegeModes, targetKinds } from "./profile.ts";

/**
 * Caps on what a client may send: Kubernetes' own limits for names, and sizes no real
 * command, path or environment comes near (a 500 KB name would otherwise be copied into
 * every log line about the session).
 */
const capped = (what: string, max: number) => z.string().max(max, `${what} must be at most ${max} characters`);
const PATH_MAX = 4096;
const ENV_ENTRIES_MAX = 1000;
const ENV_VALUE_MAX = 128 * 1024;

export const sessionStartSchema = z
  .object({
    kubeContext: capped("Kube context", 253).min(1, "Kube context is required"),
    namespace: capped("Namespace", 63).min(1, "Namespace is required"),
    targetKind: z.enum(targetKinds),
    targetName: capped("Target name", 253).min(1, "Target name is required"),
    container: capped("Container", 63).default(""),
    /** Service port (or container port) → workstation port; without `port`, the target's ports in order. */
    ports: z.array(z.object({ port: portSchema("Port").optional(), workstationPort: portSchema("Workstation port") })).min(1, "Map at least one port"),
    /** Empty: node:22-alpine. */
    agentImage: agentImageSchema.default(""),
    /** Requests and limits for kbridge's restorer and routers (empty fields: the defaults). */
    podResources: podResourcesSchema.optional(),
    keepProbes: z.boolean().default(false),
    keepLifecycleHooks: z.boolean().default(false),
    /** The profile's environment overrides (above the pod's and the config file's). */
    env: z
      .record(capped("A variable name", 256), capped("A variable's value", ENV_VALUE_MAX))
      .refine((env) => Object.keys(env).length <= ENV_ENTRIES_MAX, `At most ${ENV_ENTRIES_MAX} environment overrides`)
      .default({}),
    /** How cluster services reach the workstation: hosts file and 127.1.1.x, or 127.0.0.1 ports. */
    privilegeMode: z.enum(privilegeModes).default("auto"),
    deadmanSeconds: z.number().int().min(3).max(600).optional(),
    /** The workstation process kbridge starts once connected (with the session's environment) and stops at the end. */
    launch: z.object({ command: capped("The launch command", 8192).trim().min(1, "Launch command is required"), cwd: capped("The working directory", PATH_MAX).min(1, "Working directory is required") }).strict().optional(),
    /** A KubernetesLocalProcessConfig.yaml to apply (absolute path). */
    configFile: capped("The config file path", PATH_MAX).refine((p) => p.startsWith("/"), "Config file must be an absolute path").optional(),
    /**
     * Isolation: only requests carrying this developer's routing key (header
     * kubernetes-route-as, or the personal URL) reach the workstation; the workload keeps
     * serving everyone else. Empty key: <user>-<4 hex>.
     */
    isolate: z.object({ routingKey: capped("The routing key", 63).trim().default("") }).strict().optional(),
    /** The dashboard profile this session connects (the dashboard records the session's history under it). */
    profileId: z.number().int().positive().optional(),
  })
  .strict();
export type SessionStart = z.input<typeof sessionStartSchema>;
export type SessionStartInput = z.output<typeof sessionStartSchema>;

/**
 * resolving → deploying → tunnelling → connected → restoring → ended, or failed from any of
 * them. `interrupted`: left in the cluster by a helper that stopped without restoring (found
 * in its journal at the next start); it is resumed (→ tunnelling) or cleaned (→ restoring).
 */
export const sessionStates = ["resolving", "deploying", "tunnelling", "connected", "restoring", "ended", "failed", "interrupted"] as const;
export type SessionState = (typeof sessionStates)[number];

/**
 * How an ended or failed session ended (what the dashboard records in its history).
 * `restore-failed`: the restore could not finish; the saved original and the session's objects
 * stay in the cluster, its restorer keeps trying, and `kbridge clean` finishes it.
 */
export const sessionOutcomes = ["disconnected", "failed", "restored-by-cluster", "cleaned", "restore-failed"] as const;
export type SessionOutcome = (typeof sessionOutcomes)[number];

/**
 * Something wrong with a live session that the user should see at once: the cluster does not
 * answer (the session holds meanwhile), or the cluster's traffic meets no workstation process.
 */
export interface SessionProblem {
  code: "cluster-unreachable" | "process-exited" | "workstation-refused";
  message: string;
  /** When it started (the helper's clock; shown as "for N s"). */
  since: string;
}

/** The steps of a connect, a resume and a restore, in the order they run (none runs in every session). */
export const SESSION_STEPS = [
  "read config file",
  "resolve target",
  "check isolation",
  "preflight",
  "deploy agent",
  "reclaim session",
  "wait for agent pods",
  "route requests",
  "open tunnels",
  "check routing",
  "map services",
  "apply config file",
  "read environment",
  "connected",
  "restore",
] as const;
export type SessionStepName = (typeof SESSION_STEPS)[number];

export interface SessionStep {
  name: SessionStepName;
  status: "running" | "done" | "failed";
  ms?: number;
  detail?: string;
}

/** One line of a session's log; `seq` orders a session's lines and lets a client resume without duplicates. */
export interface LogLineView {
  seq: number;
  time: string;
  /** pod: a pod of the namespace the user asked to follow (session:followPod). */
  source: "helper" | "process" | "agent" | "traffic" | "pod";
  level: "info" | "warn" | "error";
  text: string;
}

export const sessionLogsSchema = z.object({ sessionId: z.string().min(1).max(64), after: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(20_000).default(5000) }).strict();

/** The workstation process of a session. */
export interface ProcessView {
  command: string;
  cwd: string;
  /** waiting: it starts once the session is connected (a session that failed before never started it). */
  state: "waiting" | "starting" | "running" | "exited" | "stopped";
  pid?: number;
  exitCode?: number | null;
  signal?: string | null;
  restarts: number;
}

/** One variable of the workstation process's environment, and where it came from. */
export interface EnvVarView {
  name: string;
  value: string;
  source: "service" | "envFrom" | "env" | "config-file" | "profile" | "kbridge";
  /** From a Secret: masked in the dashboard until revealed. */
  secret: boolean;
}

/** A cluster service as the workstation reaches it. */
export interface EndpointView {
  /** `ns/service`, or `ns/service/hostname` for a headless service's pod. */
  key: string;
  kind: "service" | "headless-service" | "headless-pod" | "external-name";
  /** Hosts-file names (hosts mode); in unprivileged mode, the names the service variables stand for. */
  names: string[];
  /** What the agent connects to inside the cluster. */
  dialHost: string;
  address: string;
  ports: { name?: string; port: number; listenPort: number }[];
  /** The last failure to reach it in the cluster. */
  lastError?: string;
}

export interface SessionView {
  id: string;
  state: SessionState;
  target: { context: string; namespace: string; kind: string; name: string };
  steps: SessionStep[];
  startedAt: string;
  endedAt?: string;
  profileId?: number;
  /** The workstation process, when the session launches one. */
  process?: ProcessView;
  /** The newest log line's seq (clients ask `session:logs` for what they miss). */
  logSeq?: number;
  /** Live tunnels (while connected): agent pods with an inbound tunnel, the pod carrying outbound traffic. */
  tunnels?: { inbound: string[]; outbound: string | null };
  /** Cluster services mapped onto the workstation (while connected). */
  endpoints?: { mode: "hosts" | "unprivileged"; reason?: string; list: EndpointView[] };
  /** Isolation mode: the routing key, the personal URLs and the Services routed. */
  isolation?: {
    routingKey: string;
    urls: string[];
    routed: string[];
    /** Requests that reached the workstation with the routing key, and without it (the traffic log's count). */
    traffic?: { withKey: number; withoutKey: number; lastWithKeyAt?: string };
  };
  /** Connect's preflight: every check, passed or why not and the fix (a failed one stopped the connect). */
  preflight?: PreflightView;
  /** Set once the session is ended or failed. */
  outcome?: SessionOutcome;
  /** One line on where the session stands or how it ended ("left by a helper that stopped", …). */
  note?: string;
  /** What is wrong with it now (while it lives); empty or absent when all is well. */
  problems?: SessionProblem[];
  error?: { code: string; message: string; hint?: string };
}

/** One name of a mapped service, resolved on the workstation as its processes resolve it. */
export interface NameCheck {
  name: string;
  /** The endpoint's address (what the name should resolve to). */
  expected: string;
  /** What the hosts file kbridge writes says (null: not there). */
  hostsFile: string | null;
  /** What the system resolver says (getaddrinfo; null: not resolved), when kbridge writes the system's hosts file. */
  system?: string | null;
  ok: boolean;
}

/** A TCP connection to a workstation port, where the cluster's traffic for a container port goes. */
export interface InboundCheck {
  containerPort: number;
  workstationPort: number;
  ok: boolean;
  ms: number;
  error?: string;
}

/** A TCP connection to one mapped port, through the tunnel to the service. */
export interface PortCheck {
  endpoint: string;
  address: string;
  port: number;
  listenPort: number;
  ok: boolean;
  ms: number;
  error?: string;
}

/** What the session's diagnostics show: the hosts block as written, each name's resolution, each port's TCP check, where the logs are. */
export interface SessionDiagnostics {
  checkedAt: string;
  mode: "hosts" | "unprivileged";
  /** Why unprivileged, when it was not asked for. */
  reason?: string;
  hostsFile: string;
  /** The session's block, exactly as in the hosts file (null: none, e.g. unprivileged). */
  hostsBlock: string | null;
  names: NameCheck[];
  ports: PortCheck[];
  /** The inbound side: is the workstation process listening on each workstation port? */
  inbound: InboundCheck[];
  logFile: string;
  logFolder: string;
}

/** A KubernetesLocalProcessConfig.yaml, described (see helper/environment/localProcessConfig.ts). */
export interface ConfigPreviewView {
  file: string;
  env: { name: string; line: number; value: string }[];
  volumes: { name: string; line: number; localPath?: string }[];
  features: string[];
  warnings: string[];
}

export const configPreviewSchema = z.object({ path: z.string().max(4096, "Config file path must be at most 4096 characters").min(1, "Config file path is required") }).strict();

export const followPodSchema = z
  .object({ sessionId: z.string().min(1).max(64), pod: z.string().min(1).max(253), container: z.string().min(1).max(63).optional(), follow: z.boolean().default(true) })
  .strict();

export const sessionIdSchema = z.object({ sessionId: z.string().min(1).max(64) }).strict();

export const clusterCleanSchema = z.object({ kubeContext: z.string().max(253, "Kube context must be at most 253 characters").min(1, "Kube context is required"), namespace: z.string().max(63, "Namespace must be at most 63 characters").min(1, "Namespace is required") }).strict();

/** `kbridge check`: connect's preflight for a target, changing nothing. */
export const clusterCheckSchema = z
  .object({ kubeContext: z.string().max(253, "Kube context must be at most 253 characters").min(1, "Kube context is required"), target: targetRefSchema, isolate: z.boolean().default(false), agentImage: z.string().min(1).max(255).optional(), podResources: podResourcesSchema.optional() })
  .strict();

/** One preflight check: passed, or why not and what to do (helper/k8s/preflight.ts). */
export interface PreflightCheckView {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

export interface PreflightView {
  checks: PreflightCheckView[];
  /** The `kbridge setup` ServiceAccount the restorer would run as. */
  restorerAccount?: string;
  ms: number;
}

export interface CleanReport {
  namespace: string;
  /** Sessions whose objects were found (and removed). */
  sessions: string[];
  /** Workloads put back from a saved original. */
  restored: string[];
  /** Workloads still running the agent of a session whose saved original is gone: a person must put them back. */
  orphaned: { session: string; workload: string; message: string; hint?: string }[];
  /** Kinds the user may not list, whose kbridge objects (if any) were left: someone with more rights cleans those. */
  unlisted?: string[];
}
