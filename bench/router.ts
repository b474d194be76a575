/**
 * Isolation's router, measured: HTTP requests/s with keep-alive to a Service a router stands
 * in front of (requests without a routing key: the router forwards them to the Service's own
 * pod) against a Service with the same selector and no router — both through the test
 * cluster's service proxy, interleaved in turns so the machine's drift hits both alike.
 * Also shown: requests with the routing key, which travel on to the workstation (router →
 * agent → tunnel → helper), against kbridge's non-isolated redirection of the same pod.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import fs from "node:fs";
import { silentLogger } from "../helper/logs/logger.ts";
import { connect } from "../helper/sessions/connectSession.ts";
import { startTestCluster } from "../test/cluster/cluster.ts";
import { kind } from "../test/cluster/controllers/objects.ts";
import { kubectlFor } from "../test/cluster/support/kubectl.ts";
import { load, median } from "./transfer.ts";
import { deployment, manifests, service } from "../test/support/manifests.ts";

const SECONDS = 3;
const TURNS = 3;
const CONCURRENCY = 16;
const KEY = "bench-0000";

const APP = `
const body = JSON.stringify({ items: ["kettle", "teapot", "mug"] });
require("http").createServer((q, r) => { r.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }); r.end(body); }).listen(8080);
`;

const MANIFESTS = manifests(
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "routerbench" } },
  deployment({
    name: "fast",
    namespace: "routerbench",
    image: "node:22",
    command: ["node", "-e", APP],
    ports: [{ name: "http", containerPort: 8080 }],
    container: { readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } },
  }),
  service({ name: "fast", namespace: "routerbench", ports: [{ name: "http", port: 80, targetPort: "http" }] }),
  service({ name: "fast-direct", namespace: "routerbench", selector: { app: "fast" }, ports: [{ name: "http", port: 80, targetPort: "http" }] }),
);

export async function benchRouter(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kbridge-bench-router-"));
  const cluster = await startTestCluster({ backoffBaseMs: 500 });
  const workstation = http.createServer((_req, res) => res.end('{"items":[]}'));
  try {
    const kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
    const applied = await kubectlFor(kubeconfig)(["apply", "-f", "-"], { stdin: MANIFESTS });
    if (applied.code !== 0) throw new Error(`kubectl apply failed: ${applied.stderr}`);
    await kubectlFor(kubeconfig)(["rollout", "status", "deployment/fast", "-n", "routerbench", "--timeout=60s"]);
    await new Promise<void>((resolve) => workstation.listen(0, "127.0.0.1", resolve));
    const ip = (name: string) => ({ host: String((cluster.store.get(kind("Service"), "routerbench", name).spec as { clusterIP: string }).clusterIP), port: 80 });
    const run = (name: string, headers?: Record<string, string>) => load(ip(name), { seconds: SECONDS, concurrency: CONCURRENCY, path: "/items", ...(headers ? { headers } : {}) });
    const options = { kubeconfig: [kubeconfig], context: "kbridge-demo", target: { kind: "service" as const, name: "fast", namespace: "routerbench" }, ports: [{ port: 80, workstationPort: (workstation.address() as AddressInfo).port }], log: silentLogger(), timeoutMs: 60_000 };

    const session = await connect({ ...options, isolate: { routingKey: KEY } });
    const direct: number[] = [];
    const routed: number[] = [];
    const keyed: number[] = [];
    let errors = 0;
    try {
      await run("fast"); // warm up both paths
      await run("fast-direct");
      for (let turn = 0; turn < TURNS; turn++) {
        for (const [list, result] of [
          [direct, await run("fast-direct")],
          [routed, await run("fast")],
          [keyed, await run("fast", { "kubernetes-route-as": KEY })],
        ] as const) {
          list.push(result.rps);
          errors += result.errors;
        }
      }
    } finally {
      await session.disconnect();
    }
    // The same workstation reached by kbridge's plain redirection (no router), for the keyed path's scale.
    const plain = await connect(options);
    const redirected: number[] = [];
    try {
      for (let turn = 0; turn < TURNS; turn++) redirected.push((await run("fast-direct")).rps);
    } finally {
      await plain.disconnect();
    }
    const [d, r, k, p] = [direct, routed, keyed, redirected].map(median) as [number, number, number, number];
    console.log(`\nrouter (isolation), ${CONCURRENCY} keep-alive connections, ${SECONDS} s × ${TURNS} turns, medians:`);
    console.log(`  straight to the service   ${d.toFixed(0)} req/s`);
    console.log(`  through the router        ${r.toFixed(0)} req/s   ratio ${(r / d).toFixed(2)}× (no key: to the service's own pod)`);
    console.log(`  with the routing key      ${k.toFixed(0)} req/s   to the workstation; kbridge without isolation: ${p.toFixed(0)} req/s (ratio ${(k / p).toFixed(2)}×)`);
    if (errors > 0) console.log(`  ${errors} request(s) failed`);
  } finally {
    workstation.close();
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
