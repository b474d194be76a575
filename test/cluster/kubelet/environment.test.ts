import { describe, expect, test } from "vitest";
import type { KubeObject } from "../apiserver/store.ts";
import { buildEnvironment, ContainerConfigError, expand, type EnvSources } from "./environment.ts";

const pod: KubeObject = {
  metadata: { name: "api-7d9f", namespace: "shop", uid: "u-1", labels: { app: "api", tier: "back" }, annotations: { note: "x" } },
  spec: { nodeName: "kbridge-node", serviceAccountName: "api", enableServiceLinks: true },
  status: { podIP: "127.20.0.7" },
};
const configMaps: Record<string, KubeObject> = { settings: { metadata: { name: "settings" }, data: { MODE: "demo", "log.level": "debug" } } };
const secrets: Record<string, KubeObject> = { creds: { metadata: { name: "creds" }, data: { PASSWORD: Buffer.from("s3cr3t\nline2").toString("base64") } } };
const services: KubeObject[] = [
  { metadata: { name: "orders-api", namespace: "shop" }, spec: { clusterIP: "127.30.0.5", ports: [{ name: "http", port: 80, protocol: "TCP" }, { name: "grpc-port", port: 9090, protocol: "TCP" }] } },
  { metadata: { name: "headless", namespace: "shop" }, spec: { clusterIP: "None", ports: [{ port: 80 }] } },
];
const sources: EnvSources = { pod, configMap: (n) => configMaps[n], secret: (n) => secrets[n], services, hostIP: "127.0.0.1" };

describe("buildEnvironment", () => {
  test("envFrom with prefix, then env with every valueFrom kind, in kubelet's precedence", () => {
    const env = buildEnvironment(
      {
        envFrom: [{ configMapRef: { name: "settings" }, prefix: "CFG_" }, { secretRef: { name: "creds" } }],
        env: [
          { name: "CFG_MODE", value: "overridden" },
          { name: "GREETING", value: "hello $(CFG_MODE) from $(POD_NAME) $$(LITERAL) $(UNKNOWN)" },
          { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
          { name: "TIER", valueFrom: { fieldRef: { fieldPath: "metadata.labels['tier']" } } },
          { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
          { name: "LEVEL", valueFrom: { configMapKeyRef: { name: "settings", key: "log.level" } } },
          { name: "PW", valueFrom: { secretKeyRef: { name: "creds", key: "PASSWORD" } } },
          { name: "MEM_MI", valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } } },
          { name: "CPU", valueFrom: { resourceFieldRef: { resource: "requests.cpu", divisor: "1m" } } },
          { name: "MAYBE", valueFrom: { configMapKeyRef: { name: "absent", key: "x", optional: true } } },
          { name: "ORDERS_API_SERVICE_HOST", value: "mine" },
        ],
        resources: { limits: { memory: "128Mi" }, requests: { cpu: "250m" } },
      },
      sources,
    );
    expect(env).toMatchObject({
      CFG_MODE: "overridden",
      "CFG_log.level": "debug",
      PASSWORD: "s3cr3t\nline2",
      // Expansion sees what was defined before it: POD_NAME comes later, so it stays literal.
      GREETING: "hello overridden from $(POD_NAME) $(LITERAL) $(UNKNOWN)",
      POD_NAME: "api-7d9f",
      POD_IP: "127.20.0.7",
      TIER: "back",
      NODE: "kbridge-node",
      LEVEL: "debug",
      PW: "s3cr3t\nline2",
      MEM_MI: "128",
      CPU: "250",
      ORDERS_API_SERVICE_HOST: "mine",
    });
    expect(env).not.toHaveProperty("MAYBE");
  });

  test("service links in Kubernetes' exact format, for services with a ClusterIP", () => {
    const env = buildEnvironment({}, sources);
    expect(env).toEqual({
      ORDERS_API_SERVICE_HOST: "127.30.0.5",
      ORDERS_API_SERVICE_PORT: "80",
      ORDERS_API_SERVICE_PORT_HTTP: "80",
      ORDERS_API_SERVICE_PORT_GRPC_PORT: "9090",
      ORDERS_API_PORT: "tcp://127.30.0.5:80",
      ORDERS_API_PORT_80_TCP: "tcp://127.30.0.5:80",
      ORDERS_API_PORT_80_TCP_PROTO: "tcp",
      ORDERS_API_PORT_80_TCP_PORT: "80",
      ORDERS_API_PORT_80_TCP_ADDR: "127.30.0.5",
      ORDERS_API_PORT_9090_TCP: "tcp://127.30.0.5:9090",
      ORDERS_API_PORT_9090_TCP_PROTO: "tcp",
      ORDERS_API_PORT_9090_TCP_PORT: "9090",
      ORDERS_API_PORT_9090_TCP_ADDR: "127.30.0.5",
    });
    expect(buildEnvironment({}, { ...sources, pod: { ...pod, spec: { enableServiceLinks: false } } })).toEqual({});
  });

  test("a missing ConfigMap, Secret or key is a container config error naming it", () => {
    expect(() => buildEnvironment({ envFrom: [{ configMapRef: { name: "nope" } }] }, sources)).toThrow(new ContainerConfigError('configmap "nope" not found'));
    expect(() => buildEnvironment({ env: [{ name: "X", valueFrom: { secretKeyRef: { name: "creds", key: "NOPE" } } }] }, sources)).toThrow(/couldn't find key NOPE in Secret shop\/creds/);
  });

  test("expand handles $$ escapes and leaves unknown references", () => {
    expect(expand("$(A)-$$(A)-$(B)-$", (n) => (n === "A" ? "a" : undefined))).toBe("a-$(A)-$(B)-$");
  });
});
