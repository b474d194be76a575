/**
 * `meta.k8s.io/v1` Tables, which `kubectl get` asks for (Accept `as=Table`): the columns
 * of kubernetes' printers (pkg/printers/internalversion) for the common kinds, NAME and
 * AGE for the others. Rows carry PartialObjectMetadata, or the object with includeObject=Object.
 */
import type { KubeObject } from "./store.ts";

type Any = Record<string, unknown>;
interface Column {
  name: string;
  type?: string;
  format?: string;
  priority?: number;
  cell(object: KubeObject): unknown;
}

const obj = (v: unknown): Any => (v && typeof v === "object" && !Array.isArray(v) ? (v as Any) : {});
const arr = (v: unknown): Any[] => (Array.isArray(v) ? (v as Any[]) : []);

/** kubectl's human duration: 42s, 5m30s, 3h, 2d4h, 30d. */
export function age(timestamp: string | undefined, now = Date.now()): string {
  if (!timestamp) return "<unknown>";
  const seconds = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return `${minutes}m${seconds % 60 ? `${seconds % 60}s` : ""}`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  return days < 8 ? `${days}d${hours % 24 ? `${hours % 24}h` : ""}` : `${days}d`;
}

const name: Column = { name: "Name", type: "string", format: "name", cell: (o) => o.metadata.name };
const ageColumn: Column = { name: "Age", type: "string", cell: (o) => age(o.metadata.creationTimestamp) };

function podStatus(pod: KubeObject): string {
  if (pod.metadata.deletionTimestamp) return "Terminating";
  const status = obj(pod.status);
  let reason = String(status.reason ?? status.phase ?? "Pending");
  for (const container of arr(status.containerStatuses)) {
    const state = obj(container.state);
    if (state.waiting && obj(state.waiting).reason) reason = String(obj(state.waiting).reason);
    else if (state.terminated) reason = String(obj(state.terminated).reason ?? `ExitCode:${obj(state.terminated).exitCode}`);
  }
  return reason;
}

