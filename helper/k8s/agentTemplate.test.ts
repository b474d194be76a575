import { describe, expect, test } from "vitest";
import type { V1PodTemplateSpec } from "@kubernetes/client-node";
import { agentTemplate, type AgentOptions } from "./agentTemplate.ts";
import { labelsFor } from "./sessionLabels.ts";

const session = { id: "a1b2c3d4", owner: "ada@Ada's laptop", expiresAt: new Date("2026-11-27T20:00:00Z") };
const template: V1PodTemplateSpec = {
  metadata: { labels: { app: "orders" } },
  spec: {
    containers: [
      {
        name: "orders",
        image: "orders:1",
        command: ["./orders"],
        workingDir: "/srv",
        env: [{ name: "MODE", value: "prod" }],
        ports: [{ name: "http", containerPort: 8080 }],
        readinessProbe: { httpGet: { path: "/ready", port: 8080 } },
        livenessProbe: { httpGet: { path: "/healthz", port: 8080 } },
        startupProbe: { httpGet: { path: "/started", port: 8080 } },
        lifecycle: { preStop: { exec: { command: ["sleep", "5"] } } },
        securityContext: { runAsUser: 4242 },
      },
      { name: "envoy", image: "envoy:1" },
    ],
  },
};
const options = (keep: AgentOptions["keep"]): AgentOptions => ({ image: "node:22-alpine", inboundPort: 47000, outboundPort: 47001, helperKey: "MCowBQYDK2VwAyEA" + "A".repeat(44), deadmanSeconds: 30, keep });
const agentOf = (spec: V1PodTemplateSpec) => spec.spec?.containers.find((c) => c.name === "orders");

describe("agentTemplate", () => {
  test("swaps only the target container for the agent: its image and script, the ports it listens on, non-root, no extra privileges", () => {
    const result = agentTemplate(template, "orders", [8080], session, "kbridge-a1b2c3d4-agent", options({ probes: false, lifecycleHooks: false }));
    const agent = agentOf(result);
    expect(agent).toMatchObject({ image: "node:22-alpine", command: ["node", "/opt/kbridge/agent.mjs"], args: [] });
    expect(agent?.workingDir).toBeUndefined();
    expect(agent?.env).toEqual([
      { name: "MODE", value: "prod" },
      { name: "KBRIDGE_PORTS", value: "8080" },
      { name: "KBRIDGE_INBOUND_PORT", value: "47000" },
      { name: "KBRIDGE_OUTBOUND_PORT", value: "47001" },
      { name: "KBRIDGE_SESSION", value: "a1b2c3d4" },
      // The public key only: nothing in the pod spec (or any Secret) lets someone else drive the agent.
      { name: "KBRIDGE_HELPER_KEY", value: "MCowBQYDK2VwAyEA" + "A".repeat(44) },
      { name: "KBRIDGE_READY_PORT", value: "47002" },
      { name: "KBRIDGE_VOLUME_MOUNTS", value: "[]" },
    ]);
    // The helper's ports are on the pod's loopback: only the ready port is the pod's.
    expect(agent?.ports?.filter((p) => p.name?.startsWith("kbridge"))).toEqual([{ name: "kbridge-ready", containerPort: 47002, protocol: "TCP" }]);
    expect(agent?.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 4242, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } });
    expect(result.spec?.containers[1]).toEqual(template.spec?.containers[1]);
    expect(result.spec?.volumes).toEqual([{ name: "kbridge-agent", configMap: { name: "kbridge-a1b2c3d4-agent", defaultMode: 0o444 } }]);
    expect(result.metadata?.labels).toEqual({ app: "orders", "kbridge.dev/session": "a1b2c3d4", "kbridge.dev/role": "agent" });
    expect(template.spec?.containers[0]?.image, "the input is not modified").toBe("orders:1");
  });

  test("readiness is always the agent's own; probes and hooks go unless the profile keeps them; kept probes are answered by the agent", () => {
    const bare = agentOf(agentTemplate(template, "orders", [8080], session, "cm", options({ probes: false, lifecycleHooks: false })));
    expect(bare?.readinessProbe).toEqual({ tcpSocket: { port: 47002 }, periodSeconds: 1 });
    expect([bare?.livenessProbe, bare?.startupProbe, bare?.lifecycle]).toEqual([undefined, undefined, undefined]);
    expect(bare?.env?.find((e) => e.name === "KBRIDGE_PROBES")).toBeUndefined();

    const kept = agentOf(agentTemplate(template, "orders", [8080], session, "cm", options({ probes: true, lifecycleHooks: true })));
    expect(kept?.readinessProbe).toEqual({ tcpSocket: { port: 47002 }, periodSeconds: 1 });
    expect(kept?.livenessProbe).toEqual({ httpGet: { path: "/healthz", port: 8080 } });
    expect(kept?.startupProbe).toEqual({ httpGet: { path: "/started", port: 8080 } });
    expect(kept?.lifecycle).toEqual({ preStop: { exec: { command: ["sleep", "5"] } } });
    expect(JSON.parse(kept?.env?.find((e) => e.name === "KBRIDGE_PROBES")?.value ?? "")).toEqual([{ port: 8080, path: "/healthz" }, { port: 8080, path: "/started" }]);
  });

  test("kept probes: a named port resolves to its number, a TCP probe keeps its port, an exec probe is dropped", () => {
    const named: V1PodTemplateSpec = structuredClone(template);
    const container = named.spec?.containers[0];
    if (!container) throw new Error("no container");
    container.ports = [{ name: "http", containerPort: 8080 }, { name: "admin", containerPort: 9901 }];
    container.livenessProbe = { tcpSocket: { port: "admin" } };
    container.startupProbe = { exec: { command: ["cat", "/tmp/started"] } };
    const agent = agentOf(agentTemplate(named, "orders", [8080], session, "cm", options({ probes: true, lifecycleHooks: false })));
    expect(agent?.livenessProbe).toEqual({ tcpSocket: { port: "admin" } });
    expect(agent?.startupProbe).toBeUndefined();
    expect(JSON.parse(agent?.env?.find((e) => e.name === "KBRIDGE_PROBES")?.value ?? "")).toEqual([{ port: 9901 }]);
  });

  test("labels carry the session and a DNS-safe owner", () => {
    expect(labelsFor(session)).toEqual({ "app.kubernetes.io/managed-by": "kbridge", "kbridge.dev/session": "a1b2c3d4", "kbridge.dev/owner": "ada.Ada.s.laptop" });
  });
});
