// kbridge restorer: the cluster side of kbridge's guarantee that a workload comes back.
// It runs beside a session (own ServiceAccount, a Role limited to what a restore needs),
// reads the heartbeat the helper renews on the session's Secret, and when the heartbeat is
// older than KBRIDGE_DEADMAN_SECONDS (the helper died, the workstation vanished), it puts
// the saved original back and deletes every object of the session — its Secret last, which owns
// the restorer's own pod and rights, so the garbage collector removes those.
// One file, no npm dependencies, run by the stock node image.
import fs from "node:fs";
import https from "node:https";

const session = process.env.KBRIDGE_SESSION;
const namespace = process.env.KBRIDGE_NAMESPACE;
const deadmanMs = Number(process.env.KBRIDGE_DEADMAN_SECONDS ?? 30) * 1000;
const pollMs = Math.min(5000, deadmanMs / 3);
const SA = "/var/run/secrets/kubernetes.io/serviceaccount";
const log = (message, fields = {}) => console.log(JSON.stringify({ time: new Date().toISOString(), session, message, ...fields }));

if (!session || !namespace) {
  console.error("kbridge restorer: KBRIDGE_SESSION and KBRIDGE_NAMESPACE are required");
  process.exit(2);
}

/** A request to the API server with the pod's service-account token; resolves { status, body }. */
function api(method, path, body, contentType = "application/json") {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: process.env.KUBERNETES_SERVICE_HOST,
        port: process.env.KUBERNETES_SERVICE_PORT ?? 443,
        method,
        path,
        ca: fs.readFileSync(`${SA}/ca.crt`),
        headers: { authorization: `Bearer ${fs.readFileSync(`${SA}/token`, "utf8").trim()}`, accept: "application/json", ...(payload ? { "content-type": contentType } : {}) },
        timeout: 10000,
      },
      (response) => {
        let text = "";
        response.on("data", (chunk) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode, body: text ? JSON.parse(text) : undefined }));
      },
    );
    request.on("timeout", () => request.destroy(new Error(`${method} ${path} timed out`)));
    request.on("error", reject);
    request.end(payload);
  });
}

const selector = encodeURIComponent(`kbridge.dev/session=${session},app.kubernetes.io/managed-by=kbridge`);
const secretPath = `/api/v1/namespaces/${namespace}/secrets/kbridge-${session}-original`;

async function restore() {
  const secret = await api("GET", secretPath);
  const data = secret.status === 200 ? secret.body.data : {};
  // A replaced workload comes back; an isolation session changed no workload (its agent is a new pod).
  if (data["workload.json"]) {
    const saved = JSON.parse(Buffer.from(data["workload.json"], "base64").toString("utf8"));
    if (saved.kind === "Pod") await recreatePod(saved);
    else await restoreTemplated(saved);
  }
  // Everything of the session. Its Secret goes last but for this pod's own rights: the
  // ServiceAccount, Role, RoleBinding and this pod are owned by the Secret, so the cluster's
  // garbage collector removes them once it is gone (deleting them first would take away the
  // rights the rest needs).
  const list = async (group, plural) => (await api("GET", `/${group}/namespaces/${namespace}/${plural}?labelSelector=${selector}`)).body?.items ?? [];
  const remove = (group, plural, name) => api("DELETE", `/${group}/namespaces/${namespace}/${plural}/${name}`);
  for (const item of await list("apis/networking.k8s.io/v1", "ingresses")) await remove("apis/networking.k8s.io/v1", "ingresses", item.metadata.name);
  for (const item of await list("api/v1", "pods")) if (item.metadata.name !== process.env.HOSTNAME) await remove("api/v1", "pods", item.metadata.name);
  for (const item of await list("api/v1", "configmaps")) await remove("api/v1", "configmaps", item.metadata.name);
  // An isolation session that was the namespace's last: the routed Services get their selectors back.
  if (data["isolation.json"]) await unrouteIfIdle();
  for (const item of await list("api/v1", "secrets")) await remove("api/v1", "secrets", item.metadata.name);
  // Objects a session of an older kbridge made without owners: this pod first (it has until its grace period ends), then the rights.
  await remove("api/v1", "pods", process.env.HOSTNAME);
  for (const [group, plural] of [
    ["api/v1", "serviceaccounts"],
    ["apis/rbac.authorization.k8s.io/v1", "roles"],
    ["apis/rbac.authorization.k8s.io/v1", "rolebindings"],
  ]) {
    for (const item of await list(group, plural)) await remove(group, plural, item.metadata.name);
  }
}

/**
 * As helper/k8s/routers.ts unrouteIfIdle: with no isolated agent left in the namespace, every
 * routed Service gets its original selector back, then the routers and their shared objects go.
 */
