/**
 * Admission as a real cluster has it, whoever writes: Pod Security from namespace labels
 * (enforce refuses, warn and workload templates warn, audit records), ResourceQuota and
 * LimitRange — with kubectl, in the real plugins' words.
 */
import path from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { tempDir } from "../../support/tempDir.ts";
import { until } from "../../support/until.ts";
import { startTestCluster, type TestCluster } from "../cluster.ts";
import { kind } from "../controllers/objects.ts";
import { kubectlFor } from "../support/kubectl.ts";

const dir = tempDir("admission");
let cluster: TestCluster;
let kubectl: ReturnType<typeof kubectlFor>;
let core: CoreV1Api;

const namespace = (name: string, labels: Record<string, string> = {}) =>
  `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n  labels: ${JSON.stringify(labels)}\n`;
const IDLE = `["node", "-e", "setInterval(() => {}, 1000)"]`;
const pod = (name: string, ns: string, extra: { securityContext?: object; container?: object } = {}) =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns },
    spec: { ...(extra.securityContext ? { securityContext: extra.securityContext } : {}), containers: [{ name: "app", image: "node:22", command: JSON.parse(IDLE), ...extra.container }] },
  });
const RESTRICTED_CONTAINER = { securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } };
const RESTRICTED_POD = { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } };

