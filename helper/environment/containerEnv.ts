/**
 * The environment a workstation process gets in place of the pod's container: the
 * container's own variables as the kubelet builds them (`envFrom` with prefixes, then `env`
 * with `$(VAR)` expansion, config map and secret keys, field and resource references), then
 * the config file's entries and the profile's overrides, with the Kubernetes service
 * variables of the namespace pointing at the mapped endpoints, and GRPC_DNS_RESOLVER=native
 * (gRPC's own resolver ignores the hosts file).
 *
 * Pure: the caller supplies the pod, the container spec and lookups for config maps and
 * secrets, so every rule is unit-testable. (The test cluster's kubelet builds the same
 * environment independently; the integration test compares the two.)
 */
import { KbridgeError, type EndpointView, type EnvVarView } from "../protocol/index.ts";

export type EnvVar = EnvVarView;
export type EnvSource = EnvVarView["source"];

interface KeyRef {
  name: string;
  key: string;
  optional?: boolean;
}

/** The parts of a container spec the environment depends on (client-node's V1Container fits). */
export interface ContainerEnvSpec {
  name: string;
  env?: { name: string; value?: string; valueFrom?: { configMapKeyRef?: KeyRef; secretKeyRef?: KeyRef; fieldRef?: { fieldPath: string }; resourceFieldRef?: { resource: string; divisor?: string | number; containerName?: string } } }[];
  envFrom?: { prefix?: string; configMapRef?: { name: string; optional?: boolean }; secretRef?: { name: string; optional?: boolean } }[];
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
}

/** The pod whose identity fieldRefs report (the live agent pod). */
export interface PodIdentity {
  metadata?: { name?: string; namespace?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { nodeName?: string; serviceAccountName?: string };
  status?: { podIP?: string; hostIP?: string };
}

export interface EnvInputs {
  pod: PodIdentity;
  container: ContainerEnvSpec;
  /** A config map's or secret's data (secrets decoded), or null when it does not exist. */
  configMap(name: string): Promise<Record<string, string> | null>;
  secret(name: string): Promise<Record<string, string> | null>;
  /** Node allocatable, for resource limits the container does not set (unknown: omitted). */
  allocatable?: Record<string, string>;
  /** Mapped endpoints (service variables point at those of the pod's namespace). */
  endpoints: EndpointView[];
  configFile?: Record<string, string>;
  overrides?: Record<string, string>;
}

export async function buildEnvironment(inputs: EnvInputs): Promise<EnvVar[]> {
  const vars = new Map<string, EnvVar>();
  const set = (name: string, value: string, source: EnvSource, secret = false) => {
    vars.delete(name);
    vars.set(name, { name, value, source, secret });
  };
  // Lowest: the service variables (the kubelet adds them only for names not otherwise set).
  const services = serviceVariables(inputs.endpoints, inputs.pod.metadata?.namespace ?? "");
  const containerName = inputs.container.name;
  for (const from of inputs.container.envFrom ?? []) {
    const isSecret = from.secretRef !== undefined;
    const ref = from.secretRef ?? from.configMapRef;
    if (!ref) continue;
    const data = isSecret ? await inputs.secret(ref.name) : await inputs.configMap(ref.name);
    if (!data) {
      if (ref.optional) continue;
      throw missing(containerName, `${isSecret ? "Secret" : "ConfigMap"} "${ref.name}" (envFrom)`);
    }
    for (const [key, value] of Object.entries(data)) set(`${from.prefix ?? ""}${key}`, value, "envFrom", isSecret);
  }
  for (const variable of inputs.container.env ?? []) {
    const from = variable.valueFrom;
    if (!from) {
      // A value built from a secret is as secret as the secret (DATABASE_URL=…$(DB_PASSWORD)…).
      let fromSecret = false;
      const value = expand(variable.value ?? "", (name) => {
        const known = vars.get(name);
        if (known?.secret) fromSecret = true;
        return known?.value ?? services[name];
      });
      set(variable.name, value, "env", fromSecret);
      continue;
    }
    const keyRef = from.secretKeyRef ?? from.configMapKeyRef;
    if (keyRef) {
      const isSecret = from.secretKeyRef !== undefined;
      const data = isSecret ? await inputs.secret(keyRef.name) : await inputs.configMap(keyRef.name);
      const value = data?.[keyRef.key];
      if (value === undefined) {
        if (keyRef.optional) continue;
        throw missing(containerName, data ? `key "${keyRef.key}" of ${isSecret ? "Secret" : "ConfigMap"} "${keyRef.name}" (variable ${variable.name})` : `${isSecret ? "Secret" : "ConfigMap"} "${keyRef.name}" (variable ${variable.name})`);
      }
      set(variable.name, value, "env", isSecret);
    } else if (from.fieldRef) {
      set(variable.name, fieldValue(from.fieldRef.fieldPath, inputs.pod, variable.name), "env");
    } else if (from.resourceFieldRef) {
      const value = resourceValue(from.resourceFieldRef, inputs.container, inputs.allocatable);
      if (value !== undefined) set(variable.name, value, "env");
    }
  }
  for (const [name, value] of Object.entries(services)) if (!vars.has(name)) vars.set(name, { name, value, source: "service", secret: false });
  for (const [name, value] of Object.entries(inputs.configFile ?? {})) set(name, value, "config-file");
  for (const [name, value] of Object.entries(inputs.overrides ?? {})) set(name, value, "profile");
  set("GRPC_DNS_RESOLVER", vars.get("GRPC_DNS_RESOLVER")?.value ?? "native", vars.get("GRPC_DNS_RESOLVER")?.source ?? "kbridge");
  return [...vars.values()];
}

function missing(container: string, what: string): KbridgeError {
  return new KbridgeError({
    code: "environment-source-missing",
    category: "cluster",
    message: `Container ${container}'s environment needs ${what}, which does not exist.`,
    hint: "The pod itself could not start this way either; create it, or mark the reference optional.",
  });
}

/** `$(VAR)` resolves against variables defined so far; `$$` escapes; an unknown reference stays as written (as in Kubernetes). */
export function expand(text: string, lookup: (name: string) => string | undefined): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => (match === "$$" ? "$" : ((name && lookup(name)) ?? match)));
}

