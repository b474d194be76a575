import { describe, expect, test } from "vitest";
import { fieldErrors, parseEnvLines, profileInputSchema, projectInputSchema } from "./index.ts";

const valid = {
  name: "api",
  kubeContext: "dev",
  namespace: "shop",
  targetKind: "service",
  targetName: "orders",
  portMappings: [{ servicePort: "80", workstationPort: "3000" }],
};

function errorsOf(input: unknown): Record<string, string> {
  const result = profileInputSchema.safeParse(input);
  return result.success ? {} : fieldErrors(result.error);
}

describe("profileInputSchema", () => {
  test("accepts a minimal profile and fills defaults", () => {
    const result = profileInputSchema.parse(valid);
    expect(result.portMappings).toEqual([{ servicePort: 80, workstationPort: 3000 }]);
    expect(result).toMatchObject({ container: "", isolated: false, privilegeMode: "auto", envOverrides: {}, agentImage: "", keepProbes: false, keepLifecycleHooks: false });
  });

  test("names each missing field", () => {
    const errors = errorsOf({ ...valid, name: " ", targetName: "", portMappings: [{ servicePort: "", workstationPort: "3000" }] });
    expect(errors.name).toBe("Name is required");
    expect(errors.targetName).toBe("Target name is required");
    expect(errors["portMappings.0.servicePort"]).toBe("Service port is required");
  });

  test("rejects bad ports with the reason", () => {
    expect(errorsOf({ ...valid, portMappings: [{ servicePort: "70000", workstationPort: "3000" }] })["portMappings.0.servicePort"]).toBe(
      "Service port must be between 1 and 65535",
    );
    expect(errorsOf({ ...valid, portMappings: [{ servicePort: "80", workstationPort: "http" }] })["portMappings.0.workstationPort"]).toBe(
      "Workstation port must be a number",
    );
    expect(errorsOf({ ...valid, portMappings: [{ servicePort: "80.5", workstationPort: "3000" }] })["portMappings.0.servicePort"]).toBe(
      "Service port must be a whole number",
    );
    expect(errorsOf({ ...valid, portMappings: [] }).portMappings).toBe("Add at least one port mapping");
  });

  test("rejects a service port mapped twice", () => {
    const errors = errorsOf({ ...valid, portMappings: [{ servicePort: 80, workstationPort: 3000 }, { servicePort: 80, workstationPort: 3001 }] });
    expect(errors["portMappings.1.servicePort"]).toBe("Service port 80 is already mapped (row 1)");
  });

  test("checks Kubernetes names and paths", () => {
    expect(errorsOf({ ...valid, namespace: "Shop" }).namespace).toMatch(/lowercase/);
    expect(errorsOf({ ...valid, targetName: "orders_v2" }).targetName).toMatch(/valid Kubernetes name/);
    expect(errorsOf({ ...valid, workingDirectory: "src/api" }).workingDirectory).toBe("Working directory must be an absolute path");
    expect(errorsOf({ ...valid, targetKind: "statefulset" }).targetKind).toMatch(/service, deployment or pod/);
    expect(errorsOf({ ...valid, isolated: true, routingKey: "a".repeat(40) }).routingKey).toMatch(/at most/);
  });

  test("takes an agent image reference from a private registry, and rejects what is not one", () => {
    for (const image of ["node:22-alpine", "registry.corp.example:5000/mirror/node:22-alpine", `ghcr.io/acme/node@sha256:${"0".repeat(64)}`]) {
      expect(errorsOf({ ...valid, agentImage: image }).agentImage, image).toBeUndefined();
    }
    for (const image of ["node 22", "Node:22", "registry/node:"]) expect(errorsOf({ ...valid, agentImage: image }).agentImage, image).toMatch(/image reference/);
  });
});

describe("projectInputSchema", () => {
  test("requires a name and an absolute folder", () => {
    const result = projectInputSchema.safeParse({ name: "", folderPath: "relative/path" });
    expect(result.success).toBe(false);
    if (!result.success) expect(fieldErrors(result.error)).toEqual({ name: "Name is required", folderPath: "Folder must be an absolute path" });
  });
});

describe("parseEnvLines", () => {
  test("keeps values verbatim and reports bad lines by number", () => {
    const parsed = parseEnvLines("A=1\n# comment\n\nB= spaced value=x \nnot a pair\n1BAD=x");
    expect(parsed.env).toEqual({ A: "1", B: " spaced value=x " });
    expect(parsed.errors).toEqual(["Line 5: expected NAME=value", "Line 6: expected NAME=value"]);
  });
});
