/**
 * What the API server fills in on create, as a real one does: defaults for pods, services,
 * deployments and namespaces (a workload's spec on every write), ClusterIP allocation, and
 * scheduling (one node, so every pod is bound to it at once); then the validating admission
 * of admission/policies.ts.
 */
import { AddressPool, NODE_NAME } from "../addresses.ts";
import { ApiError } from "./status.ts";
import type { KubeObject, ObjectStore } from "./store.ts";
import { PolicyAdmission } from "../admission/policies.ts";
import type { ResourceType } from "./resources.ts";

type Any = Record<string, unknown>;
const obj = (value: unknown): Any => (value && typeof value === "object" && !Array.isArray(value) ? (value as Any) : {});

export class Admission {
  readonly clusterIps: AddressPool;
  readonly policies = new PolicyAdmission();

  constructor(servicePrefix: string) {
    this.clusterIps = new AddressPool(servicePrefix);
  }

  /**
   * Every write: what the API server normalises (a Secret's stringData becomes base64 data),
   * and the defaults of a workload's spec, filled in on an update as on a create.
   */
  onWrite(type: ResourceType, object: KubeObject, old?: KubeObject): void {
    if (type.kind === "Deployment") defaultDeploymentSpec(object);
    if (type.kind === "Service" && old) keepAllocatedClusterIp(object, old);
    if (type.kind === "StatefulSet") defaultStatefulSetSpec(object);
    if (type.kind === "Secret" && object.stringData) {
      const data = { ...obj(object.data) } as Record<string, string>;
      for (const [key, value] of Object.entries(obj(object.stringData))) data[key] = Buffer.from(String(value)).toString("base64");
      object.data = data;
      delete object.stringData;
    }
  }

  /** Mutates `object` before it is stored. */
  onCreate(type: ResourceType, object: KubeObject): void {
    this.onWrite(type, object);
    switch (type.kind) {
      case "Pod":
        defaultPod(object);
        break;
      case "Service":
        this.defaultService(object);
        break;
      case "Deployment":
        defaultDeployment(object);
        break;
      case "StatefulSet":
        defaultStatefulSet(object);
        break;
      case "Namespace":
        object.spec = { finalizers: ["kubernetes"], ...obj(object.spec) };
        object.status = { phase: "Active" };
        object.metadata.labels = { ...object.metadata.labels, "kubernetes.io/metadata.name": object.metadata.name ?? "" };
        break;
    }
  }

  admit(store: ObjectStore, type: ResourceType, object: KubeObject, operation: "create" | "update", old?: KubeObject): string[] {
    return this.policies.admit(store, type, object, operation, old);
  }

  onDelete(type: ResourceType, object: KubeObject): void {
    const ip = obj(object.spec).clusterIP;
    if (type.kind === "Service" && typeof ip === "string" && ip !== "None") this.clusterIps.release(ip);
  }

  private defaultService(service: KubeObject): void {
    const spec = obj(service.spec);
    spec.type ??= "ClusterIP";
    spec.sessionAffinity ??= "None";
    if (spec.type !== "ExternalName") {
      if (spec.clusterIP === undefined || spec.clusterIP === "") spec.clusterIP = this.clusterIps.allocate();
      else if (spec.clusterIP !== "None" && !this.clusterIps.claim(String(spec.clusterIP))) {
        throw new ApiError(422, "Invalid", `Service "${service.metadata.name}" is invalid: spec.clusterIPs: Invalid value: ["${spec.clusterIP}"]: failed to allocate IP ${spec.clusterIP}: provided IP is already allocated`);
      }
      spec.clusterIPs = [spec.clusterIP];
      spec.ipFamilies ??= ["IPv4"];
      spec.ipFamilyPolicy ??= "SingleStack";
      spec.internalTrafficPolicy ??= "Cluster";
    }
    spec.ports = ((spec.ports as Any[] | undefined) ?? []).map((port) => ({ protocol: "TCP", ...port, targetPort: port.targetPort ?? port.port }));
    service.spec = spec;
    service.status = { loadBalancer: {} };
  }
}

