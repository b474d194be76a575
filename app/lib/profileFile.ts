/**
 * Profiles as files: kbridge's own profile file (export, and import — a team keeps it in its
 * repository), and the files Bridge to Kubernetes users already have: the Bridge to
 * Kubernetes tasks in `.vscode/tasks.json` and `KubernetesLocalProcessConfig.yaml`. An
 * import yields drafts — what the file says — which the profile form completes (the live
 * lists fill in what a file cannot know, such as the service's ports) before anything is
 * saved.
 */
import { parse, stringify } from "yaml";
import { z } from "zod";
import { privilegeModes, targetKinds, type ProfileSettings } from "../../helper/protocol/index.ts";

export const PROFILE_API_VERSION = "kbridge.dev/v1";

/** What the profile form starts from: any field a file gave, ports as the form's strings. */
export const profileDraftSchema = z
  .object({
    name: z.string(),
    kubeContext: z.string(),
    namespace: z.string(),
    targetKind: z.enum(targetKinds),
    targetName: z.string(),
    container: z.string(),
    portMappings: z.array(z.object({ servicePort: z.string(), workstationPort: z.string() })),
    launchCommand: z.string(),
    workingDirectory: z.string(),
    isolated: z.boolean(),
    routingKey: z.string(),
    envOverrides: z.record(z.string(), z.string()),
    configFilePath: z.string(),
    privilegeMode: z.enum(privilegeModes),
    agentImage: z.string(),
    keepProbes: z.boolean(),
    keepLifecycleHooks: z.boolean(),
    podResources: z.object({ cpuRequest: z.string(), cpuLimit: z.string(), memoryRequest: z.string(), memoryLimit: z.string() }),
  })
  .partial();
export type ProfileDraftValues = z.infer<typeof profileDraftSchema>;

export interface ProfileDraft {
  /** What the draft is, for the list of choices ("task \"bridge api\" in tasks.json"). */
  label: string;
  values: ProfileDraftValues;
  /** What the file could not say, for the user to complete. */
  notes: string[];
}

export type ImportResult = { ok: true; drafts: ProfileDraft[] } | { ok: false; error: string };

/** kbridge's profile file for a saved profile (YAML, stable field order, no workstation ids). */
export function exportProfile(profile: ProfileSettings): string {
  const document = {
    apiVersion: PROFILE_API_VERSION,
    kind: "Profile",
    name: profile.name,
    target: { context: profile.kubeContext, namespace: profile.namespace, kind: profile.targetKind, name: profile.targetName, ...(profile.container ? { container: profile.container } : {}) },
    ports: profile.portMappings.map((m) => ({ service: m.servicePort, workstation: m.workstationPort })),
    ...(profile.launchCommand || profile.workingDirectory ? { process: { ...(profile.launchCommand ? { command: profile.launchCommand } : {}), ...(profile.workingDirectory ? { workingDirectory: profile.workingDirectory } : {}) } } : {}),
    ...(Object.keys(profile.envOverrides).length > 0 ? { env: profile.envOverrides } : {}),
    ...(profile.configFilePath ? { configFile: profile.configFilePath } : {}),
    privilegeMode: profile.privilegeMode,
    ...(profile.agentImage || profile.keepProbes || profile.keepLifecycleHooks ? { agent: { ...(profile.agentImage ? { image: profile.agentImage } : {}), keepProbes: profile.keepProbes, keepLifecycleHooks: profile.keepLifecycleHooks } } : {}),
    ...(Object.values(profile.podResources).some(Boolean) ? { podResources: Object.fromEntries(Object.entries(profile.podResources).filter(([, value]) => value !== "")) } : {}),
    // The routing key is the author's own (their personal URL): an importer gets one of theirs.
    ...(profile.isolated ? { isolation: { enabled: true } } : {}),
  };
  return `# kbridge profile: import it on a project's page (Import profile).\n${stringify(document)}`;
}

