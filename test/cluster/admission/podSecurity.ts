/**
 * Pod Security Admission: the namespace's `pod-security.kubernetes.io/{enforce,warn,audit}`
 * labels pick a level (privileged, baseline, restricted); a pod that breaks the enforced level
 * is refused, and a pod or workload template that breaks the enforce or warn level earns a
 * warning — in the words of the v1.32 Pod Security Standards checks, in their order
 * (baseline checks, then restricted ones, which replace the baseline capability, seccomp and
 * volume checks). AppArmor, SELinux, procMount, sysctls and Windows checks are not emulated.
 */
import { arr, obj, type Any } from "../controllers/objects.ts";

export type Level = "privileged" | "baseline" | "restricted";
export interface Policy {
  level: Level;
  version: string;
}

const LEVELS: Level[] = ["privileged", "baseline", "restricted"];

/** The policy a namespace label sets for `mode`; an invalid level counts as restricted, as PSA does. */
export function policyOf(labels: Record<string, string> | undefined, mode: "enforce" | "warn" | "audit"): Policy {
  const raw = labels?.[`pod-security.kubernetes.io/${mode}`];
  const level = raw === undefined ? "privileged" : LEVELS.includes(raw as Level) ? (raw as Level) : "restricted";
  return { level, version: labels?.[`pod-security.kubernetes.io/${mode}-version`] ?? "latest" };
}

interface Container {
  name: string;
  sc: Any;
  raw: Any;
}