function fieldValue(path: string, pod: PodIdentity, variable: string): string {
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (keyed) return pod.metadata?.[keyed[1] as "labels" | "annotations"]?.[keyed[2] as string] ?? "";
  const values: Record<string, string | undefined> = {
    "metadata.name": pod.metadata?.name,
    "metadata.namespace": pod.metadata?.namespace,
    "metadata.uid": pod.metadata?.uid,
    "metadata.labels": formatMap(pod.metadata?.labels),
    "metadata.annotations": formatMap(pod.metadata?.annotations),
    "spec.nodeName": pod.spec?.nodeName,
    "spec.serviceAccountName": pod.spec?.serviceAccountName,
    "status.hostIP": pod.status?.hostIP,
    "status.hostIPs": pod.status?.hostIP,
    "status.podIP": pod.status?.podIP,
    "status.podIPs": pod.status?.podIP,
  };
  if (!(path in values)) throw new KbridgeError({ code: "unsupported-field-ref", category: "cluster", message: `Variable ${variable} refers to field ${path}, which kbridge cannot read.` });
  return values[path] ?? "";
}

function formatMap(map: Record<string, string> | undefined): string {
  return Object.entries(map ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}="${value}"`)
    .join("\n");
}

const SUFFIX: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5, Ei: 1024 ** 6 };

/** A Kubernetes quantity ("500m", "128Mi", "1.5", "2e3") as a number. */
export function quantity(text: string): number {
  const match = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(text.trim());
  const factor = match?.[2] ? SUFFIX[match[2]] : 1;
  if (!match || factor === undefined) throw new KbridgeError({ code: "invalid-quantity", category: "cluster", message: `"${text}" is not a Kubernetes quantity.` });
  return Number(match[1]) * factor;
}

/** limits/requests as the kubelet reports them: divided by the divisor (default 1), rounded up; an unset limit is the node's allocatable. */
function resourceValue(ref: { resource: string; divisor?: string | number }, container: ContainerEnvSpec, allocatable: Record<string, string> | undefined): string | undefined {
  const [group, name] = ref.resource.split(".") as ["limits" | "requests", string];
  const raw = container.resources?.[group]?.[name] ?? (group === "limits" ? allocatable?.[name] : "0");
  if (raw === undefined) return undefined;
  const divisor = ref.divisor === undefined ? 1 : quantity(String(ref.divisor));
  return String(Math.ceil(quantity(raw) / divisor - 1e-9));
}

/**
 * Kubernetes' service variables (pkg/kubelet/envvars) for every mapped service with a
 * cluster IP, pointing at its endpoint on the workstation: `ORDERS_SERVICE_HOST`,
 * `ORDERS_SERVICE_PORT[_NAME]`, `ORDERS_PORT`, `ORDERS_PORT_80_TCP[_PROTO|_PORT|_ADDR]`.
 */
export function serviceVariables(endpoints: EndpointView[], namespace: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const endpoint of endpoints) {
    // Services of other namespaces, headless and ExternalName ones get no variables, as in the pod.
    const [ns, service, hostname] = endpoint.key.split("/");
    if (ns !== namespace || !service || hostname !== undefined || endpoint.kind !== "service" || endpoint.ports.length === 0) continue;
    const prefix = service.toUpperCase().replace(/-/g, "_");
    const host = endpoint.address;
    const [first] = endpoint.ports;
    env[`${prefix}_SERVICE_HOST`] = host;
    env[`${prefix}_SERVICE_PORT`] = String(first?.listenPort);
    for (const port of endpoint.ports) if (port.name) env[`${prefix}_SERVICE_PORT_${port.name.toUpperCase().replace(/-/g, "_")}`] = String(port.listenPort);
    env[`${prefix}_PORT`] = `tcp://${host}:${first?.listenPort}`;
    for (const port of endpoint.ports) {
      // Named by the service port (what applications look for), pointing at where it listens here.
      const base = `${prefix}_PORT_${port.port}_TCP`;
      env[base] = `tcp://${host}:${port.listenPort}`;
      env[`${base}_PROTO`] = "tcp";
      env[`${base}_PORT`] = String(port.listenPort);
      env[`${base}_ADDR`] = host;
    }
  }
  return env;
}
