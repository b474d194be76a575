/**
 * Boolean query values in the forms the real API server accepts (an official client library
 * sends "True"): a watch streams and a followed log stays open; "false" and "0" do neither.
 */
import https from "node:https";
import path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, expect, test } from "vitest";
import { tempDir } from "../../support/tempDir.ts";
import { until } from "../../support/until.ts";
import { startTestCluster, type TestCluster } from "../cluster.ts";
import { kind } from "../controllers/objects.ts";
import { kubectlFor } from "../support/kubectl.ts";

const dir = tempDir("query-flags");
let cluster: TestCluster;
let config: KubeConfig;

beforeAll(async () => {
  cluster = await startTestCluster();
  const kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
  config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  const pod = `apiVersion: v1\nkind: Pod\nmetadata: {name: ticker}\nspec:\n  containers:\n  - name: ticker\n    image: node:22\n    command: ["node", "-e", "let n = 0; setInterval(() => console.log('tick ' + n++), 100)"]\n`;
  expect((await kubectlFor(kubeconfig)(["apply", "-f", "-"], { stdin: pod })).code).toBe(0);
  await until(() => (cluster.store.find(kind("Pod"), "default", "ticker")?.status as { phase?: string } | undefined)?.phase === "Running", "the ticker pod to run", 30_000);
}, 60_000);
afterAll(() => cluster.stop());

/** GETs a path; what came within `ms`, and whether the server ended the answer by then. */
async function read(pathAndQuery: string, ms = 700): Promise<{ status: number; body: string; ended: boolean }> {
  const options: https.RequestOptions = {};
  await config.applyToHTTPSOptions(options);
  const url = new URL(`${config.getCurrentCluster()?.server}${pathAndQuery}`);
  return new Promise((resolve, reject) => {
    const request = https.get(url, options, (response) => {
      let body = "";
      let ended = false;
      response.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      response.on("end", () => (ended = true));
      setTimeout(() => {
        request.destroy();
        resolve({ status: response.statusCode ?? 0, body, ended });
      }, ms);
    });
    request.on("error", (error) => (error.message === "socket hang up" ? undefined : reject(error)));
  });
}

test("watch=true, True, TRUE, 1 and an empty value stream events; false, False and 0 list", async () => {
  for (const value of ["true", "True", "TRUE", "1", ""]) {
    const answer = await read(`/api/v1/namespaces/default/pods?watch=${value}`);
    expect(answer.status, `watch=${value}`).toBe(200);
    expect(JSON.parse(answer.body.split("\n")[0] as string), `watch=${value}`).toMatchObject({ type: "ADDED", object: { metadata: { name: "ticker" } } });
    expect(answer.ended, `watch=${value} stays open`).toBe(false);
  }
  for (const value of ["false", "False", "0"]) {
    const answer = await read(`/api/v1/namespaces/default/pods?watch=${value}`);
    expect(JSON.parse(answer.body), `watch=${value}`).toMatchObject({ kind: "PodList" });
    expect(answer.ended, `watch=${value} ends`).toBe(true);
  }
});

test("follow=True keeps a log open and streaming; follow=False answers what there is and ends", async () => {
  const followed = await read("/api/v1/namespaces/default/pods/ticker/log?follow=True&tailLines=1", 1000);
  expect(followed.status).toBe(200);
  expect(followed.ended).toBe(false);
  expect(followed.body.match(/tick \d+/g)?.length ?? 0).toBeGreaterThan(2);
  const once = await read("/api/v1/namespaces/default/pods/ticker/log?follow=False&tailLines=1", 1000);
  expect(once.body.match(/tick \d+/g)).toHaveLength(1);
  expect(once.ended).toBe(true);
});
