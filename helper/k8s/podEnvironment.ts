/**
 * Reads what a container's environment is built from: the live agent pod (its identity for
 * field references; its container spec, less kbridge's own variables, is the workload's),
 * the config maps and secrets it names, and the node's allocatable resources.
 */
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import type { ContainerEnvSpec, EnvInputs, PodIdentity } from "../environment/containerEnv.ts";
import { clusterCall, type ClusterConnection } from "./clusterConnection.ts";

export type EnvironmentSources = Pick<EnvInputs, "pod" | "container" | "configMap" | "secret" | "allocatable"> & {
  /** The container's volume mounts: volume name → mount path (kbridge's own left out). */
  volumeMounts: { name: string; mountPath: string }[];
};

export async function readEnvironmentSources(connection: ClusterConnection, namespace: string, podName: string, containerName: string): Promise<EnvironmentSources> {
  const pod: V1Pod = await clusterCall(connection, `read pod ${namespace}/${podName}`, () => connection.core.readNamespacedPod({ name: podName, namespace }));
  const spec = pod.spec?.containers.find((c: V1Container) => c.name === containerName);
  const container: ContainerEnvSpec = { name: containerName, env: (spec?.env ?? []).filter((e) => !e.name.startsWith("KBRIDGE_")) as ContainerEnvSpec["env"], envFrom: spec?.envFrom as ContainerEnvSpec["envFrom"], resources: spec?.resources as ContainerEnvSpec["resources"] };
  const configMaps = new Map<string, Promise<Record<string, string> | null>>();
  const secrets = new Map<string, Promise<Record<string, string> | null>>();
  const configMap = (name: string) => {
    if (!configMaps.has(name)) {
      configMaps.set(
        name,
        clusterCall(connection, `read config map ${namespace}/${name}`, () => connection.core.readNamespacedConfigMap({ name, namespace }), { notFound: "null" }).then((cm) =>
          cm ? { ...cm.data, ...Object.fromEntries(Object.entries(cm.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")])) } : null,
        ),
      );
    }
    return configMaps.get(name) as Promise<Record<string, string> | null>;
  };
  const secret = (name: string) => {
    if (!secrets.has(name)) {
      secrets.set(
        name,
        clusterCall(connection, `read secret ${namespace}/${name}`, () => connection.core.readNamespacedSecret({ name, namespace }), { notFound: "null" }).then((s) =>
          s ? Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")])) : null,
        ),
      );
    }
    return secrets.get(name) as Promise<Record<string, string> | null>;
  };
  // Limits the container leaves unset are the node's allocatable; reading nodes may be forbidden.
  const node = pod.spec?.nodeName
    ? await clusterCall(connection, `read node ${pod.spec.nodeName}`, () => connection.core.readNode({ name: pod.spec?.nodeName as string }), { notFound: "null" }).catch(() => null)
    : null;
  const identity: PodIdentity = {
    metadata: { name: pod.metadata?.name, namespace: pod.metadata?.namespace, uid: pod.metadata?.uid, labels: pod.metadata?.labels, annotations: pod.metadata?.annotations },
    spec: { nodeName: pod.spec?.nodeName, serviceAccountName: pod.spec?.serviceAccountName },
    status: { podIP: pod.status?.podIP, hostIP: pod.status?.hostIP },
  };
  const volumeMounts = (spec?.volumeMounts ?? []).filter((m) => m.name !== "kbridge-agent").map((m) => ({ name: m.name, mountPath: m.mountPath }));
  return { pod: identity, container, configMap, secret, volumeMounts, ...(node?.status?.allocatable ? { allocatable: node.status.allocatable } : {}) };
}
