/**
 * restore.mjs, branch by branch, against an API server in memory: the original is put back
 * and verified before anything is deleted, its Secret last; every refusal, error and timeout of
 * every call ends the attempt with the original and the session's objects in place.
 */
import { beforeEach, describe, expect, test } from "vitest";
import { FakeApi } from "./fakeApi.ts";
import { restoreSession, RestoreError, type RestoreOptions } from "./restore.mjs";

const NS = "shop";
const SESSION = "s1";
const SECRET = `/api/v1/namespaces/${NS}/secrets/kbridge-${SESSION}-original`;
const DEPLOYMENT = `/apis/apps/v1/namespaces/${NS}/deployments/api`;
const STATEFULSET = `/apis/apps/v1/namespaces/${NS}/statefulsets/ledger`;
const POD = `/api/v1/namespaces/${NS}/pods/solo`;
const labels = { "app.kubernetes.io/managed-by": "kbridge", "kbridge.dev/session": SESSION };
const originalSpec = { replicas: 2, selector: { matchLabels: { app: "api" } }, template: { metadata: { labels: { app: "api" } }, spec: { containers: [{ name: "api", image: "demo/api:1" }] } } };
const agentSpec = {
  ...originalSpec,
  template: { metadata: { labels: { app: "api", "kbridge.dev/session": SESSION, "kbridge.dev/role": "agent" } }, spec: { containers: [{ name: "api", image: "node:22-alpine" }] } },
};
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64");

let api: FakeApi;
const run = (extra: Partial<RestoreOptions> = {}) =>
  restoreSession({ api: api.request, namespace: NS, session: SESSION, workload: { kind: "Deployment", name: "api" }, sleep: async () => undefined, verifyTimeoutMs: 1000, ...extra });
const failure = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RestoreError);
  return error as RestoreError;
};

/** A connected Deployment session: the Secret, the agent in the Deployment, an agent pod, the ConfigMap and the restorer. */
function connectedDeployment() {
  api.put(SECRET, { metadata: { name: `kbridge-${SESSION}-original`, labels }, data: { "workload.json": encode({ kind: "Deployment", name: "api", spec: originalSpec }) } });
  api.put(DEPLOYMENT, { kind: "Deployment", metadata: { name: "api", annotations: { "kbridge.dev/session": SESSION, "kbridge.dev/original": `kbridge-${SESSION}-original` } }, spec: { ...agentSpec, replicas: 3 }, status: {} });
  api.put(`/api/v1/namespaces/${NS}/pods/api-agent-1`, { metadata: { name: "api-agent-1", labels: { app: "api", "kbridge.dev/session": SESSION, "kbridge.dev/role": "agent" } }, status: {} });
  api.put(`/api/v1/namespaces/${NS}/configmaps/kbridge-${SESSION}-agent`, { metadata: { name: `kbridge-${SESSION}-agent`, labels } });
  api.put(`/api/v1/namespaces/${NS}/pods/kbridge-${SESSION}-restorer`, { metadata: { name: `kbridge-${SESSION}-restorer`, labels: { ...labels, "kbridge.dev/role": "restorer" } } });
  // The Deployment controller: a written template rolls out at once, and the agent's pods go.
  api.afterWrite = (method, path, object) => {
    if (method !== "PUT" || path !== DEPLOYMENT) return;
    const replicas = object.spec.replicas;
    api.put(DEPLOYMENT, { ...object, status: { observedGeneration: object.metadata.generation, replicas, updatedReplicas: replicas, availableReplicas: replicas } });
    api.objects.delete(`/api/v1/namespaces/${NS}/pods/api-agent-1`);
  };
}

/** What kbridge created for the session (the agent pods of a Deployment are its ReplicaSet's). */
const sessionObjects = () => [...api.objects.keys()].filter((key) => api.get(key).metadata?.labels?.["kbridge.dev/session"] === SESSION && api.get(key).metadata?.labels?.["app.kubernetes.io/managed-by"] === "kbridge");