async function unrouteIfIdle() {
  const agents = await api("GET", `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent("kbridge.dev/routing-key,app.kubernetes.io/managed-by=kbridge")}`);
  if ((agents.body?.items ?? []).some((pod) => !pod.metadata.deletionTimestamp && pod.metadata.labels["kbridge.dev/session"] !== session)) return log("other isolation sessions remain; routers kept");
  const services = await api("GET", `/api/v1/namespaces/${namespace}/services`);
  for (const listed of services.body?.items ?? []) {
    let service = listed;
    for (let attempt = 0; attempt < 5 && service.metadata.annotations?.["kbridge.dev/original-selector"]; attempt++) {
      const annotations = { ...service.metadata.annotations };
      const selector = JSON.parse(annotations["kbridge.dev/original-selector"]);
      delete annotations["kbridge.dev/original-selector"];
      const metadata = { ...service.metadata, annotations };
      if (Object.keys(annotations).length === 0) delete metadata.annotations;
      const path = `/api/v1/namespaces/${namespace}/services/${service.metadata.name}`;
      const put = await api("PUT", path, { ...service, metadata, spec: { ...service.spec, selector } });
      if (put.status === 200) {
        log("selector restored", { service: service.metadata.name });
        break;
      }
      service = (await api("GET", path)).body;
    }
  }
  const routers = await api("GET", `/apis/apps/v1/namespaces/${namespace}/deployments?labelSelector=${encodeURIComponent("kbridge.dev/role=router,app.kubernetes.io/managed-by=kbridge")}`);
  for (const item of routers.body?.items ?? []) await api("DELETE", `/apis/apps/v1/namespaces/${namespace}/deployments/${item.metadata.name}`);
  for (const [group, plural] of [
    ["apis/rbac.authorization.k8s.io/v1", "rolebindings"],
    ["apis/rbac.authorization.k8s.io/v1", "roles"],
    ["api/v1", "serviceaccounts"],
    ["api/v1", "configmaps"],
  ]) {
    await api("DELETE", `/${group}/namespaces/${namespace}/${plural}/kbridge-router`);
  }
  log("routers removed (the last isolation session ended)");
}

/** A Deployment or StatefulSet: the saved spec back, keeping the current replica count. */
async function restoreTemplated(saved) {
  const plural = saved.kind === "StatefulSet" ? "statefulsets" : "deployments";
  const path = `/apis/apps/v1/namespaces/${namespace}/${plural}/${saved.name}`;
  for (let attempt = 1; attempt <= 8; attempt++) {
    const current = await api("GET", path);
    if (current.status !== 200) return;
    // The agent never went in (the helper stopped before its replace): nothing to put back,
    // and a rollout made since must not be undone.
    if (current.body.metadata.annotations?.["kbridge.dev/session"] !== session) return log("the agent was never put in; nothing to restore", { kind: saved.kind, name: saved.name });
    const annotations = { ...current.body.metadata.annotations };
    delete annotations["kbridge.dev/session"];
    delete annotations["kbridge.dev/original"];
    const body = { ...current.body, metadata: { ...current.body.metadata, annotations }, spec: { ...saved.spec, replicas: current.body.spec.replicas } };
    const put = await api("PUT", path, body);
    if (put.status === 200) return log("restored", { kind: saved.kind, name: saved.name });
    log("restore attempt failed", { status: put.status, message: put.body?.message });
    // A conflict: the workload's controller (or a rollout) wrote meanwhile; its burst is soon over.
    await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** (attempt - 1)));
  }
  throw new Error(`could not restore ${saved.kind} ${saved.name}`);
}

/** A bare pod: re-created under its own name once the original has finished terminating. */
async function recreatePod(saved) {
  const path = `/api/v1/namespaces/${namespace}/pods`;
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    const existing = await api("GET", `${path}/${saved.name}`);
    if (existing.status === 200 && !existing.body.metadata.deletionTimestamp) return log("already back", { pod: saved.name });
    if (existing.status === 404) {
      const created = await api("POST", path, { apiVersion: "v1", kind: "Pod", metadata: { name: saved.name, ...saved.metadata }, spec: saved.spec });
      if (created.status === 201 || created.status === 200) return log("restored", { kind: "Pod", name: saved.name });
      if (created.status !== 409) throw new Error(`re-creating pod ${saved.name}: HTTP ${created.status} ${created.body?.message ?? ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`pod ${saved.name} is still terminating; cannot re-create it yet`);
}

let lastBeat = Date.now();
let restoring = false;
async function check() {
  if (restoring) return;
  try {
    const secret = await api("GET", secretPath);
    if (secret.status === 404) {
      log("the session ended (its Secret is gone); nothing to restore");
      return process.exit(0);
    }
    const beat = Date.parse(secret.body?.metadata?.annotations?.["kbridge.dev/heartbeat"] ?? "");
    if (!Number.isNaN(beat)) lastBeat = Math.max(lastBeat, beat);
  } catch (error) {
    log("cannot read the heartbeat", { error: error.message });
  }
  if (Date.now() - lastBeat > deadmanMs) {
    restoring = true;
    log("no heartbeat from the helper; restoring", { silentForMs: Date.now() - lastBeat });
    try {
      await restore();
      process.exit(0);
    } catch (error) {
      log("restore failed; retrying", { error: error.message });
      restoring = false;
    }
  }
}

log("watching the helper's heartbeat", { deadmanMs });
setInterval(check, pollMs);
// Deleted while restoring (it deletes itself near the end): finish first; the grace period bounds it.
process.on("SIGTERM", () => {
  if (!restoring) process.exit(0);
});
