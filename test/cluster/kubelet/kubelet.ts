/**
 * The node agent: runs a PodWorker for every pod bound to the node, finishes graceful
 * deletions (SIGTERM, grace period, then the pod object goes), kills the processes of pods
 * deleted outright, and serves container logs. `stop()` ends every pod process.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { AddressPool, NODE_NAME } from "../addresses.ts";
import type { KubeObject, ObjectStore, StoredEvent } from "../apiserver/store.ts";
import { kind } from "../controllers/objects.ts";
import { bindShimLibrary } from "./bindShim.ts";
import type { Mount } from "./containerRunner.ts";
import type { ImageResolver } from "./images.ts";
import type { PodLogSource } from "../apiserver/rest.ts";
import type { ExecTarget } from "../streams/exec.ts";
import { MountPointRegistry } from "./mountPoints.ts";
import { PodWorker } from "./podWorker.ts";
import { startPolicyServer } from "../network/networkPolicy.ts";

export interface KubeletOptions {
  store: ObjectStore;
  images: ImageResolver;
  /** Registers a service-account token with the API server, which then accepts it. */
  registerToken(token: string, pod: KubeObject): void;
  /** First two octets of this cluster's pod range ("127.20"). */
  podPrefix: string;
  /** Base of the restart and image-pull back-off (kubelet's is 10 s). */
  backoffBaseMs?: number;
  /** Added capabilities work for non-root users (TestClusterOptions.nonRootCapabilities). */
  nonRootCapabilities?: boolean;
  /** Pod-level files (resolv.conf, hosts) written into `podDir` and mounted into every container. */
  podMounts?(pod: KubeObject, podIp: string, podDir: string): Mount[];
}

export interface Kubelet {
  /** Where `exec` runs for a container: its process (for its mount namespace) and environment. */
  execTarget(namespace: string, pod: string, container: string): ExecTarget | { error: string };
  /** The CRI log file of a container's current (or previous) run, or a reason there is none. */
  logFile(namespace: string, pod: string, container: string, previous: boolean): PodLogSource | { error: string };
  podIps: AddressPool;
  stop(): Promise<void>;
}

export function startKubelet(options: KubeletOptions): Kubelet {
  const { store } = options;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "kbridge-node-"));
  // Traversable by the pods' users (they reach the policy socket), not listable.
  fs.chmodSync(root, 0o711);
  const policies = startPolicyServer(store, path.join(root, "network-policy.sock"));
  const bindShim = bindShimLibrary();
  const useMountNamespace = process.getuid?.() === 0;
  const podIps = new AddressPool(options.podPrefix);
  const mountPoints = new MountPointRegistry();
  const workers = new Map<string, { worker: PodWorker; uid: string; ip: string }>();

  const key = (pod: KubeObject) => `${pod.metadata.namespace}/${pod.metadata.name}`;

  const admit = (pod: KubeObject) => {
    if ((pod.spec as { nodeName?: string }).nodeName !== NODE_NAME || workers.has(key(pod))) return;
    const ip = podIps.allocate();
    const worker = new PodWorker(pod, {
      store,
      images: options.images,
      podDir: path.join(root, String(pod.metadata.uid)),
      podIp: ip,
      network: { podPrefix: options.podPrefix, policySocket: policies.socket },
      nonRootCapabilities: options.nonRootCapabilities ?? true,
      bindShim,
      useMountNamespace,
      mountPoints,
      backoffBaseMs: options.backoffBaseMs ?? 10_000,
      serviceAccountToken: (p) => {
        const token = randomBytes(32).toString("base64url");
        options.registerToken(token, p);
        return token;
      },
      podMounts: options.podMounts ?? (() => []),
    });
    workers.set(key(pod), { worker, uid: String(pod.metadata.uid), ip });
    worker.start();
  };

  const remove = async (pod: KubeObject, graceSeconds: number) => {
    const entry = workers.get(key(pod));
    if (!entry || entry.uid !== pod.metadata.uid) return;
    await entry.worker.terminate(graceSeconds);
    workers.delete(key(pod));
    podIps.release(entry.ip);
  };

  const onEvent = (event: StoredEvent) => {
    if (event.resource.kind !== "Pod") return;
    const pod = event.object;
    if (event.type === "DELETED") return void remove(pod, 0);
    if (pod.metadata.deletionTimestamp) {
      const grace = Number(pod.metadata.deletionGracePeriodSeconds ?? 30);
      void remove(pod, grace).then(() => {
        const current = store.find(kind("Pod"), pod.metadata.namespace, pod.metadata.name ?? "");
        if (current && current.metadata.uid === pod.metadata.uid) store.delete(kind("Pod"), pod.metadata.namespace, pod.metadata.name ?? "");
      });
      return;
    }
    admit(pod);
  };

  const unsubscribe = store.watch(Number(store.resourceVersion), onEvent);
  for (const pod of store.list(kind("Pod"))) admit(pod);

  return {
    podIps,
    execTarget(namespace, podName, container) {
      const runner = workers.get(`${namespace}/${podName}`)?.worker.runner(container);
      if (!runner?.running) return { error: `container ${container} is not running in pod ${podName}` };
      return { pid: runner.pid, env: { ...runner.spec.env, LD_PRELOAD: bindShim }, enterNamespace: useMountNamespace };
    },
    logFile(namespace, podName, container, previous) {
      const entry = workers.get(`${namespace}/${podName}`);
      const runner = entry?.worker.runner(container);
      if (!entry || !runner) return { error: `container "${container}" in pod "${podName}" is waiting to start: ContainerCreating` };
      if (previous && runner.restartCount === 0) return { error: `previous terminated container "${container}" in pod "${podName}" not found` };
      const file = runner.logFile(previous);
      return { file, active: () => !previous && workers.get(`${namespace}/${podName}`) === entry && runner.running && runner.logFile() === file };
    },
    async stop() {
      unsubscribe();
      await Promise.all([...workers.values()].map(({ worker }) => worker.terminate(2)));
      workers.clear();
      mountPoints.close();
      await policies.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
