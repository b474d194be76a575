/**
 * A container's environment as kubelet builds it (pkg/kubelet/kubelet_pods.go
 * makeEnvironmentVariables): `envFrom` (with prefix), then `env` (value with $(VAR)
 * expansion, configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef), then the
 * service-link variables of the namespace's services for names not already set.
 */
import type { KubeObject } from "../apiserver/store.ts";

type Any = Record<string, unknown>;

export interface EnvSources {
  pod: KubeObject;
  configMap(name: string): KubeObject | undefined;
  secret(name: string): KubeObject | undefined;
  /** Services of the pod's namespace (for service links), plus `kubernetes` in default. */
  services: KubeObject[];
  hostIP: string;
}

/** A reason the container cannot start (kubelet's CreateContainerConfigError). */
export class ContainerConfigError extends Error {}

export function buildEnvironment(container: Any, sources: EnvSources): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of (container.envFrom as Any[] | undefined) ?? []) {
    const prefix = String(from.prefix ?? "");
    const ref = (from.configMapRef ?? from.secretRef) as { name: string; optional?: boolean } | undefined;
    if (!ref) continue;
    const isSecret = from.secretRef !== undefined;
    const object = isSecret ? sources.secret(ref.name) : sources.configMap(ref.name);
    if (!object) {
      if (ref.optional) continue;
      throw new ContainerConfigError(`${isSecret ? "secret" : "configmap"} "${ref.name}" not found`);
    }
    for (const [key, value] of Object.entries(dataOf(object, isSecret))) env[prefix + key] = value;
  }
  const serviceEnv = serviceLinks(sources);
  const expansion = { ...serviceEnv, ...env };
  for (const variable of (container.env as Any[] | undefined) ?? []) {
    const name = String(variable.name);
    let value: string | undefined;
    if (variable.valueFrom) value = valueFrom(variable.valueFrom as Any, container, sources);
    else value = expand(String(variable.value ?? ""), (key) => (key in env ? env[key] : expansion[key]));
    if (value === undefined) continue;
    env[name] = value;
  }
  for (const [key, value] of Object.entries(serviceEnv)) if (!(key in env)) env[key] = value;
  return env;
}

/** `$(VAR)` references resolve against what is defined; `$$(VAR)` escapes; unknown ones stay as written. */
export function expand(text: string, lookup: (name: string) => string | undefined): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === "$$") return "$";
    const value = name === undefined ? undefined : lookup(name);
    return value ?? match;
  });
}

function dataOf(object: KubeObject, isSecret: boolean): Record<string, string> {
  const data = (object.data as Record<string, string> | undefined) ?? {};
  if (!isSecret) return { ...data, ...decodeBinary(object.binaryData as Record<string, string> | undefined) };
  const decoded: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) decoded[key] = Buffer.from(value, "base64").toString("utf8");
  for (const [key, value] of Object.entries((object.stringData as Record<string, string> | undefined) ?? {})) decoded[key] = value;
  return decoded;
}

function decodeBinary(data: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
}

function valueFrom(from: Any, container: Any, sources: EnvSources): string | undefined {
  const { pod } = sources;
  if (from.configMapKeyRef || from.secretKeyRef) {
    const isSecret = from.secretKeyRef !== undefined;
    const ref = (from.configMapKeyRef ?? from.secretKeyRef) as { name: string; key: string; optional?: boolean };
    const object = isSecret ? sources.secret(ref.name) : sources.configMap(ref.name);
    const value = object ? dataOf(object, isSecret)[ref.key] : undefined;
    if (value !== undefined) return value;
    if (ref.optional) return undefined;
    throw new ContainerConfigError(object ? `couldn't find key ${ref.key} in ${isSecret ? "Secret" : "ConfigMap"} ${pod.metadata.namespace}/${ref.name}` : `${isSecret ? "secret" : "configmap"} "${ref.name}" not found`);
  }
  if (from.fieldRef) return fieldValue(String((from.fieldRef as Any).fieldPath), sources);
  if (from.resourceFieldRef) return resourceValue(from.resourceFieldRef as Any, container);
  return undefined;
}