function defaultContainer(container: Any): Any {
  return {
    imagePullPolicy: String(container.image ?? "").endsWith(":latest") || !String(container.image ?? "").includes(":") ? "Always" : "IfNotPresent",
    terminationMessagePath: "/dev/termination-log",
    terminationMessagePolicy: "File",
    resources: {},
    ...container,
    ...(container.ports ? { ports: (container.ports as Any[]).map((port) => ({ protocol: "TCP", ...port })) } : {}),
  };
}

export function defaultPodSpec(spec: Any): Any {
  return {
    restartPolicy: "Always",
    terminationGracePeriodSeconds: 30,
    dnsPolicy: "ClusterFirst",
    serviceAccountName: "default",
    serviceAccount: spec.serviceAccountName ?? "default",
    schedulerName: "default-scheduler",
    securityContext: {},
    enableServiceLinks: true,
    ...spec,
    containers: ((spec.containers as Any[] | undefined) ?? []).map(defaultContainer),
    ...(spec.initContainers ? { initContainers: (spec.initContainers as Any[]).map(defaultContainer) } : {}),
  };
}

const TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * The ServiceAccount admission plugin: a projected token, CA and namespace at TOKEN_PATH in
 * every container that has nothing mounted there. As in Kubernetes, a `kube-api-access-*`
 * volume already in the spec (a pod re-created from a saved spec) is reused, not doubled.
 */
function mountServiceAccount(spec: Any): void {
  if (spec.automountServiceAccountToken === false) return;
  const volumes = (spec.volumes as Any[] | undefined) ?? [];
  const existing = volumes.find((v) => String(v.name).startsWith("kube-api-access-"));
  const name = existing ? String(existing.name) : `kube-api-access-${Math.random().toString(36).slice(2, 7)}`;
  let needed = false;
  for (const container of (spec.containers as Any[] | undefined) ?? []) {
    const mounts = (container.volumeMounts as Any[] | undefined) ?? [];
    if (mounts.some((m) => m.mountPath === TOKEN_PATH)) continue;
    container.volumeMounts = [...mounts, { name, mountPath: TOKEN_PATH, readOnly: true }];
    needed = true;
  }
  if (existing || !needed) return;
  spec.volumes = [
    ...volumes,
    {
      name,
      projected: {
        defaultMode: 0o644,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
          { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
          { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } },
        ],
      },
    },
  ];
}

function defaultPod(pod: KubeObject): void {
  const spec = defaultPodSpec(obj(pod.spec));
  mountServiceAccount(spec);
  spec.nodeName ??= NODE_NAME;
  pod.spec = spec;
  pod.status = {
    phase: "Pending",
    qosClass: "BestEffort",
    conditions: [{ type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z") }],
  };
}

function defaultStatefulSet(set: KubeObject): void {
  defaultStatefulSetSpec(set);
  set.status = {};
}

function defaultStatefulSetSpec(set: KubeObject): void {
  const spec = obj(set.spec);
  spec.replicas ??= 1;
  spec.revisionHistoryLimit ??= 10;
  spec.podManagementPolicy ??= "OrderedReady";
  spec.updateStrategy ??= { type: "RollingUpdate", rollingUpdate: { partition: 0 } };
  const template = obj(spec.template);
  template.spec = defaultPodSpec(obj(template.spec));
  spec.template = template;
  set.spec = spec;
}

function defaultDeployment(deployment: KubeObject): void {
  defaultDeploymentSpec(deployment);
  deployment.status = {};
}

function defaultDeploymentSpec(deployment: KubeObject): void {
  const spec = obj(deployment.spec);
  spec.replicas ??= 1;
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  spec.strategy ??= { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } };
  const template = obj(spec.template);
  template.spec = defaultPodSpec(obj(template.spec));
  spec.template = template;
  deployment.spec = spec;
}

/** An update that leaves out clusterIP keeps the allocated one, as the Service registry's patchAllocatedValues does. */
function keepAllocatedClusterIp(service: KubeObject, old: KubeObject): void {
  const spec = obj(service.spec);
  const before = obj(old.spec);
  if ((spec.clusterIP === undefined || spec.clusterIP === "") && before.clusterIP !== undefined) {
    spec.clusterIP = before.clusterIP;
    if (spec.clusterIPs === undefined) spec.clusterIPs = before.clusterIPs;
    service.spec = spec;
  }
}
