// kbridge's restore of a session, in one place: the helper runs it (disconnect, clean, a
// failed connect's rollback) and the session's restorer runs it in the cluster (restorer.mjs,
// which gets this file beside it in the session's ConfigMap). No npm dependencies.
//
// The saved original is sacred: the session's Secret, which holds it, is deleted only once
// the workload is verified back — its template no longer the agent's and its rollout done
// (a bare pod: back and ready) — and every other object of the session is gone. Any other
// answer (403, 429, 5xx, a timeout, a conflict that does not settle) ends the attempt with a
// RestoreError that says why and what to do, and leaves the original in place for the next one.
//
// One file past 400 lines, on purpose: the whole restore, shipped to the cluster as it is run
// by the helper, so that there is one to read and to test.
/* eslint-disable max-lines -- the whole restore in one file, as said above */
//
// `api(method, path, body?, options?)` sends one request to the API server and resolves
// { status, body } (body parsed from JSON when it is JSON); it rejects on a transport failure
// or a timeout. Paths are the REST paths (`/apis/apps/v1/namespaces/ns/deployments/api`).
import { isDeepStrictEqual } from "node:util";
import {
  agentConfigMapName,
  MANAGED_BY_KEY,
  MANAGED_BY_VALUE,
  MANAGED_SELECTOR,
  ORIGINAL_ANNOTATION,
  ORIGINAL_SELECTOR_ANNOTATION,
  restorerName,
  ROLE_LABEL,
  ROUTER_SHARED,
  ROUTING_KEY_LABEL,
  savedOriginalName,
  SESSION_LABEL,
} from "./names.mjs";

export class RestoreError extends Error {
  /** code: what kind of failure; hint: what to do; retryable: whether trying again later can help. */
  constructor({ code, message, hint, retryable = true }) {
    super(message);
    this.name = "RestoreError";
    this.code = code;
    this.hint = hint;
    this.retryable = retryable;
  }
}

/** Container states that do not pass by waiting: a rollout showing one is not progressing. */
export const STUCK_REASONS = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError", "CrashLoopBackOff", "RunContainerError"]);
const CALL_TRIES = 3;
const CONFLICT_TRIES = 8;
const KEEP_TRYING = "The saved original stays in the cluster until the restore succeeds: the session's restorer keeps trying, and `kbridge clean` (or the Cluster page) finishes it.";

/** The session a workload (Deployment, StatefulSet, or a bare pod) is claimed by: its annotation, or its template's agent label. */
export function claimOf(workload) {
  return workload?.metadata?.annotations?.[SESSION_LABEL] ?? workload?.spec?.template?.metadata?.labels?.[SESSION_LABEL];
}

/** A label selector (matchLabels and matchExpressions) as the query parameter writes it. */
function selectorString(selector) {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const { key, operator, values = [] } of selector?.matchExpressions ?? []) {
    if (operator === "In") parts.push(`${key} in (${values.join(",")})`);
    else if (operator === "NotIn") parts.push(`${key} notin (${values.join(",")})`);
    else if (operator === "Exists") parts.push(key);
    else if (operator === "DoesNotExist") parts.push(`!${key}`);
  }
  return parts.join(",");
}

