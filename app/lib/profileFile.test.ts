import { expect, test } from "vitest";
import { profileInputSchema } from "../../helper/protocol/index.ts";
import { decodeDraft, encodeDraft, exportProfile, importProfileFile } from "./profileFile.ts";

const TASKS = `// Bridge to Kubernetes wrote these
{
  "version": "2.0.0",
  "tasks": [
    { "label": "build", "type": "npm", "script": "build" },
    {
      "label": "bridge-to-kubernetes.resource",
      "type": "bridge-to-kubernetes.resource",
      "resource": "api",
      "resourceType": "service",
      "ports": [3000, 9229],
      "targetCluster": "dev-aks", /* the team's cluster */
      "targetNamespace": "shop",
      "useKubernetesServiceEnvironmentVariables": true,
      "isolateAs": "alice-3f9c",
    },
  ],
}
`;

test("Bridge to Kubernetes tasks in .vscode/tasks.json become drafts (comments and trailing commas allowed); the service's ports are left to the live list", () => {
  const result = importProfileFile(".vscode/tasks.json", TASKS);
  expect(result).toEqual({
    ok: true,
    drafts: [
      {
        label: 'task "bridge-to-kubernetes.resource" in tasks.json',
        values: {
          name: "bridge-to-kubernetes-resource",
          kubeContext: "dev-aks",
          namespace: "shop",
          targetKind: "service",
          targetName: "api",
          portMappings: [
            { servicePort: "", workstationPort: "3000" },
            { servicePort: "", workstationPort: "9229" },
          ],
          privilegeMode: "unprivileged",
          isolated: true,
          routingKey: "alice-3f9c",
        },
        notes: ["Pick the service below to fill in its ports (Bridge to Kubernetes took them from the cluster)."],
      },
    ],
  });
  expect(importProfileFile("tasks.json", '{"tasks": [{"type": "npm"}]}')).toEqual({ ok: false, error: "tasks.json has no Bridge to Kubernetes task (type bridge-to-kubernetes.resource)." });
  expect(importProfileFile("tasks.json", '{"tasks": [')).toMatchObject({ ok: false, error: expect.stringMatching(/^tasks\.json is not valid JSON: /) });
});

test("a KubernetesLocalProcessConfig.yaml becomes a draft that uses it, with its features", () => {
  const config = "version: 0.1\nenableFeatures: [Probes]\nenv:\n  - name: STORE\n    value: $(services:store)\n";
  expect(importProfileFile("KubernetesLocalProcessConfig.yaml", config)).toEqual({
    ok: true,
    drafts: [{ label: "KubernetesLocalProcessConfig.yaml (Bridge to Kubernetes config file)", values: { configFilePath: "KubernetesLocalProcessConfig.yaml", keepProbes: true }, notes: [expect.stringContaining("pick the target service")] }],
  });
  expect(importProfileFile("notes.yaml", "shopping: [milk]\n")).toMatchObject({ ok: false, error: expect.stringMatching(/neither a kbridge profile/) });
});

test("an exported profile imports back to the same settings", () => {
  const profile = profileInputSchema.parse({
    name: "api",
    kubeContext: "dev",
    namespace: "shop",
    targetKind: "service",
    targetName: "api",
    portMappings: [{ servicePort: 80, workstationPort: 3000 }],
    launchCommand: "npm run dev",
    envOverrides: { LOG_LEVEL: "debug", QUOTE: 'say "hi"' },
    configFilePath: "KubernetesLocalProcessConfig.yaml",
    privilegeMode: "unprivileged",
    keepProbes: true,
    isolated: true,
    routingKey: "alice-3f9c",
    podResources: { cpuRequest: "50m", memoryLimit: "256Mi" },
  });
  const file = exportProfile(profile);
  expect(file).toContain("podResources:\n  cpuRequest: 50m\n  memoryLimit: 256Mi\n");
  expect(file).toMatch(/^# kbridge profile[^\n]*\napiVersion: kbridge.dev\/v1\nkind: Profile\nname: api\n/);
  const result = importProfileFile("api.kbridge.yaml", file);
  if (!result.ok) throw new Error(result.error);
  const draft = result.drafts[0]?.values;
  // Every setting but the author's routing key: the importer gets one of their own when saving.
  expect(file).not.toContain("alice-3f9c");
  expect(profileInputSchema.parse(draft)).toEqual({ ...profile, routingKey: "" });
  // Pasted, the text is recognised by what it holds (no file name to go by).
  expect(importProfileFile(null, file)).toMatchObject({ ok: true, drafts: [{ values: { name: "api", isolated: true, routingKey: "" } }] });
  expect(importProfileFile(null, TASKS)).toMatchObject({ ok: true, drafts: [{ values: { targetName: "api" } }] });
  expect(importProfileFile(null, "version: 0.1\nenv: []\n")).toMatchObject({ ok: true, drafts: [{ values: { configFilePath: "KubernetesLocalProcessConfig.yaml" } }] });
  // A kbridge file named .json is still read for what it is.
  expect(importProfileFile("exported.json", file)).toMatchObject({ ok: true, drafts: [{ values: { name: "api" } }] });
  // Through the new-profile page's URL and back.
  expect(decodeDraft(encodeDraft(draft ?? {}))).toEqual(draft);
  expect(decodeDraft("not base64 json")).toBeUndefined();
  expect(importProfileFile("broken.yaml", "apiVersion: kbridge.dev/v1\nkind: Profile\nname: x\nports: [{service: eighty}]\n")).toMatchObject({ ok: false, error: expect.stringMatching(/^broken\.yaml is a kbridge profile with errors: target: /) });
});
