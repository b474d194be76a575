import { expect, test } from "vitest";
import { podResourcesSchema, withResourceOverrides } from "./podResources.ts";

const defaults = { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "100m", memory: "96Mi" } };
const empty = { cpuRequest: "", cpuLimit: "", memoryRequest: "", memoryLimit: "" };

test("empty fields keep the defaults; given ones replace them", () => {
  expect(withResourceOverrides(defaults, undefined)).toEqual(defaults);
  expect(withResourceOverrides(defaults, empty)).toEqual(defaults);
  expect(withResourceOverrides(defaults, { ...empty, cpuRequest: "50m", memoryLimit: "1Gi" })).toEqual({ requests: { cpu: "50m", memory: "32Mi" }, limits: { cpu: "100m", memory: "1Gi" } });
});

test("a limit below a default request lowers it; a request above a default limit raises it (the API server refuses request > limit)", () => {
  expect(withResourceOverrides(defaults, { ...empty, cpuLimit: "5m", memoryLimit: "16Mi" })).toEqual({ requests: { cpu: "5m", memory: "16Mi" }, limits: { cpu: "5m", memory: "16Mi" } });
  expect(withResourceOverrides(defaults, { ...empty, cpuRequest: "0.5", memoryRequest: "128M" })).toEqual({ requests: { cpu: "0.5", memory: "128M" }, limits: { cpu: "0.5", memory: "128M" } });
});

test("the schema takes Kubernetes quantities and refuses a request above its limit, by field", () => {
  expect(podResourcesSchema.parse({ cpuRequest: " 250m ", memoryLimit: "1.5Gi" })).toEqual({ ...empty, cpuRequest: "250m", memoryLimit: "1.5Gi" });
  const wrong = podResourcesSchema.safeParse({ cpuRequest: "a lot", memoryRequest: "1Gi", memoryLimit: "512Mi" });
  expect(wrong.success).toBe(false);
  expect(wrong.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([
    ["cpuRequest", "CPU request must be a Kubernetes quantity such as 50m or 0.5"],
    ["memoryRequest", "Memory request must not exceed the memory limit"],
  ]);
  const above = podResourcesSchema.safeParse({ memoryRequest: "1Gi", memoryLimit: "512Mi", cpuRequest: "2", cpuLimit: "1500m" });
  expect(above.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([
    ["cpuRequest", "CPU request must not exceed the CPU limit"],
    ["memoryRequest", "Memory request must not exceed the memory limit"],
  ]);
});