beforeAll(async () => {
  cluster = await startTestCluster({ backoffBaseMs: 300 });
  const kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
  kubectl = kubectlFor(kubeconfig);
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  core = config.makeApiClient(CoreV1Api);
  const namespaces = [
    namespace("strict", { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/audit": "restricted" }),
    namespace("base", { "pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted" }),
    namespace("metered"),
  ];
  const applied = await kubectl(["apply", "-f", "-"], { stdin: namespaces.join("---\n") });
  if (applied.code !== 0) throw new Error(applied.stderr);
});
afterAll(() => cluster.stop());

describe("Pod Security Admission", () => {
  test("restricted refuses a pod without seccompProfile, runAsNonRoot or dropped capabilities, in the real words, and admits a compliant one", async () => {
    const refused = await kubectl(["apply", "-f", "-"], { stdin: pod("plain", "strict") });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      'pods "plain" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    );
    const admitted = await kubectl(["apply", "-f", "-"], { stdin: pod("hardened", "strict", { securityContext: RESTRICTED_POD, container: RESTRICTED_CONTAINER }) });
    expect(admitted.stderr).toBe("");
    const capable = await kubectl(["apply", "-f", "-"], {
      stdin: pod("capable", "strict", { securityContext: RESTRICTED_POD, container: { securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE", "NET_ADMIN"] } } } }),
    });
    expect(capable.stderr).toContain('violates PodSecurity "restricted:latest": unrestricted capabilities (container "app" must not include "NET_ADMIN" in securityContext.capabilities.add)');
    const root = await kubectl(["apply", "-f", "-"], { stdin: pod("root", "strict", { securityContext: { ...RESTRICTED_POD, runAsUser: 0 }, container: RESTRICTED_CONTAINER }) });
    expect(root.stderr).toContain('violates PodSecurity "restricted:latest": runAsUser=0 (pod must not set runAsUser=0)');
    expect(cluster.store.list(kind("Pod"), "strict").map((p) => p.metadata.name)).toEqual(["hardened"]);
  });

  test("baseline refuses a privileged pod and admits a plain one, warning what restricted would refuse", async () => {
    const privileged = await kubectl(["apply", "-f", "-"], { stdin: pod("root", "base", { container: { securityContext: { privileged: true } } }) });
    expect(privileged.stderr).toContain('pods "root" is forbidden: violates PodSecurity "baseline:latest": privileged (container "app" must not set securityContext.privileged=true)');
    const plain = await kubectl(["apply", "-f", "-"], { stdin: pod("plain", "base") });
    expect(plain.code).toBe(0);
    expect(plain.stderr).toContain('Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false)');
    const host = await kubectl(["apply", "-f", "-"], { stdin: JSON.stringify({ ...JSON.parse(pod("host", "base")), spec: { ...JSON.parse(pod("host", "base")).spec, hostNetwork: true } }) });
    expect(host.stderr).toContain("violates PodSecurity \"baseline:latest\": host namespaces (hostNetwork=true)");
  });

  test("a workload template is admitted with a warning; its pods are refused and the controller says so in an event; audit records it", async () => {
    const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: strict}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "node:22", command: ${IDLE}}]}
`;
    const applied = await kubectl(["apply", "-f", "-"], { stdin: deployment });
    expect(applied.code).toBe(0);
    expect(applied.stderr).toContain('Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "web" must set securityContext.allowPrivilegeEscalation=false)');
    const event = await until(async () => {
      const events = await kubectl(["get", "events", "-n", "strict", "--field-selector", "reason=FailedCreate", "-o", "jsonpath={.items[*].message}"]);
      return events.stdout || undefined;
    }, "a FailedCreate event");
    expect(event).toMatch(/^Error creating: pods "web-[a-z0-9]+-[a-z0-9]+" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
    expect(cluster.store.list(kind("Pod"), "strict").filter((p) => p.metadata.name?.startsWith("web-"))).toEqual([]);
    expect(cluster.audit()).toContainEqual(expect.objectContaining({ kind: "Deployment", namespace: "strict", name: "web", violations: expect.stringContaining('would violate PodSecurity "restricted:latest"') }));
  });
});

describe("ResourceQuota and LimitRange", () => {
  const quota = `apiVersion: v1
kind: ResourceQuota
metadata: {name: compute, namespace: metered}
spec: {hard: {limits.cpu: "1", pods: "3"}}
`;
  test("a limits.cpu quota refuses a pod without limits and one over the quota, and publishes what is used", async () => {
    expect((await kubectl(["apply", "-f", "-"], { stdin: quota })).code).toBe(0);
    const bare = await kubectl(["apply", "-f", "-"], { stdin: pod("bare", "metered") });
    expect(bare.stderr).toContain('pods "bare" is forbidden: failed quota: compute: must specify limits.cpu for: app');
    const half = await kubectl(["apply", "-f", "-"], { stdin: pod("half", "metered", { container: { resources: { limits: { cpu: "500m" } } } }) });
    expect(half.stderr).toBe("");
    const used = await until(async () => {
      const q = await core.readNamespacedResourceQuota({ name: "compute", namespace: "metered" });
      return q.status?.used?.["limits.cpu"] === "500m" ? q.status : undefined;
    }, "status.used");
    expect(used).toEqual({ hard: { "limits.cpu": "1", pods: "3" }, used: { "limits.cpu": "500m", pods: "1" } });
    const over = await kubectl(["apply", "-f", "-"], { stdin: pod("over", "metered", { container: { resources: { limits: { cpu: "800m" } } } }) });
    expect(over.stderr).toContain('pods "over" is forbidden: exceeded quota: compute, requested: limits.cpu=800m, used: limits.cpu=500m, limited: limits.cpu=1');
  });

  test("a LimitRange default fills the limits in (and says so); its max refuses", async () => {
    const range = `apiVersion: v1
kind: LimitRange
metadata: {name: defaults, namespace: metered}
spec: {limits: [{type: Container, default: {cpu: 200m}, defaultRequest: {cpu: 100m}, max: {cpu: "1"}}]}
`;
    expect((await kubectl(["apply", "-f", "-"], { stdin: range })).code).toBe(0);
    expect((await kubectl(["apply", "-f", "-"], { stdin: pod("defaulted", "metered") })).stderr).toBe("");
    const defaulted = await core.readNamespacedPod({ name: "defaulted", namespace: "metered" });
    expect(defaulted.spec?.containers[0]?.resources).toEqual({ limits: { cpu: "200m" }, requests: { cpu: "100m" } });
    expect(defaulted.metadata?.annotations?.["kubernetes.io/limit-ranger"]).toBe("LimitRanger plugin set: cpu request for container app; cpu limit for container app");
    const big = await kubectl(["apply", "-f", "-"], { stdin: pod("big", "metered", { container: { resources: { limits: { cpu: "2" } } } }) });
    expect(big.stderr).toContain('pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2');
  });
});
