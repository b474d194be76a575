/**
 * Kubernetes manifests for tests and benches, built instead of written out: a Deployment and
 * the Service in front of it in a line each, as YAML kubectl applies.
 */
import { stringify } from "yaml";

export interface ContainerPort {
  name?: string;
  containerPort: number;
}

export interface DeploymentSpec {
  name: string;
  namespace?: string;
  image: string;
  replicas?: number;
  command?: string[];
  ports?: ContainerPort[];
  /** The pod template's labels besides app=<name>. */
  labels?: Record<string, string>;
  /** More fields of the one container (probes, env, envFrom…). */
  container?: Record<string, unknown>;
}

export interface ServiceSpec {
  name: string;
  namespace?: string;
  /** Default: app=<name>. */
  selector?: Record<string, string>;
  ports: { name?: string; port: number; targetPort?: number | string }[];
  clusterIP?: "None";
}

const metadata = (name: string, namespace?: string) => ({ name, ...(namespace ? { namespace } : {}) });

export function deployment({ name, namespace, image, replicas, command, ports, labels, container }: DeploymentSpec): object {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: metadata(name, namespace),
    spec: {
      ...(replicas !== undefined ? { replicas } : {}),
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, ...labels } },
        spec: { containers: [{ name, image, ...(command ? { command } : {}), ...(ports ? { ports } : {}), ...container }] },
      },
    },
  };
}

export function service({ name, namespace, selector, ports, clusterIP }: ServiceSpec): object {
  return { apiVersion: "v1", kind: "Service", metadata: metadata(name, namespace), spec: { ...(clusterIP ? { clusterIP } : {}), selector: selector ?? { app: name }, ports } };
}

/** The objects as one YAML stream (documents separated by ---). */
export function manifests(...objects: object[]): string {
  return objects.map((object) => stringify(object)).join("---\n");
}