beforeEach(() => {
  api = new FakeApi();
});

describe("a Deployment", () => {
  test("gets its spec back (with the replica count of now), its claim goes, and the Secret is deleted after everything but what it owns", async () => {
    connectedDeployment();
    const progress: string[] = [];
    expect(await run({ progress: (text) => progress.push(text) })).toEqual({ restored: "deployment/api", unrouted: [] });
    const deployment = api.get(DEPLOYMENT);
    expect(deployment.spec).toEqual({ ...originalSpec, replicas: 3 });
    expect(deployment.metadata.annotations).toBeUndefined();
    expect(sessionObjects()).toEqual([]);
    const deletes = api.calls.filter((c) => c.startsWith("DELETE"));
    expect(deletes).toEqual([
      `DELETE /api/v1/namespaces/${NS}/configmaps/kbridge-${SESSION}-agent`,
      `DELETE ${SECRET}`,
      `DELETE /api/v1/namespaces/${NS}/pods/kbridge-${SESSION}-restorer?gracePeriodSeconds=0`,
    ]);
    // Its own identity is looked for by name (gone already here, or never made: kbridge setup's).
    expect(api.calls.filter((c) => c.includes(`-restorer`) && c.startsWith("GET"))).toEqual([
      `GET /api/v1/namespaces/${NS}/serviceaccounts/kbridge-${SESSION}-restorer`,
      `GET /apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles/kbridge-${SESSION}-restorer`,
      `GET /apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings/kbridge-${SESSION}-restorer`,
    ]);
    // Secrets and ConfigMaps are never listed: the restorer may not read the namespace's other Secrets.
    expect(api.calls.filter((c) => /^GET \S*\/(secrets|configmaps)\?/.test(c))).toEqual([]);
    expect(api.calls.indexOf(`PUT ${DEPLOYMENT}`)).toBeLessThan(api.calls.indexOf(`DELETE ${SECRET}`));
    expect(progress).toEqual(["reading the saved original", "putting deployment/api back", "checking deployment/api", "removing the session's objects"]);
  });

  test("an object of someone else's that has the session's name (no kbridge labels) is left alone", async () => {
    connectedDeployment();
    const configMap = `/api/v1/namespaces/${NS}/configmaps/kbridge-${SESSION}-agent`;
    api.put(configMap, { metadata: { name: `kbridge-${SESSION}-agent`, labels: { app: "theirs" } }, data: { mine: "yes" } });
    expect((await run()).restored).toBe("deployment/api");
    expect(api.get(configMap).data).toEqual({ mine: "yes" });
    expect(api.calls).not.toContain(`DELETE ${configMap}`);
  });

  test("a conflict while putting it back is read again and tried again; a 500 once is tried again", async () => {
    connectedDeployment();
    api.fail({ method: "PUT", path: /deployments\/api$/, status: 409, times: 2 });
    api.fail({ method: "GET", path: /secrets\/kbridge-s1-original$/, status: 500, times: 1 });
    expect((await run()).restored).toBe("deployment/api");
    expect(api.get(DEPLOYMENT).spec.template).toEqual(originalSpec.template);
  });

  // The fault matrix: every call of the restore up to the Secret's deletion, refused (403), failing (500) and timing out.
  const calls: [string, RegExp][] = [
    ["read the saved original", /^\/api\/v1\/namespaces\/shop\/secrets\/kbridge-s1-original$/],
    ["write the workload", /deployments\/api$/],
    ["delete the ConfigMap", /configmaps\/kbridge-s1-agent$/],
    ["delete the Secret", /secrets\/kbridge-s1-original$/],
  ];
  const methodOf = (what: string) => (what.startsWith("read") ? "GET" : what.startsWith("write") ? "PUT" : "DELETE");
  for (const [what, path] of calls) {
    for (const fault of [{ status: 403 }, { status: 500 }, { reject: "GET timed out after 10000 ms" }]) {
      const name = fault.status ? `HTTP ${fault.status}` : "a timeout";
      test(`${what}: ${name} keeps the original; once lifted, the restore finishes exactly`, async () => {
        connectedDeployment();
        api.fail({ method: methodOf(what), path, ...fault });
        const error = await failure(run());
        expect(error.message).toContain(fault.status ? `HTTP ${fault.status}` : "timed out");
        expect(error.retryable).toBe(true);
        expect(error.code).toBe(fault.status === 403 ? "restore-forbidden" : "restore-call-failed");
        expect(error.hint).toMatch(fault.status === 403 ? /kbridge clean/ : /cluster answers/);
        // The original is still there to restore from.
        expect(api.get(SECRET).data["workload.json"]).toBe(encode({ kind: "Deployment", name: "api", spec: originalSpec }));
        api.clearFaults();
        await run();
        expect(api.get(DEPLOYMENT).spec).toEqual({ ...originalSpec, replicas: 3 });
        expect(sessionObjects()).toEqual([]);
      });
    }
  }

  test("after the Secret, what it owns is deleted too, but a failure there is left to the garbage collector", async () => {
    connectedDeployment();
    api.fail({ method: "DELETE", path: /pods\/kbridge-s1-restorer/, status: 500 });
    const logged: string[] = [];
    expect(await run({ log: (message) => logged.push(message) })).toEqual({ restored: "deployment/api", unrouted: [] });
    expect(api.get(SECRET)).toBeUndefined();
    expect(logged).toContain("the session's Secret is gone; what it owns is left to the garbage collector");
  });

  test("the agent never went in (or another session holds it): nothing is put back, the session's objects go", async () => {
    connectedDeployment();
    const rolledOut = { ...originalSpec, template: { ...originalSpec.template, metadata: { labels: { app: "api", release: "2" } } } };
    api.put(DEPLOYMENT, { kind: "Deployment", metadata: { name: "api", annotations: { "kbridge.dev/session": "other" } }, spec: rolledOut, status: {} });
    api.objects.delete(`/api/v1/namespaces/${NS}/pods/api-agent-1`);
    const logged: string[] = [];
    expect(await run({ log: (message) => logged.push(message) })).toEqual({ unrouted: [] });
    expect(api.get(DEPLOYMENT).spec).toEqual(rolledOut);
    expect(logged).toContain("the agent was never put in; nothing to restore");
    expect(sessionObjects()).toEqual([]);
  });

  test("with the Secret gone: leftovers are removed, unless the workload still runs the agent — then nothing is touched", async () => {
    connectedDeployment();
    api.objects.delete(SECRET);
    const lost = await failure(run());
    expect(lost).toMatchObject({ code: "original-lost", retryable: false });
    expect(lost.message).toBe("deployment/api still runs the agent of session s1, but the session's saved original is gone");
    expect(lost.hint).toContain("kubectl rollout undo deployment/api -n shop");
    expect(sessionObjects().length).toBe(2);

    api.put(DEPLOYMENT, { kind: "Deployment", metadata: { name: "api" }, spec: originalSpec, status: {} });
    expect(await run()).toEqual({ unrouted: [], gone: true });
    expect(sessionObjects()).toEqual([]);
  });

  test("an unreadable saved original is never deleted: a person has to look", async () => {
    connectedDeployment();
    api.put(SECRET, { metadata: { name: `kbridge-${SESSION}-original`, labels }, data: { "workload.json": Buffer.from("{not json").toString("base64") } });
    expect(await failure(run())).toMatchObject({ code: "original-unreadable", retryable: false });
    expect(api.get(SECRET)).toBeDefined();
    expect(api.get(DEPLOYMENT).spec.template).toEqual(agentSpec.template);
  });

  test("a rollout whose pods do not start is reported with the pod and why; the original stays", async () => {
    connectedDeployment();
    api.afterWrite = (method, path) => {
      if (method !== "PUT" || path !== DEPLOYMENT) return;
      api.objects.delete(`/api/v1/namespaces/${NS}/pods/api-agent-1`);
      api.put(`/api/v1/namespaces/${NS}/pods/api-7d9f-x2`, {
        metadata: { name: "api-7d9f-x2", labels: { app: "api" } },
        status: { containerStatuses: [{ name: "api", state: { waiting: { reason: "CreateContainerConfigError", message: 'secret "api-secrets" not found' } } }] },
      });
    };
    const error = await failure(run());
    expect(error.code).toBe("rollout-stuck");
    expect(error.message).toBe('deployment/api is back to its original spec, but its rollout is not progressing: pod api-7d9f-x2 CreateContainerConfigError (secret "api-secrets" not found)');
    expect(api.get(DEPLOYMENT).spec.template).toEqual(originalSpec.template);
    expect(api.get(SECRET)).toBeDefined();
  });

  test("a rollout that does not finish in time is reported with where it stands", async () => {
    connectedDeployment();
    api.afterWrite = () => undefined;
    const error = await failure(run({ sleep: () => new Promise((resolve) => setTimeout(resolve, 20)), verifyTimeoutMs: 100 }));
    expect(error.code).toBe("rollout-timeout");
    expect(error.message).toMatch(/^deployment\/api is back to its original spec, but its rollout did not finish within 0 s: 0 of 3 pod\(s\) updated, 0 available; 1 agent pod\(s\) still terminating$/);
    expect(api.get(SECRET)).toBeDefined();
  });
});

