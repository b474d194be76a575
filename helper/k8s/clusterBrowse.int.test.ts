/** The dashboard's views of a cluster through the helper: namespaces, services, and kbridge's own objects (listed, marked stale, removed) with their sessions' states. */
import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { DEVELOPER_CONTEXT, startTestCluster, type TestCluster } from "../../test/cluster/cluster.ts";
import { kind } from "../../test/cluster/controllers/objects.ts";
import { demoImages, installDemo, waitForDemo } from "../../test/cluster/demo/demoApp.ts";
import { freePort } from "../../test/support/ports.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";
import { sendCommand } from "../client/helperSocket.ts";
import { connectToHelper, type CliConnection } from "../cli/helperConnection.ts";
import { runHelper, type RunningHelper } from "../server/runHelper.ts";

const dir = tempDir("cluster-browse");
let cluster: TestCluster;
let helper: RunningHelper;
let client: CliConnection;
let workstation: http.Server;
let kubeconfig: string;

beforeAll(async () => {
  cluster = await startTestCluster({ images: [demoImages], backoffBaseMs: 500 });
  installDemo(cluster);
  await waitForDemo(cluster);
  kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"), { developerNamespace: "shop" });
  const env = { KBRIDGE_HOME: path.join(dir, "home"), KUBECONFIG: kubeconfig, KBRIDGE_HELPER_PORT: String(await freePort()), KBRIDGE_HOSTS_FILE: String(process.env.KBRIDGE_HOSTS_FILE) };
  helper = await runHelper(env);
  client = await connectToHelper(env);
  workstation = http.createServer((_req, res) => res.end("{}"));
  await new Promise<void>((resolve) => workstation.listen(0, "127.0.0.1", resolve));
}, 60_000);
afterAll(async () => {
  client?.socket.close();
  workstation?.close();
  await helper?.close();
  await cluster?.stop();
});

