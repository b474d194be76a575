import { describe, expect, test } from "vitest";
import { policyOf, violations } from "./podSecurity.ts";

const container = (name: string, extra: object = {}) => ({ name, image: "node:22", ...extra });
const hardened = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };
const hardenedPod = { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } };

describe("Pod Security Standards checks", () => {
  test("labels pick the level and version; absent is privileged, an unknown level counts as restricted", () => {
    expect(policyOf({}, "enforce")).toEqual({ level: "privileged", version: "latest" });
    expect(policyOf({ "pod-security.kubernetes.io/warn": "baseline", "pod-security.kubernetes.io/warn-version": "v1.32" }, "warn")).toEqual({ level: "baseline", version: "v1.32" });
    expect(policyOf({ "pod-security.kubernetes.io/enforce": "strict" }, "enforce").level).toBe("restricted");
  });

  test("baseline: host namespaces, hostPath, hostPort, privileged and added capabilities, naming every container", () => {
    const spec = {
      hostNetwork: true,
      volumes: [{ name: "root", hostPath: { path: "/" } }, { name: "cache", emptyDir: {} }],
      containers: [container("a", { securityContext: { privileged: true, capabilities: { add: ["NET_ADMIN", "CHOWN"] } }, ports: [{ containerPort: 80, hostPort: 8080 }] }), container("b", { securityContext: { privileged: true } })],
    };
    expect(violations(spec, "baseline")).toEqual([
      'non-default capabilities (container "a" must not include "NET_ADMIN" in securityContext.capabilities.add)',
      "host namespaces (hostNetwork=true)",
      'hostPath volumes (volume "root")',
      'hostPort (container "a" uses hostPort 8080)',
      'privileged (containers "a", "b" must not set securityContext.privileged=true)',
    ]);
    expect(violations({ containers: [container("plain")] }, "baseline")).toEqual([]);
    expect(violations(spec, "privileged")).toEqual([]);
  });

  test("restricted: a compliant pod passes; volume types, root and NET_BIND_SERVICE as the standard has them", () => {
    expect(violations({ securityContext: hardenedPod, containers: [container("app", { securityContext: { ...hardened, capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] } } })] }, "restricted")).toEqual([]);
    const spec = { securityContext: { ...hardenedPod, runAsUser: 0 }, volumes: [{ name: "root", hostPath: { path: "/" } }], containers: [container("app", { securityContext: hardened }), container("sidecar", { securityContext: { ...hardened, runAsNonRoot: false } })] };
    expect(violations(spec, "restricted")).toEqual([
      'restricted volume types (volume "root" uses restricted volume type "hostPath")',
      'runAsNonRoot != true (container "sidecar" must not set securityContext.runAsNonRoot=false)',
      "runAsUser=0 (pod must not set runAsUser=0)",
    ]);
  });
});
