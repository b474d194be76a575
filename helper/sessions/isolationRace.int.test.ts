/**
 * Two developers isolate the ingress-backed `web` with their own keys at the same moment, 20
 * times in a row — on a fresh namespace the first time, then with a third developer's routers
 * already there — while the API server's watches reach pods 1.5 s late (a loaded control
 * plane: routers learn of new agents late). Whatever order their route steps interleave in,
 * each key reaches its own workstation as soon as its helper says connected — by the header
 * and by the personal URL — and no key reaches the cluster's own pods; requests without a key
 * keep reaching them. The last one leaving puts every Service back.
 */
import type { ChildProcess } from "node:child_process";
import type http from "node:http";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { TestCluster } from "../../test/cluster/cluster.ts";
import { kind } from "../../test/cluster/controllers/objects.ts";
import { DEMO_HOST, startDemoCluster, viaIngress } from "../../test/cluster/demo/demoApp.ts";
import { connectedHelper, workstationServer } from "../../test/support/restoreChecks.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";

const dir = tempDir("isolation-race");
let cluster: TestCluster;
let kubeconfig: string;
const servers: http.Server[] = [];
const children = new Set<ChildProcess>();

async function workstation(name: string): Promise<number> {
  // Answers as web does (who served it), so that the ingress's answer names this workstation.
  const { server, port } = await workstationServer({ web: name, api: name });
  servers.push(server);
  return port;
}

beforeAll(async () => {
  cluster = await startDemoCluster();
  kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
}, 60_000);
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  for (const server of servers) server.close();
  await cluster?.stop();
});

/** A helper isolating web with `key`; resolves its output so far and a stop (SIGTERM: it restores, then exits). */
function isolate(key: string, port: number) {
  const helper = connectedHelper(kubeconfig, { TARGET_NAME: "web", SERVICE_PORT: "80", WORKSTATION_PORT: String(port), ROUTING_KEY: key, DEADMAN_SECONDS: "30" });
  children.add(helper.child);
  const exited = new Promise<number | null>((resolve) => helper.child.on("exit", (code) => resolve(code)));
  return {
    output: helper.output,
    connected: () => helper.connected(),
    stop: async () => {
      helper.child.kill("SIGTERM");
      const code = await exited;
      children.delete(helper.child);
      return code;
    },
  };
}

/** Who answered through the ingress (a workstation, or web's own pod): by the key's header, or by its personal URL. */
const byHeader = async (key?: string) => (JSON.parse((await viaIngress(cluster, "/status", key ? { "kubernetes-route-as": key } : {})).body) as { web: string }).web;
const byUrl = async (key: string) => (JSON.parse((await viaIngress(cluster, "/status", { host: `${key}.${DEMO_HOST}` })).body) as { web: string }).web;

test("two developers isolating the same Service at the same moment: each key reaches its own workstation once connected, 20 times in a row", async () => {
  const services = () => cluster.store.list(kind("Service"), "shop").map((o) => ({ name: o.metadata.name, annotations: o.metadata.annotations, spec: o.spec }));
  const before = services();
  const [portA, portB, portC] = [await workstation("alice"), await workstation("bob"), await workstation("carol")];
  cluster.faults.delayWatches(1500, "pods");
  let carol: ReturnType<typeof isolate> | undefined;
  for (let run = 1; run <= 20; run++) {
    const keyA = `alice-${(run * 4099).toString(16).slice(-4).padStart(4, "0")}`;
    const keyB = `bob-${(run * 7919).toString(16).slice(-4).padStart(4, "0")}`;
    const a = isolate(keyA, portA);
    const b = isolate(keyB, portB);
    try {
      // Each is checked the moment its helper says connected, whatever the other is doing.
      await Promise.all(
        [
          [a, keyA, "alice"],
          [b, keyB, "bob"],
        ].map(async ([helper, key, name]) => {
          const h = helper as ReturnType<typeof isolate>;
          await h.connected();
          expect(await byHeader(key as string), `run ${run}: ${key} by header`).toBe(name);
          expect(await byUrl(key as string), `run ${run}: ${key} by personal URL`).toBe(name);
        }),
      );
      expect(await byHeader(), `run ${run}: no key`).toMatch(/^web-/);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- alice:\n${a.output()}\n--- bob:\n${b.output()}`, { cause: error });
    } finally {
      expect(await Promise.all([a.stop(), b.stop()]), `run ${run}: both restore`).toEqual([0, 0]);
    }
    if (run === 1) {
      await until(() => isDeepStrictEqual(services(), before), "run 1: the Services put back", 30_000);
      // From now on a third developer isolates web throughout: the routers are there before each pair arrives.
      carol = isolate("carol-0c0c", portC);
      await carol.connected();
    }
  }
  expect(await byHeader("carol-0c0c")).toBe("carol");
  expect(await carol?.stop()).toBe(0);
  await until(() => isDeepStrictEqual(services(), before), "the Services put back", 30_000);
}, 600_000);