test("namespaces and services are listed live, with ports, workload and ready pods", async () => {
  const namespaces = await sendCommand(client.socket, "kube:listNamespaces", { kubeContext: "kbridge-demo" });
  if (!namespaces.ok) throw new Error(namespaces.error.message);
  expect(namespaces.data.listed).toBe(true);
  expect(namespaces.data.namespaces.map((n) => n.name)).toEqual(expect.arrayContaining(["default", "shop"]));
  // A developer with edit in shop may not list namespaces (cluster-wide): the context's own is offered, with why.
  const developers = await sendCommand(client.socket, "kube:listNamespaces", { kubeContext: DEVELOPER_CONTEXT });
  expect(developers.ok && developers.data).toEqual({
    namespaces: [{ name: "shop", phase: "Active" }],
    listed: false,
    reason: expect.stringMatching(/^The cluster refused to list namespaces: namespaces is forbidden: User "developer" cannot list resource "namespaces" in API group "" at the cluster scope; this context's namespace is shop\.$/),
  });
  const developerServices = await sendCommand(client.socket, "kube:listServices", { kubeContext: DEVELOPER_CONTEXT, namespace: "shop" });
  expect(developerServices.ok && developerServices.data.map((s) => s.name)).toEqual(expect.arrayContaining(["api", "store", "web"]));
  // Nor read Roles: kbridge's objects are listed without those kinds, which are named.
  const developerObjects = await sendCommand(client.socket, "cluster:listObjects", { kubeContext: DEVELOPER_CONTEXT, namespace: "shop" });
  expect(developerObjects.ok && developerObjects.data).toEqual({ objects: [], sessions: [], unlisted: ["RoleBinding", "Role"] });
  const services = await sendCommand(client.socket, "kube:listServices", { kubeContext: "kbridge-demo", namespace: "shop" });
  if (!services.ok) throw new Error(services.error.message);
  expect(services.data.find((s) => s.name === "api")).toEqual({ name: "api", type: "ClusterIP", ports: [{ name: "http", port: 80, targetPort: "http", containerPort: 8080, protocol: "TCP" }], workload: { kind: "Deployment", name: "api" }, pods: 2, ready: 2, headless: false });
  expect(services.data.find((s) => s.name === "store")).toMatchObject({ headless: true, workload: { kind: "Deployment", name: "store" }, ready: 1 });
  const missing = await sendCommand(client.socket, "kube:listServices", { kubeContext: "nope", namespace: "shop" });
  expect(missing.ok || missing.error.code).toBe("context-not-found");
});

test("a crashed helper's objects are listed with owner and session, marked stale once its restorer says so, and removed with the workload restored; an orphaned workload is named", async () => {
  const before = cluster.store.get(kind("Deployment"), "shop", "api").spec;
  const crashed = spawn(process.execPath, ["--import", "tsx", "test/support/connectedHelper.ts"], {
    env: { ...process.env, KUBECONFIG: kubeconfig, TARGET_NAMESPACE: "shop", TARGET_NAME: "api", SERVICE_PORT: "80", WORKSTATION_PORT: String((workstation.address() as AddressInfo).port), DEADMAN_SECONDS: "600" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  crashed.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const session = String((await until(() => /CONNECTED (\w+)/.exec(output) ?? undefined, "the helper to connect", 45_000))[1]);
  crashed.kill("SIGKILL");

  const list = async () => {
    const result = await sendCommand(client.socket, "cluster:listObjects", { kubeContext: "kbridge-demo", namespace: "shop" });
    if (!result.ok) throw new Error(result.error.message);
    return result.data;
  };
  const { objects, sessions } = await list();
  expect(objects.map((o) => `${o.kind}/${o.name}`).sort()).toEqual(
    [`ConfigMap/kbridge-${session}-agent`, `Pod/kbridge-${session}-restorer`, `Role/kbridge-${session}-restorer`, `RoleBinding/kbridge-${session}-restorer`, `Secret/kbridge-${session}-original`, `ServiceAccount/kbridge-${session}-restorer`].sort(),
  );
  expect(objects.every((o) => o.session === session && o.owner === sessions[0]?.owner && o.owner.includes("@") && !o.stale && o.expiresAt)).toBe(true);
  // Not watched for a dead-man interval yet: live, as far as anyone can tell without a clock of the workstation's.
  expect(sessions).toEqual([{ session, owner: expect.stringContaining("@"), state: "live", workload: "deployment/api" }]);
  // Its restorer could not put it back, and says so on the Secret (as restorer.mjs publishes it).
  const secret = cluster.store.get(kind("Secret"), "shop", `kbridge-${session}-original`);
  const failed = { state: "failed", at: new Date().toISOString(), message: "could not put deployment api back: HTTP 403: forbidden", hint: "Someone with the right to put deployment api back can finish it with `kbridge clean`." };
  cluster.store.update(kind("Secret"), { ...secret, metadata: { ...secret.metadata, resourceVersion: undefined, annotations: { ...secret.metadata.annotations, "kbridge.dev/restorer-status": JSON.stringify(failed) } } });
  const stale = await list();
  expect(stale.objects.every((o) => o.stale)).toBe(true);
  expect(stale.sessions).toEqual([{ session, owner: expect.stringContaining("@"), state: "restore-failed", workload: "deployment/api", message: `Its restorer could not finish: ${failed.message}.`, hint: failed.hint }]);

  const foreign = await sendCommand(client.socket, "cluster:removeObjects", { kubeContext: "kbridge-demo", namespace: "shop", object: { kind: "ConfigMap", name: "shop-config" } });
  expect(foreign.ok || foreign.error.code).toBe("not-kbridge-object");
  const removed = await sendCommand(client.socket, "cluster:removeObjects", { kubeContext: "kbridge-demo", namespace: "shop", sessionId: session }, 90_000);
  expect(removed.ok && removed.data).toMatchObject({ restored: "deployment/api", removed: expect.arrayContaining([`Secret/kbridge-${session}-original`]) });
  expect(await list()).toEqual({ objects: [], sessions: [] });
  expect(cluster.store.get(kind("Deployment"), "shop", "api").spec).toStrictEqual(before);

  // A workload claimed by a session whose saved original is gone (an older kbridge's mistake): named, with what to do.
  const deployment = cluster.store.get(kind("Deployment"), "shop", "api");
  cluster.store.update(kind("Deployment"), { ...deployment, metadata: { ...deployment.metadata, resourceVersion: undefined, annotations: { ...deployment.metadata.annotations, "kbridge.dev/session": "deadbeef" } } });
  try {
    expect(await list()).toEqual({
      objects: [],
      sessions: [
        {
          session: "deadbeef",
          owner: "",
          state: "orphaned",
          workload: "deployment/api",
          message: "deployment/api still runs the agent of session deadbeef, but the session's saved original is gone.",
          hint: "Roll it back: kubectl rollout undo deployment/api -n shop",
        },
      ],
    });
  } finally {
    const claimed = cluster.store.get(kind("Deployment"), "shop", "api");
    const annotations = { ...claimed.metadata.annotations };
    delete annotations["kbridge.dev/session"];
    cluster.store.update(kind("Deployment"), { ...claimed, metadata: { ...claimed.metadata, resourceVersion: undefined, annotations } });
  }
}, 120_000);

test("a session's view names its live tunnels; a pod of the namespace is followed into its log on demand, and let go", async () => {
  const pods = await sendCommand(client.socket, "kube:listPods", { kubeContext: "kbridge-demo", namespace: "shop" });
  if (!pods.ok) throw new Error(pods.error.message);
  const store = pods.data.find((p) => p.name.startsWith("store-"));
  expect(store).toMatchObject({ phase: "Running", ready: true, containers: ["store"] });
  const started = await sendCommand(client.socket, "session:start", {
    kubeContext: "kbridge-demo",
    namespace: "shop",
    targetKind: "service",
    targetName: "web",
    ports: [{ port: 80, workstationPort: (workstation.address() as AddressInfo).port }],
    privilegeMode: "unprivileged",
  });
  if (!started.ok) throw new Error(started.error.message);
  const sessionId = started.data.id;
  try {
    // The view says which tunnels are up: web's one replica, inbound and outbound.
    const connected = await until(async () => {
      const listed = await sendCommand(client.socket, "session:list", {});
      const view = listed.ok ? listed.data.find((v) => v.id === sessionId) : undefined;
      return view?.state === "connected" && view.tunnels?.inbound.length === 1 ? view : undefined;
    }, "the session connected with its tunnel up", 30_000);
    expect(connected.tunnels).toEqual({ inbound: [expect.stringMatching(/^web-/)], outbound: connected.tunnels?.inbound[0] });
    const followed = await sendCommand(client.socket, "session:followPod", { sessionId, pod: String(store?.name) });
    expect(followed).toEqual({ ok: true, data: { following: [store?.name] } });
    const podLines = async () => {
      const logs = await sendCommand(client.socket, "session:logs", { sessionId });
      return logs.ok ? logs.data.lines.filter((l) => l.source === "pod") : [];
    };
    await until(async () => (await podLines()).some((l) => l.text === `${store?.name}: store listening on :8080 as ${store?.name}`), "the store pod's log in the session log", 15_000);
    expect(await sendCommand(client.socket, "session:followPod", { sessionId, pod: "nope" })).toMatchObject({ ok: false, error: { code: "pod-not-found", message: "There is no pod nope in namespace shop." } });
    expect(await sendCommand(client.socket, "session:followPod", { sessionId, pod: String(store?.name), follow: false })).toEqual({ ok: true, data: { following: [] } });
    // Once it has ended, asking for its diagnostics or a pod's log says why not.
    await sendCommand(client.socket, "session:stop", { sessionId }, 90_000);
    expect(await sendCommand(client.socket, "session:diagnostics", { sessionId })).toMatchObject({ ok: false, error: { code: "session-not-connected", message: `Session ${sessionId} is ended; diagnostics need a connected session.` } });
    expect(await sendCommand(client.socket, "session:followPod", { sessionId, pod: String(store?.name) })).toMatchObject({ ok: false, error: { code: "session-ended" } });
  } finally {
    await sendCommand(client.socket, "session:stop", { sessionId }, 90_000);
  }
});
