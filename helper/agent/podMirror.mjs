// Pods as the API server tells them, for a program in the cluster with no dependencies (the
// router): a list, then a watch from its resourceVersion, with the pod's service-account token.
import fs from "node:fs";
import https from "node:https";

const SA = "/var/run/secrets/kubernetes.io/serviceaccount";

/** A GET on the API server with the pod's service-account token; the response stream. */
function apiGet(path) {
  return new Promise((resolve, reject) => {
    const request = https.get(
      {
        host: process.env.KUBERNETES_SERVICE_HOST,
        port: process.env.KUBERNETES_SERVICE_PORT ?? 443,
        path,
        ca: fs.readFileSync(`${SA}/ca.crt`),
        headers: { authorization: `Bearer ${fs.readFileSync(`${SA}/token`, "utf8").trim()}`, accept: "application/json" },
      },
      resolve,
    );
    request.setTimeout(30_000, () => request.destroy(new Error(`GET ${path} timed out`)));
    request.on("error", reject);
  });
}

async function apiJson(path) {
  const response = await apiGet(path);
  let text = "";
  for await (const chunk of response) text += chunk;
  if (response.statusCode !== 200) throw new Error(`GET ${path}: HTTP ${response.statusCode} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

/**
 * Keeps `pods` (name → pod) equal to the pods the selector matches: a list, then a watch from
 * its resourceVersion; a closed watch resumes, a 410 (too old) lists again; failures back off
 * up to 5 s (`log(message, fields)` says why). Resolves once the first list is in.
 */
export function mirrorPods({ namespace, labelSelector, pods, onChange, log }) {
  const base = `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(labelSelector)}`;
  let resourceVersion = "";
  let backoff = 250;
  let first;
  const listed = new Promise((resolve) => (first = resolve));
  const relist = async () => {
    const list = await apiJson(base);
    pods.clear();
    for (const pod of list.items) pods.set(pod.metadata.name, pod);
    resourceVersion = list.metadata.resourceVersion;
    onChange();
    first();
  };
  const watch = async () => {
    const response = await apiGet(`${base}&watch=1&allowWatchBookmarks=true&resourceVersion=${resourceVersion}`);
    if (response.statusCode !== 200) {
      response.resume();
      throw new Error(`watch pods (${labelSelector}): HTTP ${response.statusCode}`);
    }
    let buffered = "";
    for await (const chunk of response) {
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (!line) continue;
        const event = JSON.parse(line);
        if (event.type === "ERROR") {
          if (event.object?.code === 410) resourceVersion = "";
          return;
        }
        resourceVersion = event.object.metadata.resourceVersion;
        if (event.type === "BOOKMARK") continue;
        if (event.type === "DELETED") pods.delete(event.object.metadata.name);
        else pods.set(event.object.metadata.name, event.object);
        onChange();
        backoff = 250;
      }
    }
  };
  void (async () => {
    for (;;) {
      try {
        if (!resourceVersion) await relist();
        await watch();
      } catch (error) {
        log("pod watch failed; retrying", { selector: labelSelector, error: error.message, retryInMs: backoff });
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(5000, backoff * 2);
      }
    }
  })();
  return listed;
}