const isReady = (pod) => (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

/** The first container of the pod stuck in a state that does not pass by waiting, as "reason (message)". */
function stuckReason(pod) {
  for (const status of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = status.state?.waiting;
    if (waiting?.reason && STUCK_REASONS.has(waiting.reason)) return `${waiting.reason}${waiting.message ? ` (${waiting.message})` : ""}`;
  }
  return undefined;
}

/**
 * Puts a session's workload back, verifies it, and deletes every object of the session, its
 * Secret with the saved original last but for the restorer's own pod (`self`).
 * Options: api, namespace, session; `workload` ({kind, name}): the workload the session
 * targets, to tell "restored already" from "original lost" when the Secret is gone; log(message,
 * fields), progress(text); verifyTimeoutMs (default 120 s); sleep(ms), backoffMs (tests).
 * Resolves { restored?: "deployment/api", unrouted: [Service names given their selectors back],
 * gone?: true (the Secret was gone already) }; rejects with a RestoreError.
 */
export async function restoreSession(options) {
  const ctx = context(options);
  const secretPath = `/api/v1/namespaces/${ctx.namespace}/secrets/${savedOriginalName(ctx.session)}`;
  ctx.progress("reading the saved original");
  const secret = await call(ctx, "read the saved original", "GET", secretPath, undefined, { tolerate: [404] });
  if (secret.status === 404) {
    await refuseIfOriginalLost(ctx);
    const { unrouted } = await removeObjects(ctx, { isolation: false });
    return { unrouted, gone: true };
  }
  const data = secret.body?.data ?? {};
  const saved = data["workload.json"] ? parseSaved(ctx, data["workload.json"]) : undefined;
  let restored;
  if (saved) {
    const what = `${saved.kind.toLowerCase()}/${saved.name}`;
    ctx.progress(`putting ${what} back`);
    const outcome = saved.kind === "Pod" ? await putBackPod(ctx, saved) : await putBackTemplated(ctx, saved);
    if (outcome === "restored") restored = what;
    // Only what this restore put back is checked: a workload it did not touch is not its to judge.
    if (outcome === "restored") {
      ctx.progress(`checking ${what}`);
      await (saved.kind === "Pod" ? verifyPod(ctx, saved) : verifyTemplated(ctx, saved));
    }
  }
  ctx.progress("removing the session's objects");
  const { unrouted } = await removeObjects(ctx, { isolation: Boolean(data["isolation.json"]) });
  return { ...(restored ? { restored } : {}), unrouted };
}

function context(options) {
  return {
    log: () => undefined,
    progress: () => undefined,
    verifyTimeoutMs: 120_000,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    backoffMs: 250,
    ...options,
  };
}

/** One API call, tried again on 429, 5xx and transport failures; `tolerate`d statuses are answers too. */
async function call(ctx, what, method, path, body, { ok = [200, 201], tolerate = [] } = {}) {
  let failure;
  let status;
  for (let attempt = 1; attempt <= CALL_TRIES; attempt++) {
    try {
      const response = await ctx.api(method, path, body);
      if (ok.includes(response.status) || tolerate.includes(response.status)) return response;
      status = response.status;
      failure = `HTTP ${response.status}${response.body?.message ? `: ${response.body.message}` : ""}`;
      if (response.status !== 429 && response.status < 500) break;
    } catch (error) {
      status = undefined;
      failure = error.message;
    }
    if (attempt < CALL_TRIES) await ctx.sleep(ctx.backoffMs * 2 ** (attempt - 1));
  }
  const hint =
    status === 403 || status === 401
      ? `Someone with the right to ${what} in namespace ${ctx.namespace} can finish it with \`kbridge clean\`. ${KEEP_TRYING}`
      : `Check that the cluster answers (kubectl get pods -n ${ctx.namespace}). ${KEEP_TRYING}`;
  throw new RestoreError({ code: status === 403 || status === 401 ? "restore-forbidden" : "restore-call-failed", message: `could not ${what}: ${failure}`, hint });
}

function parseSaved(ctx, base64) {
  try {
    const saved = JSON.parse(Buffer.from(base64, "base64").toString("utf8"));
    if (["Deployment", "StatefulSet", "Pod"].includes(saved?.kind) && typeof saved.name === "string" && saved.spec) return saved;
  } catch {
    // reported below
  }
  throw new RestoreError({
    code: "original-unreadable",
    message: `the saved original in Secret ${savedOriginalName(ctx.session)} cannot be read`,
    hint: `It is left in place. Restore the workload by hand (kubectl rollout undo), then delete the session's objects: kubectl delete secret ${savedOriginalName(ctx.session)} -n ${ctx.namespace}.`,
    retryable: false,
  });
}

const workloadPath = (ctx, kind, name) =>
  kind === "Pod" ? `/api/v1/namespaces/${ctx.namespace}/pods/${name}` : `/apis/apps/v1/namespaces/${ctx.namespace}/${kind === "StatefulSet" ? "statefulsets" : "deployments"}/${name}`;

/** With the Secret gone, a workload still running this session's agent has lost its original: say so, remove nothing. */
async function refuseIfOriginalLost(ctx) {
  if (!ctx.workload) return;
  const { kind, name } = ctx.workload;
  const current = await call(ctx, `read ${kind.toLowerCase()} ${name}`, "GET", workloadPath(ctx, kind, name), undefined, { tolerate: [404] });
  if (current.status === 404 || claimOf(current.body) !== ctx.session) return;
  throw new RestoreError({
    code: "original-lost",
    message: `${kind.toLowerCase()}/${name} still runs the agent of session ${ctx.session}, but the session's saved original is gone`,
    hint: kind === "Deployment" ? `Roll it back to its previous template: kubectl rollout undo deployment/${name} -n ${ctx.namespace}` : `Apply ${kind.toLowerCase()} ${name}'s manifest again (kubectl apply -f …).`,
    retryable: false,
  });
}

/** A Deployment or StatefulSet: the saved spec back (with the replica count of now), if the session's agent is in it. */
async function putBackTemplated(ctx, saved) {
  const what = `${saved.kind.toLowerCase()} ${saved.name}`;
  const path = workloadPath(ctx, saved.kind, saved.name);
  for (let attempt = 1; attempt <= CONFLICT_TRIES; attempt++) {
    const current = await call(ctx, `read ${what}`, "GET", path, undefined, { tolerate: [404] });
    if (current.status === 404) {
      ctx.log("the workload was deleted meanwhile; nothing to put back", { kind: saved.kind, name: saved.name });
      return "gone";
    }
    // The agent never went in (the helper stopped before its replace, or another session holds
    // it): nothing to put back, and a rollout made since must not be undone.
    if (claimOf(current.body) !== ctx.session) {
      ctx.log("the agent was never put in; nothing to restore", { kind: saved.kind, name: saved.name });
      return "not-ours";
    }
    const annotations = { ...current.body.metadata.annotations };
    delete annotations[SESSION_LABEL];
    delete annotations[ORIGINAL_ANNOTATION];
    const metadata = { ...current.body.metadata, annotations };
    if (Object.keys(annotations).length === 0) delete metadata.annotations;
    // The spec as it was, except replicas: a scale made meanwhile (HPA, a teammate) stays.
    const body = { ...current.body, metadata, spec: { ...saved.spec, replicas: current.body.spec?.replicas ?? saved.spec.replicas } };
    const put = await call(ctx, `put ${what} back`, "PUT", path, body, { tolerate: [409] });
    if (put.status !== 409) {
      ctx.log("restored", { kind: saved.kind, name: saved.name });
      return "restored";
    }
    // A conflict: its controller (or a rollout) wrote meanwhile; that burst is soon over.
    await ctx.sleep(50 * 2 ** (attempt - 1));
  }
  throw new RestoreError({ code: "workload-conflict", message: `${what} kept changing while kbridge put it back (${CONFLICT_TRIES} tries)`, hint: KEEP_TRYING });
}

/** A bare pod comes back under its own name once the deleted original has finished terminating. */
async function putBackPod(ctx, saved) {
  const path = workloadPath(ctx, "Pod", saved.name);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const existing = await call(ctx, `read pod ${saved.name}`, "GET", path, undefined, { tolerate: [404] });
    if (existing.status === 200 && !existing.body.metadata.deletionTimestamp) {
      // Claimed, but the helper stopped before it replaced the pod: the claim goes, the pod stays.
      if (claimOf(existing.body) === ctx.session) {
        const annotations = { ...existing.body.metadata.annotations };
        delete annotations[SESSION_LABEL];
        const put = await call(ctx, `release pod ${saved.name}`, "PUT", path, { ...existing.body, metadata: { ...existing.body.metadata, annotations } }, { tolerate: [409] });
        if (put.status === 409) continue;
      }
      ctx.log("already back", { pod: saved.name });
      return "not-ours";
    }
    if (existing.status === 404) {
      const body = { apiVersion: "v1", kind: "Pod", metadata: { name: saved.name, ...saved.metadata }, spec: saved.spec };
      const created = await call(ctx, `re-create pod ${saved.name}`, "POST", `/api/v1/namespaces/${ctx.namespace}/pods`, body, { tolerate: [409] });
      if (created.status !== 409) {
        ctx.log("restored", { kind: "Pod", name: saved.name });
        return "restored";
      }
    }
    if (Date.now() > deadline) {
      throw new RestoreError({ code: "restore-timeout", message: `pod ${saved.name} is still terminating after 60 s, so kbridge cannot re-create it yet`, hint: KEEP_TRYING });
    }
    await ctx.sleep(500);
  }
}