function servicePorts(service: KubeObject): string {
  const ports = arr(obj(service.spec).ports).map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol ?? "TCP"}`);
  return ports.length ? ports.join(",") : "<none>";
}

const COLUMNS: Record<string, Column[]> = {
  Pod: [
    name,
    { name: "Ready", type: "string", cell: (o) => `${arr(obj(o.status).containerStatuses).filter((c) => c.ready).length}/${arr(obj(o.spec).containers).length}` },
    { name: "Status", type: "string", cell: podStatus },
    { name: "Restarts", type: "string", cell: (o) => String(arr(obj(o.status).containerStatuses).reduce((n, c) => n + Number(c.restartCount ?? 0), 0)) },
    ageColumn,
    { name: "IP", type: "string", priority: 1, cell: (o) => obj(o.status).podIP ?? "<none>" },
    { name: "Node", type: "string", priority: 1, cell: (o) => obj(o.spec).nodeName ?? "<none>" },
  ],
  Deployment: [
    name,
    { name: "Ready", type: "string", cell: (o) => `${obj(o.status).readyReplicas ?? 0}/${obj(o.spec).replicas ?? 1}` },
    { name: "Up-to-date", type: "integer", cell: (o) => obj(o.status).updatedReplicas ?? 0 },
    { name: "Available", type: "integer", cell: (o) => obj(o.status).availableReplicas ?? 0 },
    ageColumn,
  ],
  StatefulSet: [
    name,
    { name: "Ready", type: "string", cell: (o) => `${obj(o.status).readyReplicas ?? 0}/${obj(o.spec).replicas ?? 1}` },
    ageColumn,
  ],
  ReplicaSet: [
    name,
    { name: "Desired", type: "integer", cell: (o) => obj(o.spec).replicas ?? 1 },
    { name: "Current", type: "integer", cell: (o) => obj(o.status).replicas ?? 0 },
    { name: "Ready", type: "integer", cell: (o) => obj(o.status).readyReplicas ?? 0 },
    ageColumn,
  ],
  Service: [
    name,
    { name: "Type", type: "string", cell: (o) => obj(o.spec).type ?? "ClusterIP" },
    { name: "Cluster-IP", type: "string", cell: (o) => obj(o.spec).clusterIP ?? "<none>" },
    { name: "External-IP", type: "string", cell: (o) => (obj(o.spec).type === "ExternalName" ? obj(o.spec).externalName : "<none>") },
    { name: "Port(s)", type: "string", cell: servicePorts },
    ageColumn,
  ],
  Ingress: [
    name,
    { name: "Class", type: "string", cell: (o) => obj(o.spec).ingressClassName ?? "<none>" },
    { name: "Hosts", type: "string", cell: (o) => arr(obj(o.spec).rules).map((r) => r.host ?? "*").join(",") || "*" },
    { name: "Address", type: "string", cell: (o) => arr(obj(obj(o.status).loadBalancer).ingress).map((i) => i.ip ?? i.hostname).join(",") },
    { name: "Ports", type: "string", cell: () => "80" },
    ageColumn,
  ],
  Endpoints: [
    name,
    {
      name: "Endpoints",
      type: "string",
      cell: (o) => arr(o.subsets).flatMap((s) => arr(s.addresses).flatMap((a) => arr(s.ports).map((p) => `${a.ip}:${p.port}`))).join(",") || "<none>",
    },
    ageColumn,
  ],
  ConfigMap: [name, { name: "Data", type: "integer", cell: (o) => Object.keys(obj(o.data)).length + Object.keys(obj(o.binaryData)).length }, ageColumn],
  Secret: [name, { name: "Type", type: "string", cell: (o) => o.type ?? "Opaque" }, { name: "Data", type: "integer", cell: (o) => Object.keys(obj(o.data)).length }, ageColumn],
  Namespace: [name, { name: "Status", type: "string", cell: (o) => obj(o.status).phase ?? "Active" }, ageColumn],
  Node: [
    name,
    { name: "Status", type: "string", cell: (o) => (arr(obj(o.status).conditions).some((c) => c.type === "Ready" && c.status === "True") ? "Ready" : "NotReady") },
    { name: "Roles", type: "string", cell: () => "<none>" },
    ageColumn,
    { name: "Version", type: "string", cell: (o) => obj(obj(o.status).nodeInfo).kubeletVersion ?? "" },
  ],
  Event: [
    { name: "Last Seen", type: "string", cell: (o) => age(String(o.lastTimestamp ?? o.metadata.creationTimestamp)) },
    { name: "Type", type: "string", cell: (o) => o.type ?? "" },
    { name: "Reason", type: "string", cell: (o) => o.reason ?? "" },
    { name: "Object", type: "string", cell: (o) => `${String(obj(o.involvedObject).kind ?? "").toLowerCase()}/${obj(o.involvedObject).name ?? ""}` },
    { name: "Message", type: "string", cell: (o) => o.message ?? "" },
  ],
};

/** Whether the request asked for a Table (kubectl get's Accept header). */
export function wantsTable(accept: string | undefined): boolean {
  return /as=Table/.test(accept ?? "") && /g=meta\.k8s\.io/.test(accept ?? "");
}

export function toTable(kind: string, objects: KubeObject[], resourceVersion: string | undefined, includeObject: string | null): Any {
  const columns = COLUMNS[kind] ?? [name, ageColumn];
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: resourceVersion ? { resourceVersion } : {},
    columnDefinitions: columns.map((c) => ({ name: c.name, type: c.type ?? "string", format: c.format ?? "", description: "", priority: c.priority ?? 0 })),
    rows: objects.map((o) => ({
      cells: columns.map((c) => c.cell(o)),
      object: includeObject === "Object" ? o : includeObject === "None" ? undefined : { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata },
    })),
  };
}