function fieldValue(path: string, sources: EnvSources): string {
  const { pod } = sources;
  const status = (pod.status ?? {}) as Any;
  const spec = (pod.spec ?? {}) as Any;
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (keyed) return (pod.metadata[keyed[1] as "labels" | "annotations"] as Record<string, string> | undefined)?.[keyed[2] as string] ?? "";
  const values: Record<string, unknown> = {
    "metadata.name": pod.metadata.name,
    "metadata.namespace": pod.metadata.namespace,
    "metadata.uid": pod.metadata.uid,
    "metadata.labels": formatMap(pod.metadata.labels),
    "metadata.annotations": formatMap(pod.metadata.annotations),
    "spec.nodeName": spec.nodeName,
    "spec.serviceAccountName": spec.serviceAccountName,
    "status.hostIP": sources.hostIP,
    "status.hostIPs": sources.hostIP,
    "status.podIP": status.podIP,
    "status.podIPs": status.podIP,
  };
  if (!(path in values)) throw new ContainerConfigError(`unsupported fieldRef fieldPath ${path}`);
  return String(values[path] ?? "");
}

function formatMap(map: Record<string, string> | undefined): string {
  return Object.entries(map ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v}"`)
    .join("\n");
}

/** Node allocatable, used when a container sets no limit (as kubelet does). */
const NODE_ALLOCATABLE: Record<string, number> = { cpu: 2, memory: 24 * 1024 ** 3, "ephemeral-storage": 50 * 1024 ** 3 };

function resourceValue(ref: Any, container: Any): string {
  const resource = String(ref.resource);
  const [kindOf, name] = resource.split(".") as [string, string];
  const resources = ((container.resources as Any | undefined)?.[kindOf] as Record<string, string> | undefined) ?? {};
  const raw = resources[name];
  const amount = raw !== undefined ? quantity(raw) : kindOf === "limits" ? (NODE_ALLOCATABLE[name] ?? 0) : 0;
  const divisor = ref.divisor !== undefined ? quantity(String(ref.divisor)) : 1;
  return String(Math.ceil(amount / divisor));
}

const SUFFIX: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };

export function quantity(text: string): number {
  const match = /^([0-9.]+)([a-zA-Z]*)$/.exec(text.trim());
  if (!match) throw new ContainerConfigError(`invalid quantity ${text}`);
  return Number(match[1]) * (match[2] ? (SUFFIX[match[2]] ?? NaN) : 1);
}

/** Docker-link style variables for every service with a ClusterIP (pkg/kubelet/envvars). */
export function serviceLinks(sources: EnvSources): Record<string, string> {
  const spec = (sources.pod.spec ?? {}) as Any;
  const env: Record<string, string> = {};
  for (const service of sources.services) {
    const isMasterService = service.metadata.namespace === "default" && service.metadata.name === "kubernetes";
    if (spec.enableServiceLinks === false && !isMasterService) continue;
    const serviceSpec = (service.spec ?? {}) as Any;
    const ip = serviceSpec.clusterIP;
    if (typeof ip !== "string" || ip === "" || ip === "None") continue;
    const ports = (serviceSpec.ports as Any[] | undefined) ?? [];
    const first = ports[0];
    if (!first) continue;
    const prefix = String(service.metadata.name).toUpperCase().replace(/-/g, "_");
    env[`${prefix}_SERVICE_HOST`] = ip;
    env[`${prefix}_SERVICE_PORT`] = String(first.port);
    for (const port of ports) if (port.name) env[`${prefix}_SERVICE_PORT_${String(port.name).toUpperCase().replace(/-/g, "_")}`] = String(port.port);
    const protocol = String(first.protocol ?? "TCP").toLowerCase();
    env[`${prefix}_PORT`] = `${protocol}://${ip}:${first.port}`;
    for (const port of ports) {
      const proto = String(port.protocol ?? "TCP");
      const base = `${prefix}_PORT_${port.port}_${proto.toUpperCase()}`;
      env[base] = `${proto.toLowerCase()}://${ip}:${port.port}`;
      env[`${base}_PROTO`] = proto.toLowerCase();
      env[`${base}_PORT`] = String(port.port);
      env[`${base}_ADDR`] = ip;
    }
  }
  return env;
}
