/**
 * A profile: the saved settings for connecting one workload. Shared by the dashboard's
 * forms and actions (validation) and, later, by `session:start` (the helper receives the
 * profile it connects; it keeps no database).
 */
import { z } from "zod";
import { podResourcesSchema } from "./podResources.ts";

export const targetKinds = ["service", "deployment", "pod"] as const;
export type TargetKind = (typeof targetKinds)[number];

/**
 * How kbridge maps cluster services onto the workstation:
 * - `auto`: hosts file and 127.1.1.x addresses when permitted, else unprivileged;
 * - `hosts`: require the hosts file (fail clearly when it cannot be written);
 * - `unprivileged`: never touch the hosts file; endpoints on 127.0.0.1:<free port>.
 */
export const privilegeModes = ["auto", "hosts", "unprivileged"] as const;
export type PrivilegeMode = (typeof privilegeModes)[number];

/** RFC 1123 label (namespaces, service names, container names). */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1123 subdomain (deployment and pod names may contain dots). */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

const required = (what: string) => z.string().trim().min(1, `${what} is required`);

const dnsLabel = (what: string) =>
  required(what)
    .max(63, `${what} must be at most 63 characters`)
    .regex(DNS_LABEL, `${what} must be lowercase letters, digits and '-', starting and ending with a letter or digit`);

/** A TCP port, from a number or a form's string; empty means missing. */
export const portSchema = (what: string) =>
  z.preprocess(
    (value) => (typeof value === "string" ? (value.trim() === "" ? undefined : Number(value)) : value),
    z
      .number({ error: (issue) => (issue.input === undefined ? `${what} is required` : `${what} must be a number`) })
      .int(`${what} must be a whole number`)
      .min(1, `${what} must be between 1 and 65535`)
      .max(65535, `${what} must be between 1 and 65535`),
  );

export const portMappingSchema = z.object({
  /** The port as the Service (or pod) exposes it in the cluster. */
  servicePort: portSchema("Service port"),
  /** Where the workstation process listens for the redirected traffic. */
  workstationPort: portSchema("Workstation port"),
});
export type PortMapping = z.infer<typeof portMappingSchema>;

/** Routing keys: `<user ≤8>-<4 hex>` by default; any DNS label short enough to prefix a host. */
export const routingKeySchema = dnsLabel("Routing key").max(
  32,
  "Routing key must be at most 32 characters, so <key>.<host> stays a valid DNS label",
);

/** An image reference (`[registry/]name[:tag][@digest]`); empty means kbridge's default. */
export const agentImageSchema = z
  .string()
  .trim()
  .max(255, "Agent image must be at most 255 characters")
  .regex(/^$|^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/, "Agent image must be an image reference such as registry.example.com/library/node:22-alpine");

export const profileInputSchema = z
  .object({
    name: required("Name").max(64, "Name must be at most 64 characters"),
    kubeContext: required("Kube context"),
    namespace: dnsLabel("Namespace"),
    targetKind: z.enum(targetKinds, { error: "Target kind must be service, deployment or pod" }),
    targetName: required("Target name")
      .max(253, "Target name must be at most 253 characters")
      .regex(DNS_SUBDOMAIN, "Target name must be a valid Kubernetes name (lowercase, digits, '-' and '.')"),
    container: z.union([z.literal(""), dnsLabel("Container")]).default(""),
    portMappings: z.array(portMappingSchema).min(1, "Add at least one port mapping"),
    launchCommand: z.string().trim().default(""),
    workingDirectory: z.string().trim().default(""),
    isolated: z.boolean().default(false),
    routingKey: z.union([z.literal(""), routingKeySchema]).default(""),
    envOverrides: z
      .record(z.string().regex(ENV_NAME, "Environment variable names are letters, digits and '_', not starting with a digit"), z.string())
      .default({}),
    configFilePath: z.string().trim().default(""),
    privilegeMode: z.enum(privilegeModes).default("auto"),
    agentImage: agentImageSchema.default(""),
    keepProbes: z.boolean().default(false),
    keepLifecycleHooks: z.boolean().default(false),
    /** Requests and limits for kbridge's restorer and routers; empty fields keep kbridge's defaults. */
    podResources: podResourcesSchema.default({ cpuRequest: "", cpuLimit: "", memoryRequest: "", memoryLimit: "" }),
  })
  .superRefine((profile, ctx) => {
    const seen = new Map<number, number>();
    profile.portMappings.forEach((mapping, index) => {
      const first = seen.get(mapping.servicePort);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["portMappings", index, "servicePort"],
          message: `Service port ${mapping.servicePort} is already mapped (row ${first + 1})`,
        });
      } else {
        seen.set(mapping.servicePort, index);
      }
    });
    if (profile.workingDirectory !== "" && !isAbsolutePath(profile.workingDirectory)) {
      ctx.addIssue({ code: "custom", path: ["workingDirectory"], message: "Working directory must be an absolute path" });
    }
  });
export type ProfileInput = z.input<typeof profileInputSchema>;
export type ProfileSettings = z.output<typeof profileInputSchema>;

export const projectInputSchema = z.object({
  name: required("Name").max(64, "Name must be at most 64 characters"),
  folderPath: required("Folder").refine(isAbsolutePath, "Folder must be an absolute path"),
});
export type ProjectInput = z.input<typeof projectInputSchema>;

function isAbsolutePath(value: string): boolean {
  return value.startsWith("/") || /^[A-Za-z]:[\\/]/.test(value);
}

/** Parses `KEY=value` lines (the form's textarea) into env overrides; blank lines and `#` comments skipped. */
export function parseEnvLines(text: string): { env: Record<string, string>; errors: string[] } {
  const env: Record<string, string> = {};
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const eq = line.indexOf("=");
    const key = eq < 0 ? "" : line.slice(0, eq).trim();
    if (eq < 0 || !ENV_NAME.test(key)) {
      errors.push(`Line ${index + 1}: expected NAME=value`);
      return;
    }
    env[key] = line.slice(eq + 1);
  });
  return { env, errors };
}

export function formatEnvLines(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([key, value]) => `${key}=${value}`)
    .join("\n");
}
