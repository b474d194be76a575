/**
 * One pod on the node: its IP, volumes and containers, restarts by restartPolicy with
 * back-off (10 s doubling to 5 min, scaled by `backoffBaseMs`), readiness, and the status
 * kubectl and controllers read. Stopped by `terminate` (graceful) when the pod is deleted.
 */
import fs from "node:fs";
import path from "node:path";
import { kind, now, obj, recordEvent, type Any } from "../controllers/objects.ts";
import type { KubeObject, ObjectStore } from "../apiserver/store.ts";
import { ContainerRunner, type Mount } from "./containerRunner.ts";
import { processIdentity, RunAsRootError, type ProcessIdentity } from "./securityContext.ts";
import { buildEnvironment, ContainerConfigError, expand } from "./environment.ts";
import type { ImageResolver } from "./images.ts";
import type { MountPointRegistry } from "./mountPoints.ts";
import { materializeVolumes } from "./volumes.ts";

export interface PodWorkerDeps {
  store: ObjectStore;
  images: ImageResolver;
  /** Folder for this pod's volumes and logs. */
  podDir: string;
  podIp: string;
  /** The pod range and the NetworkPolicy socket, for the bind shim (the node's CNI). */
  network: { podPrefix: string; policySocket: string };
  /** Added capabilities work for non-root users; false: the runtime drops them. */
  nonRootCapabilities: boolean;
  bindShim: string;
  useMountNamespace: boolean;
  /** Node-wide count of the mount points pods created on the node. */
  mountPoints: MountPointRegistry;
  backoffBaseMs: number;
  serviceAccountToken(pod: KubeObject): string;
  /** Pod-level files mounted into every container (/etc/resolv.conf, /etc/hosts). */
  podMounts(pod: KubeObject, podIp: string, podDir: string): Mount[];
}

type Waiting = { reason: string; message: string };

export class PodWorker {
  private runners = new Map<string, ContainerRunner>();
  private waiting = new Map<string, Waiting>();
  private ready = new Map<string, boolean>();
  private retryTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  /** Liveness bookkeeping per container (reset when it restarts). */
  private readonly liveness = new Map<string, { lastAt: number; failures: number; restarts: number }>();
  private statusQueued = false;
  private terminating = false;
  /** Mount targets of this pod's containers, released when it goes. */
  private mountTargets: string[] = [];
  private readonly startTime = now();

  constructor(
    private pod: KubeObject,
    private readonly deps: PodWorkerDeps,
  ) {}

  get name(): string {
    return `${this.pod.metadata.namespace}/${this.pod.metadata.name}`;
  }

  containers(): Any[] {
    return ((this.pod.spec as Any).containers as Any[] | undefined) ?? [];
  }

  runner(container: string): ContainerRunner | undefined {
    return this.runners.get(container);
  }

  start(): void {
    this.attempt();
    this.probeTimer = setInterval(() => void this.probe(), 1000);
    this.probeTimer.unref();
  }