/** The session's agent pods (not its restorer). */
const agentSelector = (ctx) => encodeURIComponent(`${SESSION_LABEL}=${ctx.session},${ROLE_LABEL}=agent`);

/**
 * Waits until the workload is back: its template no longer the agent's, its rollout done (as
 * `kubectl rollout status` judges), and no agent pod of the session left. A StatefulSet's pods
 * left on the agent template and not ready are deleted, which its controller would never do
 * (Kubernetes' forced-rollback rule). A pod stuck in a state that does not pass ends the wait.
 */
async function verifyTemplated(ctx, saved) {
  const what = `${saved.kind.toLowerCase()}/${saved.name}`;
  const path = workloadPath(ctx, saved.kind, saved.name);
  const deadline = Date.now() + ctx.verifyTimeoutMs;
  for (;;) {
    const current = await call(ctx, `read ${what}`, "GET", path, undefined, { tolerate: [404] });
    if (current.status === 404) return;
    const workload = current.body;
    if (claimOf(workload) === ctx.session) throw new RestoreError({ code: "restore-undone", message: `${what} still carries the session's agent after kbridge put it back`, hint: KEEP_TRYING });
    const same = isDeepStrictEqual({ ...workload.spec, replicas: undefined }, { ...saved.spec, replicas: undefined });
    if (!same) ctx.log("the workload changed since it was put back (someone else's rollout); checking that one", { kind: saved.kind, name: saved.name });
    const selector = encodeURIComponent(selectorString(workload.spec?.selector));
    const pods = (await call(ctx, `list the pods of ${what}`, "GET", `/api/v1/namespaces/${ctx.namespace}/pods?labelSelector=${selector}`)).body?.items ?? [];
    const agents = (await call(ctx, "list the session's agent pods", "GET", `/api/v1/namespaces/${ctx.namespace}/pods?labelSelector=${agentSelector(ctx)}`)).body?.items ?? [];
    if (saved.kind === "StatefulSet") {
      const onDelete = workload.spec?.updateStrategy?.type === "OnDelete";
      for (const pod of agents) {
        if (pod.metadata.deletionTimestamp || (isReady(pod) && !onDelete)) continue;
        ctx.log("replacing a pod left on the agent template", { pod: pod.metadata.name });
        await call(ctx, `delete pod ${pod.metadata.name} (left on the agent template)`, "DELETE", `/api/v1/namespaces/${ctx.namespace}/pods/${pod.metadata.name}`, undefined, { tolerate: [404] });
      }
    }
    for (const pod of pods) {
      if (pod.metadata.deletionTimestamp || pod.metadata.labels?.[SESSION_LABEL] === ctx.session) continue;
      const stuck = stuckReason(pod);
      if (stuck) {
        throw new RestoreError({
          code: "rollout-stuck",
          message: `${what} is back to its original spec, but its rollout is not progressing: pod ${pod.metadata.name} ${stuck}`,
          hint: `Its own pods do not start; see kubectl describe pod ${pod.metadata.name} -n ${ctx.namespace}. ${KEEP_TRYING}`,
        });
      }
    }
    const progress = rolloutProgress(workload);
    const summary = `${progress.summary}${agents.length ? `; ${agents.length} agent pod(s) still terminating` : ""}`;
    if (progress.done && agents.length === 0) return;
    if (Date.now() > deadline) {
      throw new RestoreError({ code: "rollout-timeout", message: `${what} is back to its original spec, but its rollout did not finish within ${Math.round(ctx.verifyTimeoutMs / 1000)} s: ${summary}`, hint: `See kubectl rollout status ${what} -n ${ctx.namespace}. ${KEEP_TRYING}` });
    }
    ctx.progress(`waiting for ${what}'s rollout: ${summary}`);
    await ctx.sleep(500);
  }
}