const BASELINE_CAPABILITIES = new Set(["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]);
const RESTRICTED_VOLUMES = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"]);
const quote = (values: string[]) => values.map((v) => JSON.stringify(v)).join(", ");
const containersText = (names: string[]) => `${names.length === 1 ? "container" : "containers"} ${quote(names)}`;

function containersOf(spec: Any): Container[] {
  return ["initContainers", "containers", "ephemeralContainers"].flatMap((list) => arr(spec[list]).map((c) => ({ name: String(c.name ?? ""), sc: obj(c.securityContext), raw: c })));
}

type Check = (spec: Any, containers: Container[]) => string | undefined;

const hostNamespaces: Check = (spec) => {
  const set = ["hostNetwork", "hostPID", "hostIPC"].filter((key) => spec[key] === true).map((key) => `${key}=true`);
  return set.length ? `host namespaces (${set.join(", ")})` : undefined;
};
const privileged: Check = (_, containers) => {
  const names = containers.filter((c) => c.sc.privileged === true).map((c) => c.name);
  return names.length ? `privileged (${containersText(names)} must not set securityContext.privileged=true)` : undefined;
};
const capabilitiesBaseline: Check = (_, containers) => {
  const bad = containers.map((c) => ({ name: c.name, caps: (obj(c.sc.capabilities).add as string[] | undefined ?? []).filter((cap) => !BASELINE_CAPABILITIES.has(cap)) })).filter((c) => c.caps.length);
  if (!bad.length) return undefined;
  const caps = [...new Set(bad.flatMap((c) => c.caps))];
  return `non-default capabilities (${containersText(bad.map((c) => c.name))} must not include ${quote(caps)} in securityContext.capabilities.add)`;
};
const hostPathVolumes: Check = (spec) => {
  const names = arr(spec.volumes).filter((v) => v.hostPath !== undefined).map((v) => String(v.name));
  return names.length ? `hostPath volumes (${names.length === 1 ? "volume" : "volumes"} ${quote(names)})` : undefined;
};
const hostPorts: Check = (_, containers) => {
  const using = containers.map((c) => ({ name: c.name, ports: arr(c.raw.ports).map((p) => Number(p.hostPort ?? 0)).filter((p) => p > 0) })).filter((c) => c.ports.length);
  if (!using.length) return undefined;
  const ports = [...new Set(using.flatMap((c) => c.ports))];
  return `hostPort (${containersText(using.map((c) => c.name))} ${using.length === 1 ? "uses" : "use"} ${ports.length === 1 ? "hostPort" : "hostPorts"} ${ports.join(", ")})`;
};
const seccompType = (sc: Any) => obj(sc.seccompProfile).type as string | undefined;
const seccompBaseline: Check = (spec, containers) => {
  const pod = seccompType(obj(spec.securityContext)) === "Unconfined";
  const names = containers.filter((c) => seccompType(c.sc) === "Unconfined").map((c) => c.name);
  if (!pod && !names.length) return undefined;
  const who = [pod ? "pod" : "", names.length ? containersText(names) : ""].filter(Boolean).join(" and ");
  return `seccompProfile (${who} must not set securityContext.seccompProfile.type to "Unconfined")`;
};

const allowPrivilegeEscalation: Check = (_, containers) => {
  const names = containers.filter((c) => c.sc.allowPrivilegeEscalation !== false).map((c) => c.name);
  return names.length ? `allowPrivilegeEscalation != false (${containersText(names)} must set securityContext.allowPrivilegeEscalation=false)` : undefined;
};
const capabilitiesRestricted: Check = (_, containers) => {
  const noDrop = containers.filter((c) => !((obj(c.sc.capabilities).drop as string[] | undefined) ?? []).includes("ALL")).map((c) => c.name);
  const adding = containers.map((c) => ({ name: c.name, caps: ((obj(c.sc.capabilities).add as string[] | undefined) ?? []).filter((cap) => cap !== "NET_BIND_SERVICE") })).filter((c) => c.caps.length);
  const parts = [
    ...(noDrop.length ? [`${containersText(noDrop)} must set securityContext.capabilities.drop=["ALL"]`] : []),
    ...(adding.length ? [`${containersText(adding.map((c) => c.name))} must not include ${quote([...new Set(adding.flatMap((c) => c.caps))])} in securityContext.capabilities.add`] : []),
  ];
  return parts.length ? `unrestricted capabilities (${parts.join("; ")})` : undefined;
};
const restrictedVolumes: Check = (spec) => {
  const bad = arr(spec.volumes).map((v) => ({ name: String(v.name), type: Object.keys(v).find((key) => key !== "name") ?? "" })).filter((v) => !RESTRICTED_VOLUMES.has(v.type));
  if (!bad.length) return undefined;
  const types = [...new Set(bad.map((v) => v.type))];
  const many = bad.length > 1;
  return `restricted volume types (${many ? "volumes" : "volume"} ${quote(bad.map((v) => v.name))} ${many ? "use" : "uses"} restricted volume ${types.length > 1 ? "types" : "type"} ${quote(types)})`;
};
const runAsNonRoot: Check = (spec, containers) => {
  const pod = obj(spec.securityContext).runAsNonRoot;
  const explicitFalse = containers.filter((c) => c.sc.runAsNonRoot === false).map((c) => c.name);
  const unset = containers.filter((c) => c.sc.runAsNonRoot === undefined).map((c) => c.name);
  const parts: string[] = [];
  if (pod === false) parts.push("pod must not set securityContext.runAsNonRoot=false");
  if (explicitFalse.length) parts.push(`${containersText(explicitFalse)} must not set securityContext.runAsNonRoot=false`);
  if (pod !== true && unset.length) parts.push(`pod or ${containersText(unset)} must set securityContext.runAsNonRoot=true`);
  return parts.length ? `runAsNonRoot != true (${parts.join("; ")})` : undefined;
};
const runAsUser: Check = (spec, containers) => {
  const pod = obj(spec.securityContext).runAsUser === 0;
  const names = containers.filter((c) => c.sc.runAsUser === 0).map((c) => c.name);
  if (!pod && !names.length) return undefined;
  return `runAsUser=0 (${[pod ? "pod" : "", names.length ? containersText(names) : ""].filter(Boolean).join(" and ")} must not set runAsUser=0)`;
};
const seccompRestricted: Check = (spec, containers) => {
  const podType = seccompType(obj(spec.securityContext));
  const allowed = (type: string | undefined) => type === "RuntimeDefault" || type === "Localhost";
  const parts: string[] = [];
  if (podType !== undefined && !allowed(podType)) parts.push(`pod must not set securityContext.seccompProfile.type to ${JSON.stringify(podType)}`);
  const bad = containers.filter((c) => seccompType(c.sc) !== undefined && !allowed(seccompType(c.sc)));
  if (bad.length) parts.push(`${containersText(bad.map((c) => c.name))} must not set securityContext.seccompProfile.type to ${quote([...new Set(bad.map((c) => seccompType(c.sc) as string))])}`);
  const unset = containers.filter((c) => seccompType(c.sc) === undefined).map((c) => c.name);
  if (!allowed(podType) && unset.length) parts.push(`pod or ${containersText(unset)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`);
  return parts.length ? `seccompProfile (${parts.join("; ")})` : undefined;
};

const BASELINE: Check[] = [capabilitiesBaseline, hostNamespaces, hostPathVolumes, hostPorts, privileged, seccompBaseline];
const BASELINE_UNDER_RESTRICTED: Check[] = [hostNamespaces, hostPorts, privileged];
const RESTRICTED: Check[] = [allowPrivilegeEscalation, capabilitiesRestricted, restrictedVolumes, runAsNonRoot, runAsUser, seccompRestricted];

/** What `spec` (a pod's) breaks at `level`, one entry per failed check. */
export function violations(spec: unknown, level: Level): string[] {
  if (level === "privileged") return [];
  const podSpec = obj(spec);
  const containers = containersOf(podSpec);
  const checks = level === "baseline" ? BASELINE : [...BASELINE_UNDER_RESTRICTED, ...RESTRICTED];
  return checks.map((check) => check(podSpec, containers)).filter((v): v is string => v !== undefined);
}

export const policyName = (policy: Policy) => `"${policy.level}:${policy.version}"`;
