/**
 * The cluster services a workstation process may call, as endpoints to map: every Service
 * of the target's namespace (and of other namespaces the config file names), headless
 * services also per pod hostname, ExternalName services by their external name. Each comes
 * with the names the process may use and the host the agent dials inside the cluster.
 */
import type { V1Endpoints, V1Service } from "@kubernetes/client-node";
import { clusterCall, type ClusterConnection } from "./clusterConnection.ts";

export interface ServicePortSpec {
  name?: string;
  port: number;
}

export interface ClusterEndpoint {
  /** Stable key: `ns/service` or `ns/service/hostname`. */
  key: string;
  namespace: string;
  service: string;
  /** Headless services' pods with a hostname get their own endpoint. */
  hostname?: string;
  kind: "service" | "headless-service" | "headless-pod" | "external-name";
  ports: ServicePortSpec[];
  /** Names the workstation process may use (hosts-file entries). */
  names: string[];
  /** What the agent connects to inside the cluster. */
  dialHost: string;
}

export interface CatalogScope {
  namespace: string;
  /** The bare service name (`orders`) is only mapped for the target's own namespace. */
  bareNames: boolean;
}

/** Lists the endpoints of the given namespaces (one list call each for services and endpoints). */
export async function listClusterEndpoints(connection: ClusterConnection, scopes: CatalogScope[]): Promise<ClusterEndpoint[]> {
  const results = await Promise.all(
    scopes.map(async (scope) => {
      const [services, endpoints] = await Promise.all([
        clusterCall(connection, `list the services of namespace ${scope.namespace}`, () => connection.core.listNamespacedService({ namespace: scope.namespace })),
        clusterCall(connection, `list the endpoints of namespace ${scope.namespace}`, () => connection.core.listNamespacedEndpoints({ namespace: scope.namespace })),
      ]);
      const byName = new Map(endpoints.items.map((e) => [e.metadata?.name ?? "", e]));
      return services.items.flatMap((service) => endpointsOf(service, byName.get(service.metadata?.name ?? ""), scope));
    }),
  );
  return results.flat().sort((a, b) => a.key.localeCompare(b.key));
}

export function endpointsOf(service: V1Service, endpoints: V1Endpoints | undefined, scope: CatalogScope): ClusterEndpoint[] {
  const name = service.metadata?.name ?? "";
  const namespace = scope.namespace;
  const ports: ServicePortSpec[] = (service.spec?.ports ?? []).filter((p) => (p.protocol ?? "TCP") === "TCP").map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port }));
  const names = (host: string) => [...(scope.bareNames ? [host] : []), `${host}.${namespace}`, `${host}.${namespace}.svc`, `${host}.${namespace}.svc.cluster.local`];
  if (service.spec?.type === "ExternalName") {
    const external = service.spec.externalName ?? "";
    // No ports on an ExternalName service: the caller's port is used; map the common ones the spec lists, else 80 and 443.
    return [{ key: `${namespace}/${name}`, namespace, service: name, kind: "external-name", ports: ports.length > 0 ? ports : [{ port: 80 }, { port: 443 }], names: names(name), dialHost: external }];
  }
  if (ports.length === 0) return [];
  const own: ClusterEndpoint = { key: `${namespace}/${name}`, namespace, service: name, kind: "service", ports, names: names(name), dialHost: `${name}.${namespace}.svc.cluster.local` };
  if (service.spec?.clusterIP !== "None") return [own];
  own.kind = "headless-service";
  // Headless: the service name (any ready pod) and each pod by its hostname.
  const hostnames = new Set((endpoints?.subsets ?? []).flatMap((subset) => (subset.addresses ?? []).map((a) => a.hostname).filter((h): h is string => Boolean(h))));
  const pods = [...hostnames].sort().map(
    (hostname): ClusterEndpoint => ({
      key: `${namespace}/${name}/${hostname}`,
      namespace,
      service: name,
      hostname,
      kind: "headless-pod",
      ports,
      names: names(`${hostname}.${name}`).filter((n) => n !== `${hostname}.${name}` || scope.bareNames),
      dialHost: `${hostname}.${name}.${namespace}.svc.cluster.local`,
    }),
  );
  return [own, ...pods];
}
