/**
 * Preflight against the strict test cluster, as the developer who holds only `edit`: each
 * check names its cause (rights, restorer identity, Pod Security on the workload's own pods,
 * an exhausted quota, GitOps self-heal), a failed preflight changes nothing, and after an
 * administrator's `kbridge setup` the developer connects and disconnects.
 */
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DEVELOPER_CONTEXT, startTestCluster, type TestCluster } from "../../test/cluster/cluster.ts";
import { kind } from "../../test/cluster/controllers/objects.ts";
import { demoImages, installDemo, waitForDemo } from "../../test/cluster/demo/demoApp.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";
import { openCluster } from "../k8s/clusterConnection.ts";
import { applySetup, removeSetup } from "../k8s/setup.ts";
import { silentLogger } from "../logs/logger.ts";
import { KbridgeError, type PreflightView } from "../protocol/index.ts";
import { checkCluster } from "./clusterCheck.ts";
import { connect } from "./connectSession.ts";

const dir = tempDir("preflight");
let cluster: TestCluster;
let kubeconfig: string;
let workstationPort: number;
const workstation = http.createServer((req, res) => res.end(JSON.stringify({ pod: "workstation" })));

beforeAll(async () => {
  cluster = await startTestCluster({ images: [demoImages], backoffBaseMs: 500 });
  // Without kbridge setup: the first test is about its absence.
  installDemo(cluster);
  await waitForDemo(cluster);
  kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"), { developerNamespace: "shop" });
  await new Promise<void>((resolve) => workstation.listen(0, "127.0.0.1", resolve));
  workstationPort = (workstation.address() as AddressInfo).port;
});
afterAll(async () => {
  workstation.close();
  await cluster.stop();
});

const target = { kind: "service" as const, name: "api", namespace: "shop" };
const check = (context = DEVELOPER_CONTEXT, isolate = false): Promise<PreflightView> => checkCluster(openCluster([kubeconfig], context), { kubeContext: context, target: { ...target, container: "" }, isolate });
const failed = (view: PreflightView) => Object.fromEntries(view.checks.filter((c) => !c.ok).map((c) => [c.name, c.detail]));
/** Every object of the namespace with its resourceVersion: byte-for-byte unchanged means equal. */
const namespaceState = () =>
  cluster.store
    .all()
    .filter(({ resource, object }) => resource.kind !== "Event" && object.metadata.namespace === "shop")
    .map(({ object }) => `${object.kind}/${object.metadata.name}@${object.metadata.resourceVersion}`)
    .sort();
const asAdmin = () => openCluster([kubeconfig], "kbridge-demo");
const developerConnect = () => connect({ kubeconfig: [kubeconfig], context: DEVELOPER_CONTEXT, target, ports: [{ port: 80, workstationPort }], log: silentLogger(), timeoutMs: 30_000 });