  /** Creates whatever containers are not yet running; retried while something is missing (image, ConfigMap…). */
  private attempt(): void {
    if (this.terminating) return;
    const { store, podDir } = this.deps;
    const namespace = this.pod.metadata.namespace;
    const sources = {
      pod: this.withIp(),
      configMap: (name: string) => store.find(kind("ConfigMap"), namespace, name),
      secret: (name: string) => store.find(kind("Secret"), namespace, name),
    };
    let folders: Map<string, string>;
    try {
      folders = materializeVolumes(path.join(podDir, "volumes"), { ...sources, serviceAccountToken: this.deps.serviceAccountToken });
    } catch (error) {
      if (!(error instanceof ContainerConfigError)) throw error;
      for (const container of this.containers()) this.waiting.set(String(container.name), { reason: "CreateContainerConfigError", message: error.message });
      return this.retryLater(2000);
    }
    let missing = false;
    for (const container of this.containers()) {
      const name = String(container.name);
      if (this.runners.has(name)) continue;
      const image = String(container.image ?? "");
      const program = this.deps.images(image, (container.command as string[] | undefined) ?? [], (container.args as string[] | undefined) ?? []);
      if (!program) {
        const previous = this.waiting.get(name);
        this.waiting.set(name, {
          reason: previous?.reason === "ErrImagePull" || previous?.reason === "ImagePullBackOff" ? "ImagePullBackOff" : "ErrImagePull",
          message: previous ? `Back-off pulling image "${image}"` : `Failed to pull image "${image}": rpc error: code = NotFound desc = failed to pull and unpack image "${image}": not found (the kbridge test cluster maps node:<version> and registered demo images only)`,
        });
        missing = true;
        continue;
      }
      let env: Record<string, string>;
      try {
        env = buildEnvironment(container, { ...sources, services: this.services(), hostIP: "127.0.0.1" });
      } catch (error) {
        if (!(error instanceof ContainerConfigError)) throw error;
        this.waiting.set(name, { reason: "CreateContainerConfigError", message: error.message });
        missing = true;
        continue;
      }
      let identity: ProcessIdentity;
      try {
        identity = processIdentity(this.pod, container);
        if (!this.deps.nonRootCapabilities && identity.uid !== 0) identity = { ...identity, netBindService: false };
      } catch (error) {
        if (!(error instanceof RunAsRootError)) throw error;
        this.waiting.set(name, { reason: "CreateContainerConfigError", message: error.message });
        missing = true;
        continue;
      }
      const fullEnv: Record<string, string> = {
        PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
        HOSTNAME: String(this.pod.metadata.name),
        HOME: identity.uid === 0 ? "/root" : "/",
        ...env,
        KBRIDGE_POD_IP: this.deps.podIp,
        KBRIDGE_POD_PREFIX: this.deps.network.podPrefix,
        KBRIDGE_POLICY_SOCKET: this.deps.network.policySocket,
        ...(identity.netBindService ? {} : { KBRIDGE_DENY_LOW_PORTS: "1" }),
      };
      const lookup = (key: string) => fullEnv[key as keyof typeof fullEnv];
      const mounts: Mount[] = [
        ...this.deps.podMounts(this.pod, this.deps.podIp, this.deps.podDir),
        ...(((container.volumeMounts as Any[] | undefined) ?? []).map((mount) => {
          const folder = folders.get(String(mount.name));
          if (!folder) throw new Error(`volumeMount ${String(mount.name)} names no volume`);
          return { source: mount.subPath ? path.join(folder, String(mount.subPath)) : folder, target: String(mount.mountPath), readOnly: mount.readOnly === true };
        }) as Mount[]),
      ];
      this.waiting.delete(name);
      if (this.deps.useMountNamespace) {
        const targets = mounts.map((m) => m.target);
        this.deps.mountPoints.acquire(targets);
        this.mountTargets.push(...targets);
      }
      const runner = new ContainerRunner(
        {
          name,
          program: { command: program.command, args: program.args.map((arg) => expand(arg, lookup)) },
          env: fullEnv,
          identity,
          readOnlyRoot: (container.securityContext as Any | undefined)?.readOnlyRootFilesystem === true,
          workingDir: container.workingDir as string | undefined,
          mounts,
          logDir: path.join(podDir, "logs", name),
        },
        { onChange: () => this.onContainerChange(name) },
        { useMountNamespace: this.deps.useMountNamespace, bindShim: this.deps.bindShim },
      );
      this.runners.set(name, runner);
      runner.start();
    }
    this.queueStatus();
    if (missing) this.retryLater(this.deps.backoffBaseMs);
  }