/** Whether a Deployment's or StatefulSet's rollout is done, as `kubectl rollout status` judges it, and where it stands. */
function rolloutProgress(workload) {
  const spec = workload.spec ?? {};
  const status = workload.status ?? {};
  const replicas = spec.replicas ?? 1;
  const observed = (status.observedGeneration ?? 0) >= (workload.metadata?.generation ?? 0);
  if (workload.kind === "StatefulSet" || spec.serviceName !== undefined || spec.updateStrategy !== undefined) {
    const partition = spec.updateStrategy?.rollingUpdate?.partition ?? 0;
    const updated = status.updatedReplicas ?? 0;
    const ready = status.readyReplicas ?? 0;
    const done = observed && ready >= replicas && updated >= replicas - partition;
    return { done, summary: `${updated} of ${replicas} pod(s) updated, ${ready} ready` };
  }
  const updated = status.updatedReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  const total = status.replicas ?? 0;
  const done = observed && updated >= replicas && total <= replicas && available >= replicas;
  return { done, summary: `${updated} of ${replicas} pod(s) updated, ${available} available${total > updated ? `, ${total - updated} old one(s) still there` : ""}` };
}

/** A bare pod: back under its name and ready. */
async function verifyPod(ctx, saved) {
  const deadline = Date.now() + ctx.verifyTimeoutMs;
  for (;;) {
    const pod = await call(ctx, `read pod ${saved.name}`, "GET", workloadPath(ctx, "Pod", saved.name), undefined, { tolerate: [404] });
    if (pod.status === 200 && !pod.body.metadata.deletionTimestamp) {
      if (isReady(pod.body)) return;
      const stuck = stuckReason(pod.body);
      if (stuck) throw new RestoreError({ code: "rollout-stuck", message: `pod/${saved.name} is back, but it does not start: ${stuck}`, hint: `See kubectl describe pod ${saved.name} -n ${ctx.namespace}. ${KEEP_TRYING}` });
    }
    if (Date.now() > deadline) {
      throw new RestoreError({ code: "rollout-timeout", message: `pod/${saved.name} was re-created, but it was not ready within ${Math.round(ctx.verifyTimeoutMs / 1000)} s (${pod.body?.status?.phase ?? "gone"})`, hint: KEEP_TRYING });
    }
    ctx.progress(`waiting for pod/${saved.name} to be ready`);
    await ctx.sleep(500);
  }
}