test("a StatefulSet's pods left on the agent template and not ready are replaced (the forced-rollback rule)", async () => {
  const setSpec = { ...originalSpec, serviceName: "ledger", selector: { matchLabels: { app: "ledger" } } };
  api.put(SECRET, { metadata: { name: `kbridge-${SESSION}-original`, labels }, data: { "workload.json": encode({ kind: "StatefulSet", name: "ledger", spec: setSpec }) } });
  api.put(STATEFULSET, { kind: "StatefulSet", metadata: { name: "ledger", annotations: { "kbridge.dev/session": SESSION } }, spec: { ...setSpec, template: agentSpec.template }, status: {} });
  const stuck = `/api/v1/namespaces/${NS}/pods/ledger-1`;
  api.put(stuck, { metadata: { name: "ledger-1", labels: { app: "ledger", "kbridge.dev/session": SESSION, "kbridge.dev/role": "agent" } }, status: { conditions: [{ type: "Ready", status: "False" }] } });
  // The controller rolls only when every pod is ready: done once the stuck one is gone.
  api.afterWrite = (method, path) => {
    if (method === "DELETE" && path === stuck) {
      const set = api.get(STATEFULSET);
      api.put(STATEFULSET, { ...set, status: { observedGeneration: set.metadata.generation, replicas: 2, readyReplicas: 2, updatedReplicas: 2 } });
    }
  };
  expect(await run({ workload: { kind: "StatefulSet", name: "ledger" } })).toEqual({ restored: "statefulset/ledger", unrouted: [] });
  expect(api.calls).toContain(`DELETE ${stuck}`);
  expect(api.get(STATEFULSET).spec).toEqual(setSpec);
});