  private retryLater(ms: number): void {
    this.queueStatus();
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.attempt(), ms);
    this.retryTimer.unref();
  }

  private onContainerChange(name: string): void {
    const runner = this.runners.get(name);
    if (!runner) return;
    if ("terminated" in runner.state && !this.terminating) {
      this.ready.set(name, false);
      const policy = String((this.pod.spec as Any).restartPolicy ?? "Always");
      const failed = runner.state.terminated.exitCode !== 0;
      if (policy === "Always" || (policy === "OnFailure" && failed)) {
        const delay = Math.min(this.deps.backoffBaseMs * 2 ** runner.restartCount, this.deps.backoffBaseMs * 30);
        runner.scheduleRestart(delay);
      }
    }
    this.queueStatus();
  }

  /**
   * Probes, checked every second. Readiness: httpGet / tcpSocket (others pass); containers
   * without one are ready while running. Liveness: after initialDelaySeconds, every
   * periodSeconds; failureThreshold failures in a row restart the container, as the kubelet does.
   */
  private async probe(): Promise<void> {
    for (const container of this.containers()) {
      const name = String(container.name);
      const runner = this.runners.get(name);
      let ready = runner?.running ?? false;
      const probe = container.readinessProbe as Any | undefined;
      if (ready && probe) ready = await runProbe(probe, container, this.deps.podIp);
      if (this.ready.get(name) !== ready) {
        this.ready.set(name, ready);
        this.queueStatus();
      }
      const liveness = container.livenessProbe as Any | undefined;
      if (runner?.running && liveness) await this.checkLiveness(name, runner, liveness, container);
    }
  }

  private async checkLiveness(name: string, runner: ContainerRunner, probe: Any, container: Any): Promise<void> {
    const state = this.liveness.get(name) ?? { lastAt: 0, failures: 0, restarts: -1 };
    if (state.restarts !== runner.restartCount) Object.assign(state, { lastAt: 0, failures: 0, restarts: runner.restartCount });
    this.liveness.set(name, state);
    const startedAt = Date.parse(String((runner.state as { running?: { startedAt?: string } }).running?.startedAt ?? ""));
    const now = Date.now();
    if (now - startedAt < Number(probe.initialDelaySeconds ?? 0) * 1000 || now - state.lastAt < Number(probe.periodSeconds ?? 10) * 1000) return;
    state.lastAt = now;
    if (await runProbe(probe, container, this.deps.podIp)) {
      state.failures = 0;
      return;
    }
    state.failures += 1;
    if (state.failures < Number(probe.failureThreshold ?? 3)) return;
    state.failures = 0;
    recordEvent(this.deps.store, this.pod, "Warning", "Unhealthy", `Liveness probe failed; container ${name} will be restarted`, "kubelet");
    runner.kill(Number((this.pod.spec as Any).terminationGracePeriodSeconds ?? 30));
  }

  private services(): KubeObject[] {
    return [...this.deps.store.list(kind("Service"), this.pod.metadata.namespace), ...(this.pod.metadata.namespace === "default" ? [] : this.deps.store.list(kind("Service"), "default").filter((s) => s.metadata.name === "kubernetes"))];
  }

  private withIp(): KubeObject {
    return { ...this.pod, status: { ...obj(this.pod.status), podIP: this.deps.podIp } };
  }

  private queueStatus(): void {
    if (this.statusQueued) return;
    this.statusQueued = true;
    setImmediate(() => {
      this.statusQueued = false;
      this.writeStatus();
    });
  }

  private writeStatus(): void {
    const { store } = this.deps;
    const current = store.find(kind("Pod"), this.pod.metadata.namespace, this.pod.metadata.name ?? "");
    if (!current || current.metadata.uid !== this.pod.metadata.uid) return;
    this.pod = current;
    const statuses = this.containers().map((container) => {
      const name = String(container.name);
      const runner = this.runners.get(name);
      const waiting = this.waiting.get(name);
      return {
        name,
        image: String(container.image),
        imageID: `kbridge://${String(container.image)}`,
        ...(runner?.pid ? { containerID: `kbridge://${runner.pid}` } : {}),
        ready: this.ready.get(name) === true,
        started: runner?.running ?? false,
        restartCount: runner?.restartCount ?? 0,
        state: waiting ? { waiting } : (runner?.state ?? { waiting: { reason: "ContainerCreating" } }),
        lastState: runner?.lastState ?? {},
      };
    });
    const policy = String((this.pod.spec as Any).restartPolicy ?? "Always");
    const allTerminated = statuses.length > 0 && statuses.every((s) => "terminated" in s.state);
    const phase =
      allTerminated && policy !== "Always"
        ? statuses.every((s) => (s.state as { terminated: { exitCode: number } }).terminated.exitCode === 0) ? "Succeeded" : "Failed"
        : statuses.some((s) => s.started || s.restartCount > 0) ? "Running" : "Pending";
    const allReady = statuses.length > 0 && statuses.every((s) => s.ready);
    const previous = ((obj(this.pod.status).conditions as Any[] | undefined) ?? []);
    const condition = (type: string, status: boolean) => {
      const before = previous.find((c) => c.type === type);
      const value = status ? "True" : "False";
      return { type, status: value, lastProbeTime: null, lastTransitionTime: before?.status === value ? before.lastTransitionTime : now(), ...(status || type === "PodScheduled" || type === "Initialized" ? {} : { reason: "ContainersNotReady", message: `containers with unready status: [${statuses.filter((s) => !s.ready).map((s) => s.name).join(" ")}]` }) };
    };
    try {
      store.update(kind("Pod"), {
        ...this.pod,
        metadata: { ...this.pod.metadata, resourceVersion: undefined },
        status: {
          phase,
          conditions: [condition("PodReadyToStartContainers", true), condition("Initialized", true), condition("Ready", allReady), condition("ContainersReady", allReady), condition("PodScheduled", true)],
          hostIP: "127.0.0.1",
          hostIPs: [{ ip: "127.0.0.1" }],
          podIP: this.deps.podIp,
          podIPs: [{ ip: this.deps.podIp }],
          startTime: this.startTime,
          qosClass: "BestEffort",
          containerStatuses: statuses,
        },
      });
    } catch {
      // The pod was deleted meanwhile.
    }
  }

  /** Stops every container (SIGTERM, SIGKILL after the grace period) and removes the pod's files. */
  async terminate(graceSeconds: number): Promise<void> {
    if (this.terminating) return;
    this.terminating = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.probeTimer);
    await Promise.all([...this.runners.values()].map((runner) => runner.stop(graceSeconds)));
    this.deps.mountPoints.release(this.mountTargets);
    fs.rmSync(this.deps.podDir, { recursive: true, force: true });
  }
}