const GROUPS = { core: "/api/v1", networking: "/apis/networking.k8s.io/v1", rbac: "/apis/rbac.authorization.k8s.io/v1", apps: "/apis/apps/v1" };

/**
 * Deletes every object of the session: its ingresses, agent pods and ConfigMap; for the
 * namespace's last isolation session, the routers too (selectors back first); then its Secret
 * — the saved original, and the restore's anchor: until it goes, a failed attempt can be
 * taken up again, by the restorer (still there) or by `kbridge clean`. What is left after it
 * (the restorer's pod, ServiceAccount, Role and RoleBinding) is owned by the Secret, so the
 * garbage collector removes it anyway: deleted here as well (a session of an older kbridge
 * made them without owners), but a failure there is only logged. Secrets, ConfigMaps and the
 * identity go by name (the restorer may touch no other Secret of the namespace), each only
 * when it carries this session's labels, and only the object that was read (a uid
 * precondition): an object of someone else's that happens to have the name is left alone.
 */
async function removeObjects(ctx, { isolation }) {
  const selector = encodeURIComponent(`${SESSION_LABEL}=${ctx.session},${MANAGED_SELECTOR}`);
  const list = async (group, plural) => (await call(ctx, `list the session's ${plural}`, "GET", `${GROUPS[group]}/namespaces/${ctx.namespace}/${plural}?labelSelector=${selector}`)).body?.items ?? [];
  const remove = (group, plural, name) => call(ctx, `delete ${plural} ${name}`, "DELETE", `${GROUPS[group]}/namespaces/${ctx.namespace}/${plural}/${name}${plural === "pods" ? "?gracePeriodSeconds=0" : ""}`, undefined, { tolerate: [404] });
  const removeOwned = async (group, plural, name, tolerateRead = [404]) => {
    const path = `${GROUPS[group]}/namespaces/${ctx.namespace}/${plural}/${name}`;
    const found = await call(ctx, `read ${plural} ${name}`, "GET", path, undefined, { tolerate: tolerateRead });
    if (found.status !== 200) return;
    const labels = found.body?.metadata?.labels ?? {};
    if (labels[SESSION_LABEL] !== ctx.session || labels[MANAGED_BY_KEY] !== MANAGED_BY_VALUE) return ctx.log("left alone: not this session's", { kind: plural, name });
    const preconditions = { apiVersion: "v1", kind: "DeleteOptions", preconditions: { uid: found.body.metadata.uid } };
    await call(ctx, `delete ${plural} ${name}`, "DELETE", path, preconditions, { tolerate: [404, 409] });
  };
  const isRestorer = (pod) => pod.metadata.labels?.[ROLE_LABEL] === "restorer";
  for (const item of await list("networking", "ingresses")) await remove("networking", "ingresses", item.metadata.name);
  const pods = await list("core", "pods");
  for (const pod of pods) if (!isRestorer(pod)) await remove("core", "pods", pod.metadata.name);
  await removeOwned("core", "configmaps", agentConfigMapName(ctx.session));
  const unrouted = isolation ? await unroute(ctx) : [];
  await removeOwned("core", "secrets", savedOriginalName(ctx.session));
  // The restore is done. From here on the garbage collector may take a restorer's rights at any moment.
  const leftovers = pods.filter((pod) => isRestorer(pod) && pod.metadata.name !== ctx.self).map((pod) => pod.metadata.name);
  if (ctx.self) leftovers.push(ctx.self);
  try {
    for (const name of leftovers) await remove("core", "pods", name);
    // A session's own identity (none when the restorer runs as kbridge setup's, which may not read it: 403 then).
    for (const [group, plural] of [
      ["core", "serviceaccounts"],
      ["rbac", "roles"],
      ["rbac", "rolebindings"],
    ]) {
      await removeOwned(group, plural, restorerName(ctx.session), [403, 404]);
    }
  } catch (error) {
    ctx.log("the session's Secret is gone; what it owns is left to the garbage collector", { error: error.message });
  }
  return { unrouted };
}