describe("a bare Pod", () => {
  const savedPod = { kind: "Pod", name: "solo", spec: { containers: [{ name: "solo", image: "demo/solo:1" }] }, metadata: { labels: { app: "solo" } } };
  beforeEach(() => {
    api.put(SECRET, { metadata: { name: `kbridge-${SESSION}-original`, labels }, data: { "workload.json": encode(savedPod) } });
    api.put(`/api/v1/namespaces/${NS}/pods/kbridge-${SESSION}-pod`, { metadata: { name: `kbridge-${SESSION}-pod`, labels: { ...labels, app: "solo", "kbridge.dev/role": "agent" } } });
    api.afterWrite = (method, path, object) => {
      if (method === "POST" && path === POD) api.put(POD, { ...object, status: { conditions: [{ type: "Ready", status: "True" }] } });
    };
  });

  test("is re-created under its name, with its labels, once ready the agent pod goes", async () => {
    expect(await run({ workload: { kind: "Pod", name: "solo" } })).toEqual({ restored: "pod/solo", unrouted: [] });
    expect(api.get(POD)).toMatchObject({ metadata: { name: "solo", labels: { app: "solo" } }, spec: savedPod.spec });
    expect(sessionObjects()).toEqual([]);
  });

  test("claimed but never replaced (the helper stopped in between): the claim goes, the pod stays", async () => {
    api.put(POD, { metadata: { name: "solo", labels: { app: "solo" }, annotations: { "kbridge.dev/session": SESSION } }, spec: savedPod.spec, status: { conditions: [{ type: "Ready", status: "True" }] } });
    expect(await run({ workload: { kind: "Pod", name: "solo" } })).toEqual({ unrouted: [] });
    expect(api.get(POD).metadata.annotations).toEqual({});
    expect(sessionObjects()).toEqual([]);
  });
});

