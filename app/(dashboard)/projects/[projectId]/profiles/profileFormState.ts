/**
 * The profile form's state as one object: its initial values (a saved profile, an imported
 * draft, or defaults), and the input the schema checks and the server saves.
 */
import { formatEnvLines, parseEnvLines, type PodResources, type PrivilegeMode, type TargetKind } from "../../../../../helper/protocol/index.ts";
import type { ProfileDto } from "../../../../lib/dto.ts";
import type { ProfileDraftValues } from "../../../../lib/profileFile.ts";
import type { PortRow } from "./PortMappingsField.tsx";

export interface ProfileFormValues {
  name: string;
  kubeContext: string;
  namespace: string;
  targetKind: TargetKind;
  targetName: string;
  container: string;
  ports: PortRow[];
  /** The ports were proposed by the picked target: another pick replaces them; typed ones stay. */
  portsFromPick: boolean;
  launchCommand: string;
  workingDirectory: string;
  isolated: boolean;
  routingKey: string;
  /** The environment overrides as typed, one NAME=value per line. */
  envText: string;
  configFilePath: string;
  privilegeMode: PrivilegeMode;
  agentImage: string;
  keepProbes: boolean;
  keepLifecycleHooks: boolean;
  /** Requests and limits of kbridge's restorer and routers, as typed ("" keeps the default). */
  podResources: PodResources;
}

/** Changes one field of the form. */
export type SetField = <K extends keyof ProfileFormValues>(key: K, value: ProfileFormValues[K]) => void;

export function initialValues(profile: ProfileDto | undefined, draft: ProfileDraftValues): ProfileFormValues {
  return {
    name: profile?.name ?? draft.name ?? "",
    kubeContext: profile?.kubeContext ?? draft.kubeContext ?? "",
    namespace: profile?.namespace ?? draft.namespace ?? "default",
    targetKind: profile?.targetKind ?? draft.targetKind ?? "service",
    targetName: profile?.targetName ?? draft.targetName ?? "",
    container: profile?.container ?? draft.container ?? "",
    ports: profile?.portMappings.map((m) => ({ servicePort: String(m.servicePort), workstationPort: String(m.workstationPort) })) ?? draft.portMappings ?? [{ servicePort: "", workstationPort: "" }],
    portsFromPick: false,
    launchCommand: profile?.launchCommand ?? draft.launchCommand ?? "",
    workingDirectory: profile?.workingDirectory ?? draft.workingDirectory ?? "",
    isolated: profile?.isolated ?? draft.isolated ?? false,
    routingKey: profile?.routingKey ?? draft.routingKey ?? "",
    envText: formatEnvLines(profile?.envOverrides ?? draft.envOverrides ?? {}),
    configFilePath: profile?.configFilePath ?? draft.configFilePath ?? "",
    privilegeMode: profile?.privilegeMode ?? draft.privilegeMode ?? "auto",
    agentImage: profile?.agentImage ?? draft.agentImage ?? "",
    keepProbes: profile?.keepProbes ?? draft.keepProbes ?? false,
    keepLifecycleHooks: profile?.keepLifecycleHooks ?? draft.keepLifecycleHooks ?? false,
    podResources: profile?.podResources ?? draft.podResources ?? { cpuRequest: "", cpuLimit: "", memoryRequest: "", memoryLimit: "" },
  };
}

/** What is saved (the schema's input), and the environment lines that do not parse. */
export function profileInput(values: ProfileFormValues) {
  const env = parseEnvLines(values.envText);
  const { ports, portsFromPick: _picked, envText: _text, isolated, routingKey, ...rest } = values;
  return { input: { ...rest, portMappings: ports, isolated, routingKey: isolated ? routingKey : "", envOverrides: env.env }, envErrors: env.errors };
}

/** The value at a dotted path ("portMappings.0.servicePort") of a plain object. */
export function valueAt(value: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((at, key) => (at !== null && typeof at === "object" ? (at as Record<string, unknown>)[key] : undefined), value);
}

/** A target was picked: its name, and its ports where the rows are empty or were proposed by the last pick. */
export function withPickedTarget(values: ProfileFormValues, picked: string, suggested: PortRow[]): ProfileFormValues {
  const next = { ...values, targetName: picked, name: !values.name || values.name === values.targetName ? picked : values.name };
  const { ports } = values;
  if (suggested.length > 0 && (values.portsFromPick || ports.every((row) => row.servicePort === "" && row.workstationPort === ""))) return { ...next, ports: suggested, portsFromPick: true };
  // Workstation ports without service ports (an imported Bridge to Kubernetes task): the service's, in order.
  if (ports.some((row) => row.servicePort === "" && row.workstationPort !== "")) return { ...next, ports: ports.map((row, i) => (row.servicePort === "" && suggested[i] ? { ...row, servicePort: suggested[i].servicePort } : row)) };
  return next;
}