/**
 * With no isolated agent left in the namespace (but the ending session's), every routed
 * Service gets its original selector back — before its router goes, so no request meets an
 * empty Service — then the routers and their shared objects are deleted. Returns the Services
 * given their selectors back. Options as restoreSession's (`session`: the one ending, if any).
 */
export function unrouteIfIdle(options) {
  return unroute(context(options));
}

async function unroute(ctx) {
  const keyed = encodeURIComponent(`${ROUTING_KEY_LABEL},${MANAGED_SELECTOR}`);
  const agents = (await call(ctx, "list the isolated agents", "GET", `/api/v1/namespaces/${ctx.namespace}/pods?labelSelector=${keyed}`)).body?.items ?? [];
  if (agents.some((pod) => !pod.metadata.deletionTimestamp && pod.metadata.labels?.[SESSION_LABEL] !== ctx.session)) {
    ctx.log("other isolation sessions remain; routers kept");
    return [];
  }
  const restored = [];
  const services = (await call(ctx, `list the services of ${ctx.namespace}`, "GET", `/api/v1/namespaces/${ctx.namespace}/services`)).body?.items ?? [];
  for (const listed of services) {
    let service = listed;
    const path = `/api/v1/namespaces/${ctx.namespace}/services/${listed.metadata.name}`;
    for (let attempt = 1; service?.metadata?.annotations?.[ORIGINAL_SELECTOR_ANNOTATION]; attempt++) {
      const annotations = { ...service.metadata.annotations };
      const selector = JSON.parse(annotations[ORIGINAL_SELECTOR_ANNOTATION]);
      delete annotations[ORIGINAL_SELECTOR_ANNOTATION];
      const metadata = { ...service.metadata, annotations };
      if (Object.keys(annotations).length === 0) delete metadata.annotations;
      const put = await call(ctx, `give service ${listed.metadata.name} its selector back`, "PUT", path, { ...service, metadata, spec: { ...service.spec, selector } }, { tolerate: [409] });
      if (put.status !== 409) {
        restored.push(listed.metadata.name);
        ctx.log("selector restored", { service: listed.metadata.name });
        break;
      }
      if (attempt >= CONFLICT_TRIES) throw new RestoreError({ code: "service-conflict", message: `service ${listed.metadata.name} kept changing while kbridge gave it its selector back`, hint: KEEP_TRYING });
      service = (await call(ctx, `read service ${listed.metadata.name}`, "GET", path, undefined, { tolerate: [404] })).body;
    }
  }
  const routerSelector = encodeURIComponent(`${ROLE_LABEL}=router,${MANAGED_SELECTOR}`);
  const routers = (await call(ctx, "list the routers", "GET", `${GROUPS.apps}/namespaces/${ctx.namespace}/deployments?labelSelector=${routerSelector}`)).body?.items ?? [];
  const shared = await call(ctx, "read the router script", "GET", `${GROUPS.core}/namespaces/${ctx.namespace}/configmaps/${ROUTER_SHARED}`, undefined, { tolerate: [404] });
  // Nothing of isolation's here (the common case for a plain session): done.
  if (restored.length === 0 && routers.length === 0 && shared.status === 404) return restored;
  for (const router of routers) await call(ctx, `delete the router ${router.metadata.name}`, "DELETE", `${GROUPS.apps}/namespaces/${ctx.namespace}/deployments/${router.metadata.name}`, undefined, { tolerate: [404] });
  const policies = (await call(ctx, "list the routers' network policies", "GET", `${GROUPS.networking}/namespaces/${ctx.namespace}/networkpolicies?labelSelector=${routerSelector}`)).body?.items ?? [];
  for (const policy of policies) await call(ctx, `delete the network policy ${policy.metadata.name}`, "DELETE", `${GROUPS.networking}/namespaces/${ctx.namespace}/networkpolicies/${policy.metadata.name}`, undefined, { tolerate: [404] });
  // An administrator's `kbridge setup` made the routers' identity: it stays (only the script goes).
  const account = await call(ctx, "read the routers' service account", "GET", `${GROUPS.core}/namespaces/${ctx.namespace}/serviceaccounts/${ROUTER_SHARED}`, undefined, { tolerate: [404] });
  const fromSetup = account.status !== 404 && account.body?.metadata?.labels?.[ROLE_LABEL] === "setup";
  const owned = [
    ["rbac", "rolebindings"],
    ["rbac", "roles"],
    ["core", "serviceaccounts"],
    ["core", "configmaps"],
  ];
  for (const [group, plural] of fromSetup ? owned.slice(3) : owned) {
    await call(ctx, `delete the routers' ${plural}`, "DELETE", `${GROUPS[group]}/namespaces/${ctx.namespace}/${plural}/${ROUTER_SHARED}`, undefined, { tolerate: [404] });
  }
  ctx.log("routers removed (the last isolation session ended)", { services: restored });
  return restored;
}
