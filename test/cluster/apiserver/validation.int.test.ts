/**
 * Invalid objects are refused as the real API server refuses them: 422 Invalid, its words,
 * the field path in the message and in details.causes — and bad input never takes the
 * cluster down.
 */
import path from "node:path";
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Deployment } from "@kubernetes/client-node";
import { afterAll, beforeAll, expect, test } from "vitest";
import { deployment, manifests, service } from "../../support/manifests.ts";
import { tempDir } from "../../support/tempDir.ts";
import { startTestCluster, type TestCluster } from "../cluster.ts";
import { kubectlFor } from "../support/kubectl.ts";

const dir = tempDir("validation");
let cluster: TestCluster;
let kubectl: ReturnType<typeof kubectlFor>;
let core: CoreV1Api;
let apps: AppsV1Api;

beforeAll(async () => {
  cluster = await startTestCluster();
  const kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
  kubectl = kubectlFor(kubeconfig);
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  core = config.makeApiClient(CoreV1Api);
  apps = config.makeApiClient(AppsV1Api);
});
afterAll(() => cluster.stop());

const refusal = async (call: Promise<unknown>) => {
  const error = (await call.then(() => undefined, (e: unknown) => e)) as { code?: number; body?: string } | undefined;
  return { code: error?.code, status: JSON.parse(error?.body ?? "{}") as { reason?: string; message?: string; details?: { causes?: { field: string; reason: string }[] } } };
};

test("a Service port of 70000 is a 422 naming spec.ports[0].port, and the cluster keeps serving", async () => {
  const applied = await kubectl(["apply", "-f", "-"], { stdin: manifests(service({ name: "wide", namespace: "default", ports: [{ port: 70000 }] })) });
  expect(applied.code).not.toBe(0);
  // The target port defaults to the port, so it is refused too, as on a real server (kubectl lists both).
  expect(applied.stderr).toContain('The Service "wide" is invalid: \n* spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive\n* spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive');
  const { code, status } = await refusal(core.createNamespacedService({ namespace: "default", body: { metadata: { name: "wide" }, spec: { ports: [{ port: 70000 }] } } }));
  expect(code).toBe(422);
  expect(status).toMatchObject({ reason: "Invalid", details: { causes: [{ field: "spec.ports[0].port", reason: "FieldValueInvalid" }, { field: "spec.ports[0].targetPort", reason: "FieldValueInvalid" }] } });
  expect((await kubectl(["get", "namespaces"])).code).toBe(0);
  expect((await kubectl(["apply", "-f", "-"], { stdin: manifests(service({ name: "narrow", namespace: "default", ports: [{ port: 7000 }] })) })).code).toBe(0);
});

test("names, label keys and values are checked with the real messages", async () => {
  const upper = await refusal(core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "Bad_Name" } } }));
  expect(upper.code).toBe(422);
  expect(upper.status.message).toBe(
    `ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
  );
  const long = await refusal(core.createNamespacedService({ namespace: "default", body: { metadata: { name: "s".repeat(64) }, spec: { ports: [{ port: 80 }] } } }));
  expect(long.status.message).toContain("metadata.name: Invalid value: \"" + "s".repeat(64) + "\": must be no more than 63 characters");
  const label = await refusal(core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "labelled", labels: { app: "has space" } } } }));
  expect(label.status.message).toContain(`metadata.labels: Invalid value: "has space": a valid label must be an empty string or consist of alphanumeric characters`);
});

test("a Deployment whose selector does not match its template, or whose selector changes, is refused", async () => {
  const mismatch = deployment({ name: "odd", namespace: "default", image: "web:1" }) as V1Deployment & { spec: { selector: { matchLabels: Record<string, string> } } };
  mismatch.spec.selector.matchLabels = { app: "other" };
  const refused = await refusal(apps.createNamespacedDeployment({ namespace: "default", body: mismatch }));
  expect(refused.code).toBe(422);
  expect(refused.status.message).toBe('Deployment.apps "odd" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"odd"}: `selector` does not match template `labels`');

  await apps.createNamespacedDeployment({ namespace: "default", body: deployment({ name: "fixed", namespace: "default", image: "web:1", labels: { tier: "a" } }) as V1Deployment });
  const current = await apps.readNamespacedDeployment({ name: "fixed", namespace: "default" });
  const changed = { ...current, spec: { ...current.spec, selector: { matchLabels: { app: "fixed", tier: "a" } } } } as typeof current;
  const immutable = await refusal(apps.replaceNamespacedDeployment({ name: "fixed", namespace: "default", body: changed }));
  expect(immutable.code).toBe(422);
  expect(immutable.status.message).toContain("spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"fixed\", \"tier\":\"a\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable");
});

test("a Service's clusterIP and a Pod's spec (but for images) cannot change once set", async () => {
  const created = await core.createNamespacedService({ namespace: "default", body: { metadata: { name: "fixed-ip" }, spec: { ports: [{ port: 80 }] } } });
  const ip = created.spec?.clusterIP ?? "";
  const moved = await refusal(core.replaceNamespacedService({ name: "fixed-ip", namespace: "default", body: { ...created, spec: { ...created.spec, clusterIP: "10.0.0.99", clusterIPs: ["10.0.0.99"] } } }));
  expect(moved.code).toBe(422);
  expect(moved.status.message).toBe('Service "fixed-ip" is invalid: spec.clusterIPs[0]: Invalid value: []string{"10.0.0.99"}: may not change once set');
  // Leaving clusterIP out of an update keeps the allocated one.
  const kept = await core.replaceNamespacedService({ name: "fixed-ip", namespace: "default", body: { ...created, spec: { ...created.spec, clusterIP: undefined, clusterIPs: undefined } } });
  expect(kept.spec?.clusterIP).toBe(ip);

  await core.createNamespacedPod({ namespace: "default", body: { metadata: { name: "still" }, spec: { containers: [{ name: "c", image: "node:22", command: ["node", "-e", "1"] }] } } });
  // Without resourceVersion: the kubelet writes the pod's status meanwhile.
  const pod = { ...(await core.readNamespacedPod({ name: "still", namespace: "default" })), metadata: { name: "still", namespace: "default" } };
  const recommanded = { ...pod, spec: { ...pod.spec, containers: [{ ...pod.spec?.containers[0], name: "c", command: ["node", "-e", "2"] }] } } as typeof pod;
  const refused = await refusal(core.replaceNamespacedPod({ name: "still", namespace: "default", body: recommanded }));
  expect(refused.code).toBe(422);
  expect(refused.status.message).toContain('Pod "still" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`');
  expect(refused.status.details?.causes?.[0]).toMatchObject({ field: "spec", reason: "FieldValueForbidden" });
  const reimaged = { ...pod, spec: { ...pod.spec, containers: [{ ...pod.spec?.containers[0], name: "c", image: "node:24" }] } } as typeof pod;
  expect((await core.replaceNamespacedPod({ name: "still", namespace: "default", body: reimaged })).spec?.containers[0]?.image).toBe("node:24");
});