describe("isolation", () => {
  const service = `/api/v1/namespaces/${NS}/services/api`;
  beforeEach(() => {
    api.put(SECRET, { metadata: { name: `kbridge-${SESSION}-original`, labels }, data: { "isolation.json": encode({ service: "api", routingKey: "alice-1a2b" }) } });
    api.put(`/api/v1/namespaces/${NS}/pods/kbridge-${SESSION}-pod`, { metadata: { name: `kbridge-${SESSION}-pod`, labels: { ...labels, "kbridge.dev/routing-key": "alice-1a2b" } } });
    api.put(service, { metadata: { name: "api", annotations: { "kbridge.dev/original-selector": JSON.stringify({ app: "api" }) } }, spec: { selector: { "kbridge.dev/router": "api" } } });
    api.put(`/apis/apps/v1/namespaces/${NS}/deployments/kbridge-router-api`, { metadata: { name: "kbridge-router-api", labels: { "app.kubernetes.io/managed-by": "kbridge", "kbridge.dev/role": "router" } } });
    api.put(`/api/v1/namespaces/${NS}/configmaps/kbridge-router`, { metadata: { name: "kbridge-router", labels: { "app.kubernetes.io/managed-by": "kbridge", "kbridge.dev/role": "router" } } });
    api.put(`/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies/kbridge-router-api`, { metadata: { name: "kbridge-router-api", labels: { "app.kubernetes.io/managed-by": "kbridge", "kbridge.dev/role": "router", "kbridge.dev/router": "api" } } });
  });

  test("the namespace's last session gives the Services their selectors back, then removes the routers", async () => {
    expect(await run({ workload: undefined })).toEqual({ unrouted: ["api"] });
    expect(api.get(service).spec.selector).toEqual({ app: "api" });
    expect(api.get(service).metadata.annotations).toBeUndefined();
    expect(api.get(`/apis/apps/v1/namespaces/${NS}/deployments/kbridge-router-api`)).toBeUndefined();
    expect(api.get(`/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies/kbridge-router-api`)).toBeUndefined();
    expect(api.calls.indexOf(`PUT ${service}`)).toBeLessThan(api.calls.indexOf(`DELETE /apis/apps/v1/namespaces/${NS}/deployments/kbridge-router-api`));
  });

  test("while another developer isolates, the routers stay", async () => {
    api.put(`/api/v1/namespaces/${NS}/pods/kbridge-s2-pod`, { metadata: { name: "kbridge-s2-pod", labels: { "app.kubernetes.io/managed-by": "kbridge", "kbridge.dev/session": "s2", "kbridge.dev/routing-key": "bob-3c4d" } } });
    expect(await run({ workload: undefined })).toEqual({ unrouted: [] });
    expect(api.get(service).spec.selector).toEqual({ "kbridge.dev/router": "api" });
    expect(sessionObjects()).toEqual([]);
  });
});
