// kbridge restorer: the cluster side of kbridge's guarantee that a workload comes back.
// It runs beside a session (own ServiceAccount, a Role limited to what a restore needs) and
// watches the heartbeat its helper keeps changing on the session's Secret. Once it has read
// that Secret without a pause for a whole dead-man interval and seen no change (deadman.mjs:
// its own clock only, so a skewed workstation clock or an API outage never ends a live
// session), it runs the session's restore (restore.mjs, the same code the helper runs). A
// restore that fails leaves everything in place, says why on the Secret and in this log,
// and is tried again with back-off, for as long as the helper stays silent.
// One file (with its two modules), no npm dependencies, run by the stock node image.
//
// Environment:
//   KBRIDGE_SESSION, KBRIDGE_NAMESPACE   the session, and its namespace
//   KBRIDGE_DEADMAN_SECONDS              silence that counts as the helper gone (default 30)
//   KBRIDGE_WORKLOAD                     "Kind/name" of the workload the session targets
import fs from "node:fs";
import https from "node:https";
import { Deadman } from "./deadman.mjs";
import { HEARTBEAT_ANNOTATION, RESTORER_STATUS_ANNOTATION, savedOriginalName } from "./names.mjs";
import { restoreSession } from "./restore.mjs";

const session = process.env.KBRIDGE_SESSION;
const namespace = process.env.KBRIDGE_NAMESPACE;
const deadmanMs = Number(process.env.KBRIDGE_DEADMAN_SECONDS ?? 30) * 1000;
const [workloadKind, workloadName] = (process.env.KBRIDGE_WORKLOAD ?? "").split("/");
const pollMs = Math.min(5000, deadmanMs / 3);
const REQUEST_TIMEOUT_MS = 10_000;
const SA = "/var/run/secrets/kubernetes.io/serviceaccount";
const log = (message, fields = {}) => console.log(JSON.stringify({ time: new Date().toISOString(), session, message, ...fields }));

if (!session || !namespace) {
  console.error("kbridge restorer: KBRIDGE_SESSION and KBRIDGE_NAMESPACE are required");
  process.exit(2);
}

/** A request to the API server with the pod's service-account token; resolves { status, body }, rejects on a transport failure or after 10 s. */
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
        // A length always: Node sends a DELETE's body neither chunked nor sized otherwise, and the server would read it as the next request.
        headers: { authorization: `Bearer ${fs.readFileSync(`${SA}/token`, "utf8").trim()}`, accept: "application/json", ...(payload ? { "content-type": contentType, "content-length": Buffer.byteLength(payload) } : {}) },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk) => (text += chunk));
        response.on("end", () => {
          let parsed;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = { message: text.slice(0, 200) };
          }
          resolve({ status: response.statusCode, body: parsed });
        });
        response.on("error", reject);
      },
    );
    request.on("timeout", () => request.destroy(new Error(`${method} ${path} timed out after ${REQUEST_TIMEOUT_MS / 1000} s`)));
    request.on("error", reject);
    request.end(payload);
  });
}

const secretPath = `/api/v1/namespaces/${namespace}/secrets/${savedOriginalName(session)}`;

/** What this restorer saw and did, on the session's Secret for the helper and the Cluster page (best effort). */
async function publish(state, fields = {}) {
  const value = JSON.stringify({ state, at: new Date().toISOString(), ...fields });
  try {
    await api("PATCH", secretPath, { metadata: { annotations: { [RESTORER_STATUS_ANNOTATION]: value } } }, "application/merge-patch+json");
  } catch {
    // the log has it
  }
}

const deadman = new Deadman(deadmanMs);
let restoring = false;
let failures = 0;
let renewalsSeen = 0;
let nextAttemptAt = 0;
let apiDown = false;

async function check() {
  if (restoring) return;
  let heartbeat = null;
  try {
    const secret = await api("GET", secretPath);
    if (secret.status === 404) {
      log("the session ended (its Secret is gone); nothing to restore");
      return process.exit(0);
    }
    if (secret.status === 200) heartbeat = secret.body?.metadata?.annotations?.[HEARTBEAT_ANNOTATION] ?? "";
    else if (!apiDown) log("cannot read the heartbeat; waiting for the API server to answer", { status: secret.status, message: secret.body?.message });
  } catch (error) {
    if (!apiDown) log("cannot reach the API server; waiting for it to answer", { error: error.message });
  }
  if (heartbeat !== null && apiDown) log("the API server answers again; the helper has a whole dead-man interval to renew", { deadmanMs });
  apiDown = heartbeat === null;
  const gone = deadman.observe(heartbeat);
  // A renewal after failed restores: the helper is back (a resume); it restores for itself.
  if (deadman.renewals > renewalsSeen && failures > 0) {
    log("the helper renewed the heartbeat; restore called off");
    failures = 0;
    nextAttemptAt = 0;
    await publish("watching");
  }
  renewalsSeen = deadman.renewals;
  if (!gone || performance.now() < nextAttemptAt) return;
  restoring = true;
  const silentForS = Math.round(deadman.silentForMs() / 1000);
  log("no heartbeat from the helper while the API server answered; restoring", { silentForS });
  await publish("restoring", { silentForS });
  try {
    const result = await restoreSession({
      api,
      namespace,
      session,
      self: process.env.HOSTNAME,
      ...(workloadKind && workloadName ? { workload: { kind: workloadKind, name: workloadName } } : {}),
      log,
    });
    log("restore done", result);
    process.exit(0);
  } catch (error) {
    failures += 1;
    const backoffMs = Math.min(60_000, 5000 * 2 ** (failures - 1));
    nextAttemptAt = performance.now() + backoffMs;
    log(`restore failed: ${error.message}`, { hint: error.hint, retryInS: error.retryable === false ? undefined : backoffMs / 1000 });
    await publish("failed", { message: error.message, hint: error.hint });
    if (error.retryable === false) nextAttemptAt = Infinity;
  } finally {
    restoring = false;
  }
}

log("watching the helper's heartbeat", { deadmanMs });
setInterval(check, pollMs);
// Deleted while restoring (it deletes itself near the end): finish first; the grace period bounds it.
process.on("SIGTERM", () => {
  if (!restoring) process.exit(0);
});
