/**
 * Outbound, measured: the workstation calling a cluster service through kbridge's endpoint
 * (listener → the multiplexed outbound tunnel → agent dials in the cluster) against `kubectl port-forward`
 * to the same pod — HTTP requests/s with keep-alive, and MB/s each way — and connect time
 * with 200 services in the namespace against 5.
 *
 * The cluster runs in this process; the helper, kubectl and the load generator each run in
 * their own.
 */
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sendCommand } from "../helper/client/helperSocket.ts";
import { connectToHelper, type CliConnection } from "../helper/cli/helperConnection.ts";
import type { SessionView } from "../helper/protocol/index.ts";
import { startTestCluster } from "../test/cluster/cluster.ts";
import { kind } from "../test/cluster/controllers/objects.ts";
import { hostnameImage } from "../test/cluster/support/hostnameImage.ts";
import { kubectlFor } from "../test/cluster/support/kubectl.ts";
import { startEntry, waitForOutput, type Started } from "../test/support/kbridgeProcess.ts";
import { freePort } from "../test/support/ports.ts";
import { cpuMeter, download as downloadBytes, kubectlPortForward, load as loadFor, median, MIB, upload as uploadBytes } from "./transfer.ts";
import { deployment, manifests, service } from "../test/support/manifests.ts";

const download = (port: number) => downloadBytes(port, SIZE);
const load = (target: { host: string; port: number }) => loadFor(target, { seconds: LOAD_SECONDS, concurrency: CONCURRENCY, path: "/items" });
const upload = (port: number) => uploadBytes(port, SIZE);

const SIZE = 128 * MIB;
const LOAD_SECONDS = 3;
/** Turns of the req/s load (3 s each) and of the transfers (a second or two each): more of the quick ones, as this machine drifts between turns. */
const TURNS = 5;
const TRANSFER_TURNS = 9;
const CONCURRENCY = 16;
const CONNECT_RUNS = 3;
const ROOT = path.resolve(import.meta.dirname, "..");

// In the cluster: 7001 sends SIZE bytes, 7002 counts what it receives, 7003 answers HTTP.
const BLAST = `
const net = require("net"), http = require("http");
const size = ${SIZE};
const chunk = Buffer.alloc(1024 * 1024, 7);
net.createServer((s) => { let sent = 0; const pump = () => { while (sent < size) { sent += chunk.length; if (!s.write(chunk)) return s.once("drain", pump); } s.end(); }; pump(); }).listen(7001);
net.createServer((s) => { let n = 0; s.on("data", (d) => (n += d.length)); s.on("end", () => s.end(n === size ? "ok" : "short " + n)); }).listen(7002);
const body = JSON.stringify({ items: ["kettle", "teapot", "mug"] });
http.createServer((q, r) => { r.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }); r.end(body); }).listen(7003);
`;

const benchManifests = (namespace: string, extraServices: number) =>
  manifests(
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "blast", namespace, labels: { app: "blast" } },
      spec: { containers: [{ name: "blast", image: "node:22", command: ["node", "-e", BLAST], readinessProbe: { tcpSocket: { port: 7003 }, periodSeconds: 1 } }] },
    },
    service({ name: "blast", namespace, ports: [{ name: "down", port: 7001 }, { name: "up", port: 7002 }, { name: "http", port: 80, targetPort: 7003 }] }),
    service({ name: "blast-direct", namespace, clusterIP: "None", selector: { app: "blast" }, ports: [{ name: "down", port: 7001 }, { name: "up", port: 7002 }, { name: "http", port: 7003 }] }),
    deployment({ name: "front", namespace, image: "echo:1", ports: [{ containerPort: 8080 }] }),
    service({ name: "front", namespace, ports: [{ port: 80, targetPort: 8080 }] }),
    ...Array.from({ length: extraServices }, (_, i) => service({ name: `svc-${i}`, namespace, ports: [{ port: 80, targetPort: 8080 }] })),
  );