async function runProbe(probe: Any, container: Any, podIp: string): Promise<boolean> {
  const port = (spec: Any) => {
    const value = spec.port;
    if (typeof value === "number") return value;
    const named = ((container.ports as Any[] | undefined) ?? []).find((p) => p.name === value);
    return Number(named?.containerPort ?? value);
  };
  const timeoutMs = Number(probe.timeoutSeconds ?? 1) * 1000;
  try {
    if (probe.httpGet) {
      const spec = probe.httpGet as Any;
      // As the kubelet sends them: its User-Agent, then the probe's own headers.
      const headers: Record<string, string> = { "user-agent": "kube-probe/1.32", accept: "*/*" };
      for (const header of (spec.httpHeaders as { name: string; value: string }[] | undefined) ?? []) headers[header.name.toLowerCase()] = header.value;
      const response = await fetch(`http://${podIp}:${port(spec)}${String(spec.path ?? "/")}`, { headers, signal: AbortSignal.timeout(timeoutMs) });
      await response.body?.cancel();
      return response.status >= 200 && response.status < 400;
    }
    if (probe.tcpSocket) {
      const { connect } = await import("node:net");
      return await new Promise<boolean>((resolve) => {
        const socket = connect({ host: podIp, port: port(probe.tcpSocket as Any), timeout: timeoutMs }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.on("error", () => resolve(false));
        socket.on("timeout", () => {
          socket.destroy();
          resolve(false);
        });
      });
    }
    return true;
  } catch {
    return false;
  }
}
