import { describe, expect, test } from "vitest";
import type { EndpointView } from "../protocol/index.ts";
import { buildEnvironment, expand, quantity, serviceVariables, type EnvInputs } from "./containerEnv.ts";

const orders: EndpointView = { key: "shop/orders", kind: "service", names: ["orders"], dialHost: "orders.shop.svc.cluster.local", address: "127.1.1.3", ports: [{ name: "http", port: 80, listenPort: 80 }, { name: "grpc-api", port: 9090, listenPort: 9090 }] };
const headless: EndpointView = { key: "shop/store", kind: "headless-service", names: ["store"], dialHost: "store.shop.svc.cluster.local", address: "127.1.1.4", ports: [{ port: 8080, listenPort: 8080 }] };
const elsewhere: EndpointView = { key: "billing/invoices", kind: "service", names: ["invoices.billing"], dialHost: "invoices.billing.svc.cluster.local", address: "127.1.1.5", ports: [{ port: 80, listenPort: 80 }] };

const inputs = (overrides: Partial<EnvInputs> = {}): EnvInputs => ({
  pod: { metadata: { name: "orders-7d9-x2k", namespace: "shop", uid: "u-1", labels: { app: "orders", tier: "back" } }, spec: { nodeName: "node-1", serviceAccountName: "orders" }, status: { podIP: "10.0.0.7", hostIP: "192.168.0.2" } },
  container: { name: "orders" },
  configMap: async (name) => (name === "settings" ? { LOG_LEVEL: "info", MODE: "cm" } : null),
  secret: async (name) => (name === "creds" ? { PASSWORD: `p "w"\nline 2`, MODE: "secret" } : null),
  endpoints: [orders, headless, elsewhere],
  ...overrides,
});
const asMap = (vars: Awaited<ReturnType<typeof buildEnvironment>>) => Object.fromEntries(vars.map((v) => [v.name, v.value]));

describe("buildEnvironment", () => {
  test("envFrom (prefix, later wins), then env with $(VAR) expansion, key refs, field and resource refs; secrets flagged", async () => {
    const vars = await buildEnvironment(
      inputs({
        container: {
          name: "orders",
          envFrom: [{ configMapRef: { name: "settings" } }, { secretRef: { name: "creds" }, prefix: "DB_" }, { configMapRef: { name: "absent", optional: true } }],
          env: [
            { name: "URL", value: "http://$(ORDERS_SERVICE_HOST):$(ORDERS_SERVICE_PORT)/$(LOG_LEVEL)/$(UNKNOWN)/$$(ESCAPED)" },
            { name: "SECRET_PASSWORD", valueFrom: { secretKeyRef: { name: "creds", key: "PASSWORD" } } },
            { name: "OPTIONAL", valueFrom: { configMapKeyRef: { name: "settings", key: "nope", optional: true } } },
            { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "TIER", valueFrom: { fieldRef: { fieldPath: "metadata.labels['tier']" } } },
            { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
            { name: "MEM_MI", valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } } },
            { name: "CPU_M", valueFrom: { resourceFieldRef: { resource: "requests.cpu", divisor: "1m" } } },
            { name: "CPU", valueFrom: { resourceFieldRef: { resource: "limits.cpu" } } },
            { name: "LOG_LEVEL", value: "debug" },
            // Built from a secret: as secret as it.
            { name: "DATABASE_URL", value: "postgres://app:$(DB_PASSWORD)@db:5432/orders" },
          ],
          resources: { limits: { memory: "256Mi", cpu: "1500m" }, requests: { cpu: "250m" } },
        },
      }),
    );
    const env = asMap(vars);
    expect(env).toMatchObject({
      MODE: "cm",
      DB_MODE: "secret",
      DB_PASSWORD: `p "w"\nline 2`,
      URL: "http://127.1.1.3:80/info/$(UNKNOWN)/$(ESCAPED)",
      SECRET_PASSWORD: `p "w"\nline 2`,
      POD: "orders-7d9-x2k",
      TIER: "back",
      IP: "10.0.0.7",
      MEM_MI: "256",
      CPU_M: "250",
      CPU: "2",
      LOG_LEVEL: "debug",
      GRPC_DNS_RESOLVER: "native",
    });
    expect(env).not.toHaveProperty("OPTIONAL");
    expect(env.DATABASE_URL).toBe(`postgres://app:p "w"\nline 2@db:5432/orders`);
    expect(vars.filter((v) => v.secret).map((v) => v.name).sort()).toEqual(["DATABASE_URL", "DB_MODE", "DB_PASSWORD", "SECRET_PASSWORD"]);
  });

  test("the config file wins over the pod, the profile over both; a missing reference names what is missing", async () => {
    const env = asMap(await buildEnvironment(inputs({ container: { name: "orders", env: [{ name: "A", value: "pod" }, { name: "B", value: "pod" }] }, configFile: { A: "file", B: "file" }, overrides: { B: "profile" } })));
    expect([env.A, env.B]).toEqual(["file", "profile"]);
    await expect(buildEnvironment(inputs({ container: { name: "orders", env: [{ name: "X", valueFrom: { secretKeyRef: { name: "creds", key: "NOPE" } } }] } }))).rejects.toMatchObject({
      info: { code: "environment-source-missing", message: 'Container orders\'s environment needs key "NOPE" of Secret "creds" (variable X), which does not exist.' },
    });
  });
});

describe("serviceVariables", () => {
  test("Kubernetes' exact names and values, for the pod's namespace's services with a cluster IP only", () => {
    expect(serviceVariables([orders, headless, elsewhere], "shop")).toEqual({
      ORDERS_SERVICE_HOST: "127.1.1.3",
      ORDERS_SERVICE_PORT: "80",
      ORDERS_SERVICE_PORT_HTTP: "80",
      ORDERS_SERVICE_PORT_GRPC_API: "9090",
      ORDERS_PORT: "tcp://127.1.1.3:80",
      ORDERS_PORT_80_TCP: "tcp://127.1.1.3:80",
      ORDERS_PORT_80_TCP_PROTO: "tcp",
      ORDERS_PORT_80_TCP_PORT: "80",
      ORDERS_PORT_80_TCP_ADDR: "127.1.1.3",
      ORDERS_PORT_9090_TCP: "tcp://127.1.1.3:9090",
      ORDERS_PORT_9090_TCP_PROTO: "tcp",
      ORDERS_PORT_9090_TCP_PORT: "9090",
      ORDERS_PORT_9090_TCP_ADDR: "127.1.1.3",
    });
  });

  test("unprivileged endpoints: the variables carry the free ports on 127.0.0.1", () => {
    const env = serviceVariables([{ ...orders, address: "127.0.0.1", ports: [{ name: "http", port: 80, listenPort: 41234 }] }], "shop");
    expect(env).toMatchObject({ ORDERS_SERVICE_HOST: "127.0.0.1", ORDERS_SERVICE_PORT: "41234", ORDERS_PORT_80_TCP: "tcp://127.0.0.1:41234", ORDERS_PORT_80_TCP_PORT: "41234", ORDERS_PORT_80_TCP_ADDR: "127.0.0.1" });
  });
});

test("expand and quantity", () => {
  expect(expand("$(A)-$(B)-$$(A)-$", (n) => (n === "A" ? "a" : undefined))).toBe("a-$(B)-$(A)-$");
  expect([quantity("500m"), quantity("1Gi"), quantity("2"), quantity("1e3"), quantity("1.5k")]).toEqual([0.5, 1024 ** 3, 2, 1000, 1500]);
});