describe("as the developer (edit in shop)", () => {
  test("without kbridge setup, the restorer identity fails naming the fix, and connect changes nothing", async () => {
    const view = await check();
    expect(failed(view)).toEqual({
      "restorer identity": 'kbridge\'s restorer needs an identity in namespace shop, and you may not create roles.rbac.authorization.k8s.io, create rolebindings.rbac.authorization.k8s.io, delete roles.rbac.authorization.k8s.io, delete rolebindings.rbac.authorization.k8s.io',
    });
    expect(view.checks.find((c) => c.name === "restorer identity")?.fix).toContain("kbridge setup --context kbridge-demo-developer --namespace shop");
    const before = namespaceState();
    const error = (await developerConnect().catch((e: unknown) => e)) as KbridgeError;
    expect(error).toBeInstanceOf(KbridgeError);
    expect(error.info.code).toBe("preflight-failed");
    expect(error.info.hint).toContain("kbridge setup");
    expect(namespaceState()).toEqual(before);
  });

  test("after kbridge setup by an administrator, the developer connects and disconnects; the workload is as before", async () => {
    await applySetup(asAdmin(), "shop");
    const view = await check();
    expect(failed(view)).toEqual({});
    expect(view.restorerAccount).toBe("kbridge-restorer");
    const before = cluster.store.get(kind("Deployment"), "shop", "api").spec;
    const session = await developerConnect();
    const restorer = cluster.store.list(kind("Pod"), "shop").find((p) => p.metadata.labels?.["kbridge.dev/role"] === "restorer");
    expect((restorer?.spec as { serviceAccountName?: string }).serviceAccountName).toBe("kbridge-restorer");
    await session.disconnect();
    expect(cluster.store.get(kind("Deployment"), "shop", "api").spec).toEqual(before);
    await until(() => cluster.store.all().every(({ object }) => object.metadata.labels?.["app.kubernetes.io/managed-by"] !== "kbridge"), "no kbridge object left");
    // The setup stays (a clean never takes it), until an administrator removes it.
    expect(await removeSetup(asAdmin(), "shop")).toEqual(["RoleBinding/kbridge-router", "Role/kbridge-router", "ServiceAccount/kbridge-router", "RoleBinding/kbridge-restorer", "Role/kbridge-restorer", "ServiceAccount/kbridge-restorer"]);
  });

  test("a user who may only view gets every missing right named", async () => {
    const token = cluster.addUser("viewer", ["viewers"]);
    await asAdmin().rbac.createNamespacedRoleBinding({ namespace: "shop", body: { metadata: { name: "viewers" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" }, subjects: [{ kind: "Group", name: "viewers" }] } });
    // The developer's context, with the viewer's token.
    const config = JSON.parse(fs.readFileSync(kubeconfig, "utf8")) as { users: { name: string; user: { token?: string } }[] };
    for (const user of config.users) if (user.name === DEVELOPER_CONTEXT) user.user.token = token;
    const viewerKubeconfig = path.join(dir, "viewer-kubeconfig");
    fs.writeFileSync(viewerKubeconfig, JSON.stringify(config), { mode: 0o600 });
    const connection = openCluster([viewerKubeconfig], DEVELOPER_CONTEXT);
    const view = await checkCluster(connection, { kubeContext: DEVELOPER_CONTEXT, target: { ...target, container: "" }, isolate: false });
    expect(failed(view).rights).toMatch(/^you may not create secrets, get secrets, delete secrets, create configmaps, delete configmaps, create pods, delete pods, create pods\/portforward, update deployments.apps "api", patch deployments.apps "api" in namespace shop$/);
    expect(failed(view)["agent pods"]).toMatch(/pods is forbidden: User "viewer" cannot create resource "pods"/);
  });
});

describe("what the namespace refuses, named", () => {
  test("Pod Security on the workload's own pods, an exhausted quota, and GitOps self-heal", async () => {
    const admin = asAdmin();
    await applySetup(admin, "shop");
    // A workload from before the namespace was locked down: its pods run as root, unconfined.
    const legacy = { kind: "service" as const, name: "legacy", namespace: "shop", container: "" };
    cluster.store.create(kind("Deployment"), { metadata: { name: "legacy", namespace: "shop" }, spec: { selector: { matchLabels: { app: "legacy" } }, template: { metadata: { labels: { app: "legacy" } }, spec: { containers: [{ name: "legacy", image: "node:22", command: ["node", "-e", "require('http').createServer((q, s) => s.end()).listen(8080)"], ports: [{ containerPort: 8080 }] }] } } } });
    cluster.store.create(kind("Service"), { metadata: { name: "legacy", namespace: "shop" }, spec: { selector: { app: "legacy" }, ports: [{ port: 80, targetPort: 8080 }] } });
    await until(() => cluster.store.list(kind("Pod"), "shop").some((p) => p.metadata.labels?.app === "legacy"), "legacy's pod");
    const enforce = (level: string) => admin.core.patchNamespace({ name: "shop", body: [{ op: "add", path: "/metadata/labels/pod-security.kubernetes.io~1enforce", value: level }] });
    await enforce("restricted");
    let view = await checkCluster(admin, { kubeContext: "kbridge-demo", target: legacy, isolate: false });
    expect(failed(view).restore).toMatch(/^the namespace refuses deployment legacy's own pods \(a restore re-creates them\): pods "kbridge-preflight-\w+" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
    // The agent itself would be admitted: kbridge's pods are compliant.
    expect(failed(view)["agent pods"]).toBeUndefined();
    await enforce("privileged");

    const pods = cluster.store.list(kind("Pod"), "shop").length;
    await admin.core.createNamespacedResourceQuota({ namespace: "shop", body: { metadata: { name: "full" }, spec: { hard: { pods: String(pods) } } } });
    view = await check("kbridge-demo");
    expect(failed(view)["agent pods"]).toMatch(new RegExp(`exceeded quota: full, requested: pods=1, used: pods=${pods}, limited: pods=${pods}`));
    await admin.core.deleteNamespacedResourceQuota({ name: "full", namespace: "shop" });

    await admin.apps.patchNamespacedDeployment({ name: "api", namespace: "shop", body: [{ op: "add", path: "/metadata/annotations", value: { "argocd.argoproj.io/tracking-id": "shop:apps/Deployment:shop/api" } }] });
    view = await check("kbridge-demo");
    expect(failed(view)).toEqual({ gitops: "Argo CD manages deployment api (annotation argocd.argoproj.io/tracking-id: shop:apps/Deployment:shop/api); its self-heal would undo kbridge's change within seconds" });
    expect(view.checks.find((c) => c.name === "gitops")?.fix).toContain("self-heal");
  });

  test("an agent image the cluster cannot pull, and nothing left of the probe", async () => {
    const view = await checkCluster(openCluster([kubeconfig], "kbridge-demo"), { kubeContext: "kbridge-demo", target: { ...target, container: "" }, isolate: false, agentImage: "registry.example/kbridge-agent:missing" });
    const image = view.checks.find((c) => c.name === "agent image");
    expect(image?.ok).toBe(false);
    expect(image?.detail).toMatch(/^the cluster cannot pull registry\.example\/kbridge-agent:missing: (ErrImagePull|ImagePullBackOff)/);
    expect(image?.fix).toContain("--agent-image");
    await until(() => !cluster.store.list(kind("Pod"), "shop").some((p) => p.metadata.name?.startsWith("kbridge-preflight-")), "the probe pod gone");
  });

  test("requests a LimitRange refuses are named; the profile's own requests and limits are what kbridge's pods get", async () => {
    const admin = asAdmin();
    // The demo's pods ask 50m and 64Mi: a namespace whose minimum is that refuses kbridge's small defaults.
    await admin.core.createNamespacedLimitRange({ namespace: "shop", body: { metadata: { name: "at-least" }, spec: { limits: [{ type: "Container", min: { cpu: "50m", memory: "64Mi" } }] } } });
    const web = { kind: "deployment" as const, name: "web", namespace: "shop", container: "" };
    const developer = openCluster([kubeconfig], DEVELOPER_CONTEXT);
    let view = await checkCluster(developer, { kubeContext: DEVELOPER_CONTEXT, target: web, isolate: false });
    // The image probe runs as a restorer would, so it is refused likewise.
    expect(Object.keys(failed(view))).toEqual(["restorer pod", "agent image"]);
    expect(failed(view)["agent image"]).toMatch(/^not checked: .*minimum cpu usage per Container is 50m/);
    expect(failed(view)["restorer pod"]).toMatch(/minimum cpu usage per Container is 50m, but request is 10m.*minimum memory usage per Container is 64Mi, but request is 32Mi/);
    const podResources = { cpuRequest: "50m", cpuLimit: "", memoryRequest: "64Mi", memoryLimit: "" };
    view = await checkCluster(developer, { kubeContext: DEVELOPER_CONTEXT, target: web, isolate: false, podResources });
    expect(failed(view)).toEqual({});
    const session = await connect({ kubeconfig: [kubeconfig], context: DEVELOPER_CONTEXT, target: web, ports: [{ port: 8080, workstationPort }], podResources, log: silentLogger(), timeoutMs: 30_000 });
    try {
      const restorer = cluster.store.list(kind("Pod"), "shop").find((p) => p.metadata.labels?.["kbridge.dev/role"] === "restorer");
      // The limits stay kbridge's defaults, above the requests given.
      expect((restorer?.spec as { containers: { resources?: unknown }[] }).containers[0]?.resources).toEqual({ requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "100m", memory: "96Mi" } });
    } finally {
      await session.disconnect();
      await admin.core.deleteNamespacedLimitRange({ name: "at-least", namespace: "shop" });
    }
  });
});