const kbridgeFileSchema = z.object({
  apiVersion: z.literal(PROFILE_API_VERSION),
  kind: z.literal("Profile"),
  name: z.string(),
  target: z.object({ context: z.string().default(""), namespace: z.string().default("default"), kind: z.enum(targetKinds).default("service"), name: z.string(), container: z.string().default("") }),
  ports: z.array(z.object({ service: z.number().int(), workstation: z.number().int() })).default([]),
  process: z.object({ command: z.string().default(""), workingDirectory: z.string().default("") }).default({ command: "", workingDirectory: "" }),
  env: z.record(z.string(), z.coerce.string()).default({}),
  configFile: z.string().default(""),
  privilegeMode: z.enum(privilegeModes).default("auto"),
  agent: z.object({ image: z.string().default(""), keepProbes: z.boolean().default(false), keepLifecycleHooks: z.boolean().default(false) }).default({ image: "", keepProbes: false, keepLifecycleHooks: false }),
  isolation: z.object({ enabled: z.boolean().default(false), routingKey: z.string().default("") }).default({ enabled: false, routingKey: "" }),
  podResources: z
    .object({ cpuRequest: z.string().default(""), cpuLimit: z.string().default(""), memoryRequest: z.string().default(""), memoryLimit: z.string().default("") })
    .default({ cpuRequest: "", cpuLimit: "", memoryRequest: "", memoryLimit: "" }),
});

/** Bridge to Kubernetes' task (`bridge-to-kubernetes.resource`, and the older `.service` type). */
const b2kTaskSchema = z.object({
  label: z.string().optional(),
  type: z.enum(["bridge-to-kubernetes.resource", "bridge-to-kubernetes.service", "local-process-with-kubernetes.service"]),
  resource: z.string().optional(),
  service: z.string().optional(),
  resourceType: z.string().optional(),
  ports: z.array(z.union([z.number(), z.string()])).optional(),
  isolateAs: z.string().optional(),
  targetCluster: z.string().optional(),
  targetNamespace: z.string().optional(),
  targetContainer: z.string().optional(),
  useKubernetesServiceEnvironmentVariables: z.boolean().optional(),
});

const issuesText = (error: z.ZodError) => error.issues.map((issue) => `${issue.path.join(".") || "(top)"}: ${issue.message}`).join("; ");

/** `tasks.json` is JSON with comments and trailing commas (VS Code's JSONC). */
export function parseJsonc(text: string): unknown {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (char === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      out += text.slice(start, i + 1);
    } else if (char === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (char === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 1;
    } else out += char;
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, "$1"));
}

function fromTasks(fileName: string, document: unknown): ImportResult {
  const tasks = (document as { tasks?: unknown[] } | null)?.tasks;
  if (!Array.isArray(tasks)) return { ok: false, error: `${fileName} has no "tasks" list: is it a .vscode/tasks.json?` };
  const drafts: ProfileDraft[] = [];
  for (const [index, raw] of tasks.entries()) {
    const type = (raw as { type?: unknown } | null)?.type;
    if (typeof type !== "string" || !/^(bridge-to-kubernetes|local-process-with-kubernetes)\./.test(type)) continue;
    const parsed = b2kTaskSchema.safeParse(raw);
    if (!parsed.success) return { ok: false, error: `Task ${index + 1} of ${fileName} (${type}) is not what Bridge to Kubernetes writes: ${issuesText(parsed.error)}.` };
    const task = parsed.data;
    const name = task.resource ?? task.service ?? "";
    const kind = task.resourceType === "pod" ? "pod" : task.resourceType === "deployment" ? "deployment" : "service";
    const ports = (task.ports ?? []).map((p) => String(p));
    const notes = ["Pick the service below to fill in its ports (Bridge to Kubernetes took them from the cluster)."];
    if (!task.targetCluster) notes.push("The task names no cluster: choose the kube context.");
    drafts.push({
      label: `task "${task.label ?? name}" in ${fileName}`,
      values: {
        name: (task.label ?? name).toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64) || name,
        ...(task.targetCluster ? { kubeContext: task.targetCluster } : {}),
        ...(task.targetNamespace ? { namespace: task.targetNamespace } : {}),
        targetKind: kind,
        targetName: name,
        ...(task.targetContainer ? { container: task.targetContainer } : {}),
        ...(ports.length > 0 ? { portMappings: ports.map((workstationPort) => ({ servicePort: "", workstationPort })) } : {}),
        ...(task.useKubernetesServiceEnvironmentVariables ? { privilegeMode: "unprivileged" as const } : {}),
        ...(task.isolateAs ? { isolated: true, routingKey: task.isolateAs } : {}),
      },
      notes,
    });
  }
  if (drafts.length === 0) return { ok: false, error: `${fileName} has no Bridge to Kubernetes task (type bridge-to-kubernetes.resource).` };
  return { ok: true, drafts };
}

