/** The demo shop on a test cluster: its images, its manifests, and a wait until it answers end to end. */
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { typeOfKind } from "../apiserver/resources.ts";
import type { KubeObject } from "../apiserver/store.ts";
import { startTestCluster, type TestCluster, type TestClusterOptions } from "../cluster.ts";
import type { ImageResolver } from "../kubelet/images.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const DEMO_MANIFESTS = path.join(HERE, "manifests.yaml");
export const DEMO_STRICT = path.join(HERE, "strict.yaml");
export const DEMO_SETUP = path.join(HERE, "kbridge-setup.yaml");
export const DEMO_HOST = "shop.kbridge.test";
export const DEMO_NAMESPACE = "shop";

/** `kbridge-demo/<web|api|store>:<tag>` (any registry prefix) runs that demo service on this machine's node. */
export const demoImages: ImageResolver = (image) => {
  const match = /^(?:[\w.:-]+\/)?kbridge-demo\/(web|api|store):[\w.-]+$/.exec(image);
  return match ? { command: process.execPath, args: [path.join(HERE, `${match[1]}.mjs`)] } : undefined;
};

/**
 * Creates the demo's objects in the store, as `kubectl apply -f manifests.yaml` would (with
 * `setup`, kbridge's namespace setup too, as `npm run demo` has it); with `strict`, in a namespace
 * locked down by strict.yaml (Pod Security restricted, a quota, default-deny NetworkPolicies
 * admitting each app by its labels).
 */
export function installDemo(cluster: TestCluster, options: { strict?: boolean; setup?: boolean } = {}): void {
  const documents = (file: string) => parseAllDocuments(fs.readFileSync(file, "utf8")).map((d) => d.toJS() as KubeObject | null).filter((o): o is KubeObject => o !== null);
  const demo = documents(DEMO_MANIFESTS);
  const strict = options.strict ? documents(DEMO_STRICT) : [];
  const namespace = strict.find((o) => o.kind === "Namespace") ?? demo.find((o) => o.kind === "Namespace");
  const setup = options.setup === true ? documents(DEMO_SETUP) : [];
  const objects = [namespace, ...strict.filter((o) => o.kind !== "Namespace"), ...setup, ...demo.filter((o) => o.kind !== "Namespace")];
  for (const object of objects) {
    if (!object) continue;
    const type = typeOfKind(String(object.apiVersion), String(object.kind));
    if (!type) throw new Error(`the demo manifests name an unknown kind ${object.apiVersion}/${object.kind}`);
    cluster.store.create(type, object);
  }
}

/** GET `path` through the cluster's ingress with the demo host. */
export function viaIngress(cluster: TestCluster, urlPath: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: cluster.ingress.address, port: cluster.ingress.port, path: urlPath, headers: { host: DEMO_HOST, ...headers }, agent: false }, (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      })
      .on("error", reject);
  });
}

/** Resolves once web → api → store answers through the ingress; fails with the last answer after `timeoutMs`. */
export async function waitForDemo(cluster: TestCluster, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    try {
      const reply = await viaIngress(cluster, "/status");
      if (reply.status === 200) return;
      last = `${reply.status} ${reply.body}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the demo app did not answer through the ingress within ${timeoutMs / 1000} s: ${last}`);
}

/** A test cluster running the demo shop, answering end to end; `images` adds image families to the demo's. */
export async function startDemoCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const cluster = await startTestCluster({ backoffBaseMs: 500, ...options, images: [demoImages, ...(options.images ?? [])] });
  installDemo(cluster);
  await waitForDemo(cluster);
  return cluster;
}