/** session:start for `front` in `namespace`; resolves with the connected view and the ms it took. */
async function connectFront(helper: CliConnection, namespace: string, mode: "auto" | "unprivileged"): Promise<{ view: SessionView; ms: number }> {
  const started = Date.now();
  const result = await sendCommand(helper.socket, "session:start", { kubeContext: "kbridge-demo", namespace, targetKind: "service", targetName: "front", ports: [{ port: 80, workstationPort: 1 }], privilegeMode: mode });
  if (!result.ok) throw new Error(result.error.message);
  for (;;) {
    const listed = await sendCommand(helper.socket, "session:list", {});
    const view = listed.ok ? listed.data.find((v) => v.id === result.data.id) : undefined;
    if (view?.state === "connected") return { view, ms: Date.now() - started };
    if (view?.state === "failed") throw new Error(view.error?.message);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function benchOutbound(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kbridge-bench-outbound-"));
  const hostsFile = path.join(dir, "hosts");
  fs.writeFileSync(hostsFile, "127.0.0.1 localhost\n");
  const cluster = await startTestCluster({ images: [hostnameImage("echo")] });
  const children: ChildProcess[] = [];
  let helper: Started | undefined;
  let client: CliConnection | undefined;
  try {
    const kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"));
    const kubectl = kubectlFor(kubeconfig);
    for (const [namespace, extra] of [["few", 2], ["many", 197]] as const) {
      const applied = await kubectl(["apply", "-f", "-"], { stdin: benchManifests(namespace, extra), timeoutMs: 60_000 });
      if (applied.code !== 0) throw new Error(applied.stderr);
    }
    for (;;) {
      const ready = cluster.store.list(kind("Pod")).filter((p) => (p.status as { conditions?: { type: string; status: string }[] }).conditions?.some((c) => c.type === "Ready" && c.status === "True"));
      if (ready.length >= 4) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const env = { ...process.env, KBRIDGE_HOME: path.join(dir, "home"), KUBECONFIG: kubeconfig, KBRIDGE_HELPER_PORT: String(await freePort()), KBRIDGE_HOSTS_FILE: hostsFile };
    helper = startEntry(path.join(ROOT, "helper/main.ts"), env);
    await waitForOutput(helper, /helper listening/, 30_000);
    client = await connectToHelper(env);

    // Connect time: 5 services against 200 (hosts mode when permitted, as users get it).
    const times: Record<string, number[]> = { few: [], many: [] };
    let services: Record<string, number> = {};
    for (let run = 0; run < CONNECT_RUNS; run++) {
      for (const namespace of ["few", "many"]) {
        const { view, ms } = await connectFront(client, namespace, "auto");
        times[namespace]?.push(ms);
        services = { ...services, [namespace]: view.endpoints?.list.length ?? 0 };
        await sendCommand(client.socket, "session:stop", { sessionId: view.id }, 90_000);
      }
    }

    // Throughput: kbridge's endpoint for blast (unprivileged: ports on 127.0.0.1) against kubectl port-forward to the same pod,
    // measured in turns (kubectl, ClusterIP, headless, again) so that the machine's load drifts over all three alike.
    const { view } = await connectFront(client, "few", "unprivileged");
    const forwards = await Promise.all([7003, 7001, 7002].map((remote) => kubectlPortForward({ kubeconfig, namespace: "few", remote })));
    children.push(...forwards.map((f) => f.child));
    const [http, down, up] = forwards.map((f) => f.port) as [number, number, number];
    const kbridgePorts = (key: string) => {
      const endpoint = view.endpoints?.list.find((e) => e.key === key);
      const portOf = (name: string) => endpoint?.ports.find((p) => p.name === name)?.listenPort as number;
      return { http: portOf("http"), down: portOf("down"), up: portOf("up") };
    };
    const paths = { viaKubectl: { http, down, up }, viaKbridge: kbridgePorts("few/blast"), viaKbridgeDirect: kbridgePorts("few/blast-direct") };
    const samples = Object.fromEntries(Object.keys(paths).map((name) => [name, { rps: [] as number[], down: [] as number[], up: [] as number[] }]));
    // The CPU every process on the way spends, per request and per MiB (each phase has its own kubectl).
    const containerPid = (labels: Record<string, string>) => {
      const pod = cluster.store.list(kind("Pod"), "few").find((p) => Object.entries(labels).every(([k, v]) => p.metadata.labels?.[k] === v) && !p.metadata.deletionTimestamp);
      const id = (pod?.status as { containerStatuses?: { containerID?: string }[] } | undefined)?.containerStatuses?.[0]?.containerID ?? "";
      return Number(/^kbridge:\/\/(\d+)$/.exec(id)?.[1] ?? 0);
    };
    const processesWith = (kubectlPid: number) => ({
      "test cluster + load generator": { pid: process.pid, own: true },
      kubectl: { pid: kubectlPid, own: true },
      helper: { pid: helper?.child.pid ?? 0 },
      agent: { pid: containerPid({ "kbridge.dev/role": "agent" }) },
      pod: { pid: containerPid({ app: "blast" }) },
    });
    const phases = [
      { phase: "rps", unit: "request (µs)", scale: 1000, kubectl: forwards[0]?.child.pid ?? 0 },
      { phase: "down", unit: "MiB downloaded (ms)", scale: 1, kubectl: forwards[1]?.child.pid ?? 0 },
      { phase: "up", unit: "MiB uploaded (ms)", scale: 1, kubectl: forwards[2]?.child.pid ?? 0 },
    ] as const;
    type Meter = { cpu: ReturnType<typeof cpuMeter>; units: number };
    const meters: Record<string, Meter> = {};
    for (const { phase, kubectl: pid } of phases) for (const name of Object.keys(paths)) meters[`${phase} ${name}`] = { cpu: cpuMeter(processesWith(pid)), units: 0 };
    const metered = async (key: string, run: () => Promise<{ value: number; units: number }>) => {
      const meter = meters[key] as Meter;
      meter.cpu.start();
      const { value, units } = await run();
      meter.cpu.stop();
      meter.units += units;
      return value;
    };
    // A first turn of everything on every path, not counted: JIT, heaps and socket buffers
    // grow on the first use of each path, kubectl's as kbridge's.
    for (const ports of Object.values(paths)) {
      await load({ host: "127.0.0.1", port: ports.http });
      await download(ports.down);
      await upload(ports.up);
    }
    for (let turn = 0; turn < Math.max(TURNS, TRANSFER_TURNS); turn++) {
      for (const [name, ports] of Object.entries(paths)) {
        const sample = samples[name] as { rps: number[]; down: number[]; up: number[] };
        if (turn < TURNS) sample.rps.push(await metered(`rps ${name}`, async () => load({ host: "127.0.0.1", port: ports.http }).then((r) => ({ value: r.rps, units: r.requests }))));
        if (turn >= TRANSFER_TURNS) continue;
        sample.down.push(await metered(`down ${name}`, async () => ({ value: await download(ports.down), units: SIZE / MIB })));
        sample.up.push(await metered(`up ${name}`, async () => ({ value: await upload(ports.up), units: SIZE / MIB })));
      }
    }
    await sendCommand(client.socket, "session:stop", { sessionId: view.id }, 90_000);
    const result = (name: keyof typeof paths) => {
      const sample = samples[name] as { rps: number[]; down: number[]; up: number[] };
      return { rps: median(sample.rps), down: median(sample.down), up: median(sample.up) };
    };
    const [viaKubectl, viaKbridge, viaKbridgeDirect] = [result("viaKubectl"), result("viaKbridge"), result("viaKbridgeDirect")];

    console.log(`\noutbound: the workstation calling a cluster service (${SIZE / MIB} MiB transfers, HTTP ${CONCURRENCY} keep-alive connections for ${LOAD_SECONDS} s; after a turn not counted, medians of ${TURNS} turns of load and ${TRANSFER_TURNS} of transfers, the three paths in turn)`);
    const row = (name: string, r: typeof viaKbridge) => `  ${name.padEnd(34)} ${r.rps.toFixed(0).padStart(6)} req/s   download ${r.down.toFixed(0).padStart(4)} MB/s   upload ${r.up.toFixed(0).padStart(4)} MB/s`;
    const labels = { viaKbridge: "kbridge → service's ClusterIP", viaKbridgeDirect: "kbridge → pod (headless name)", viaKubectl: "kubectl port-forward to the pod" } as const;
    console.log(row(labels.viaKbridge, viaKbridge));
    console.log(row(labels.viaKbridgeDirect, viaKbridgeDirect));
    console.log(row(labels.viaKubectl, viaKubectl));
    const ratio = (r: typeof viaKbridge) => `${(r.rps / viaKubectl.rps).toFixed(2)}x req/s, ${(r.down / viaKubectl.down).toFixed(2)}x download, ${(r.up / viaKubectl.up).toFixed(2)}x upload`;
    console.log(`  ratio kbridge / kubectl (goal ≥ 1.0): through the ClusterIP ${ratio(viaKbridge)}; to the pod like kubectl ${ratio(viaKbridgeDirect)}`);
    console.log(`  each turn (the machine's drift shows here):`);
    for (const [name, label] of [["viaKubectl", "kubectl"], ["viaKbridge", "kbridge ClusterIP"], ["viaKbridgeDirect", "kbridge pod"]] as const) {
      const sample = samples[name] as { rps: number[]; down: number[]; up: number[] };
      const list = (values: number[]) => values.map((v) => v.toFixed(0)).join(" ");
      console.log(`    ${label.padEnd(18)} req/s ${list(sample.rps)} · download ${list(sample.down)} · upload ${list(sample.up)}`);
    }
    const names = Object.keys(processesWith(0));
    const width = (n: string) => Math.max(n.length, 8);
    for (const { phase, unit, scale } of phases) {
      console.log(`\n  CPU per ${unit}, user + system, all counted turns:`);
      console.log(`  ${"".padEnd(34)} ${[...names, "total"].map((n) => n.padStart(width(n))).join(" ")}`);
      for (const name of ["viaKubectl", "viaKbridge", "viaKbridgeDirect"] as const) {
        const label = labels[name];
        const meter = meters[`${phase} ${name}`] as Meter;
        const spent = meter.cpu.spent();
        const per = (ms: number) => ((ms * scale) / Math.max(1, meter.units)).toFixed(scale === 1 ? 1 : 0);
        const total = Object.values(spent).reduce((a, b) => a + b, 0);
        console.log(`  ${label.padEnd(34)} ${[...names.map((n) => per(spent[n] ?? 0).padStart(width(n))), per(total).padStart(width("total"))].join(" ")}`);
      }
    }
    console.log(`\nconnect time by namespace size (median of ${CONNECT_RUNS}, hosts mode)`);
    console.log(`  ${String(services.few).padStart(3)} services: ${median(times.few ?? [])} ms (runs: ${(times.few ?? []).join(", ")})`);
    console.log(`  ${String(services.many).padStart(3)} services: ${median(times.many ?? [])} ms (runs: ${(times.many ?? []).join(", ")})`);
    console.log(`  ratio: ${(median(times.many ?? []) / median(times.few ?? [])).toFixed(2)}x (goal ≤ 2)`);
  } finally {
    for (const child of children) child.kill();
    client?.socket.close();
    await helper?.stop();
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