/**
 * Reads a profile file, a `.vscode/tasks.json` or a `KubernetesLocalProcessConfig.yaml`;
 * `fileName` is the name the user picked (it decides the format, and a config file's path).
 */
/**
 * What the text is decides how it is read, not the file's name: JSON (with comments) is a
 * tasks file or a kbridge profile, anything else is YAML. `fileName` is null for pasted text.
 */
export function importProfileFile(fileName: string | null, text: string): ImportResult {
  const base = fileName === null ? "The pasted text" : (fileName.split(/[\\/]/).pop() ?? fileName);
  if (/^\s*(\{|\/\/|\/\*)/.test(text)) {
    let document: unknown;
    try {
      document = parseJsonc(text);
    } catch (error) {
      return { ok: false, error: `${base} is not valid JSON: ${(error as Error).message}.` };
    }
    if ((document as { apiVersion?: unknown } | null)?.apiVersion === PROFILE_API_VERSION) return fromKbridgeFile(base, document);
    return fromTasks(base, document);
  }
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    return { ok: false, error: `${base} is not valid YAML: ${(error as Error).message.split("\n")[0]}.` };
  }
  if ((document as { apiVersion?: unknown } | null)?.apiVersion === PROFILE_API_VERSION) return fromKbridgeFile(base, document);
  const config = document as { version?: unknown; env?: unknown; volumeMounts?: unknown; enableFeatures?: unknown } | null;
  if (config && (config.version !== undefined || config.env !== undefined || config.volumeMounts !== undefined)) {
    const features = Array.isArray(config.enableFeatures) ? config.enableFeatures.map(String) : [];
    return {
      ok: true,
      drafts: [
        {
          label: `${base} (Bridge to Kubernetes config file)`,
          values: { configFilePath: fileName === null ? "KubernetesLocalProcessConfig.yaml" : base, ...(features.includes("Probes") ? { keepProbes: true } : {}), ...(features.includes("LifecycleHooks") ? { keepLifecycleHooks: true } : {}) },
          notes: [`The profile uses ${base} (relative to the project folder) for its environment and volumes; pick the target service below.`],
        },
      ],
    };
  }
  return { ok: false, error: `${base} is neither a kbridge profile (apiVersion ${PROFILE_API_VERSION}), a .vscode/tasks.json nor a KubernetesLocalProcessConfig.yaml.` };
}

function fromKbridgeFile(base: string, document: unknown): ImportResult {
  const parsed = kbridgeFileSchema.safeParse(document);
  if (!parsed.success) return { ok: false, error: `${base} is a kbridge profile with errors: ${issuesText(parsed.error)}.` };
  const file = parsed.data;
  return {
    ok: true,
    drafts: [
      {
        label: `profile "${file.name}" from ${base}`,
        values: {
          name: file.name,
          kubeContext: file.target.context,
          namespace: file.target.namespace,
          targetKind: file.target.kind,
          targetName: file.target.name,
          container: file.target.container,
          portMappings: file.ports.map((p) => ({ servicePort: String(p.service), workstationPort: String(p.workstation) })),
          launchCommand: file.process.command,
          workingDirectory: file.process.workingDirectory,
          envOverrides: file.env,
          configFilePath: file.configFile,
          privilegeMode: file.privilegeMode,
          agentImage: file.agent.image,
          keepProbes: file.agent.keepProbes,
          keepLifecycleHooks: file.agent.keepLifecycleHooks,
          podResources: file.podResources,
          isolated: file.isolation.enabled,
          // A key in the file (an older export) is someone else's: saving chooses the importer's own.
          routingKey: "",
        },
        notes: file.target.context ? [] : ["Choose the kube context: the file names none."],
      },
    ],
  };
}

/** A draft in a URL (the new-profile page's `draft` parameter) and back: base64url of its JSON, in the browser and on the server. */
export function encodeDraft(values: ProfileDraftValues): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(JSON.stringify(values))) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodeDraft(text: string | undefined): ProfileDraftValues | undefined {
  if (!text) return undefined;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const json = new TextDecoder().decode(Uint8Array.from(binary, (char) => char.charCodeAt(0)));
    const parsed = profileDraftSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
