/**
 * A connect, end to end: resolve the target, save and replace it with the agent, wait for
 * the agent pods, keep one tunnel per agent pod (every replica forwards), and restore on
 * disconnect — or at once when any step after the change fails, leaving the cluster as it was.
 * A resume takes over a session another helper process left in the cluster.
 */
import os from "node:os";
import { KbridgeError } from "../protocol/index.ts";
import { openCluster, type ClusterConnection } from "../k8s/clusterConnection.ts";
import { findTarget } from "../k8s/findTarget.ts";
import { waitForAgentPods, waitForOriginalsRetired } from "../k8s/agentPods.ts";
import type { AgentOptions } from "../k8s/agentTemplate.ts";
import { replaceWithAgent } from "../k8s/agentWorkload.ts";
import { namespaceAssignsUsers } from "../k8s/podSecurity.ts";
import { preflight, preflightError, type PreflightReport } from "../k8s/preflight.ts";
import type { SessionIdentity } from "../k8s/sessionLabels.ts";
import { renewHeartbeat } from "../k8s/sessionObjects.ts";
import { startHeartbeat, type Heartbeat } from "./heartbeat.ts";
import { readLocalProcessConfig, type LocalProcessConfig } from "../environment/localProcessConfig.ts";
import { checkIsolation, routeIsolation, startIsolatedAgent } from "../k8s/isolation.ts";
import { restoreSession } from "../k8s/sessionRestore.ts";
import { checkRouting } from "./routeCheck.ts";
import { defaultRoutingKey } from "../shared/routingKey.ts";
import { AgentTunnels } from "./agentTunnels.ts";
import { prepareWorkstation } from "./workstationEnvironment.ts";
import { DEFAULT_AGENT_IMAGE, newPlan, restoreSummary, routeTable, stepper, workloadOf, type ConnectedSession, type ConnectOptions, type ResumeOptions, type SessionCallbacks, type SessionPlan } from "./sessionPlan.ts";

export async function connect(options: ConnectOptions & Omit<SessionCallbacks, "log"> & { onPlan?(plan: SessionPlan): void; onPreflight?(report: PreflightReport): void }): Promise<ConnectedSession> {
  const step = stepper(options.onStep);
  // A broken config file fails here, before anything in the cluster changes.
  const config = options.configFile
    ? await step(
        "read config file",
        async () => readLocalProcessConfig(options.configFile as string),
        (c) => `${c.env.length} variable(s), ${c.volumeMounts.length} volume(s)${c.warnings.length ? `; ${c.warnings.join("; ")}` : ""}`,
      )
    : undefined;
  const connection = openCluster(options.kubeconfig, options.context);
  const target = await step("resolve target", () => findTarget(connection, options.target), (t) => `${t.workload.kind} ${t.workload.name}, container ${t.container} (${t.containerReason}), ${t.workload.replicas} replica(s)`);
  const routes = routeTable(target, options.ports);
  const routingKey = options.isolate ? options.isolate.routingKey || defaultRoutingKey(os.userInfo().username) : undefined;
  if (routingKey) await step("check isolation", () => checkIsolation(connection, target, routingKey), () => `routing key ${routingKey}`);
  const plan = newPlan(options, target, routes, routingKey, config);
  options.onPlan?.(plan);
  const agent: AgentOptions = {
    image: plan.agentImage ?? DEFAULT_AGENT_IMAGE,
    inboundPort: plan.inboundPort,
    outboundPort: plan.outboundPort,
    helperKey: plan.helperKey?.publicKey ?? "",
    keep: { probes: (options.keep?.probes ?? false) || (config?.features.probes ?? false), lifecycleHooks: (options.keep?.lifecycleHooks ?? false) || (config?.features.lifecycleHooks ?? false) },
    deadmanSeconds: plan.deadmanSeconds,
    assignsUsers: await namespaceAssignsUsers(connection, target.namespace),
    ...(plan.podResources ? { podResources: plan.podResources } : {}),
  };
  // Nothing has changed yet: a failed check fails here, naming what to do.
  const report = await step(
    "preflight",
    async () => {
      const result = await preflight(connection, target, agent, routingKey !== undefined);
      options.onPreflight?.(result);
      const failure = preflightError(result);
      if (failure) throw failure;
      return result;
    },
    (r) => `${r.checks.length} checks passed in ${r.ms} ms${r.restorerAccount ? `; the restorer runs as ${r.restorerAccount}` : ""}`,
  );
  if (report.restorerAccount) agent.restorerAccount = report.restorerAccount;
  const session: SessionIdentity = { id: plan.id, owner: plan.owner, expiresAt: new Date(Date.now() + 8 * 3600_000) };
  const log = options.log.child({ session: session.id });
  const heartbeat = startHeartbeat(connection, plan, log, options.onClusterUnreachable);
  try {
    const pods = await deployAgent(connection, plan, session, agent, { ...options, log }, options.timeoutMs ?? 60_000);
    return await attach(connection, plan, pods, heartbeat, { ...options, log }, config);
  } catch (error) {
    heartbeat.stop();
    try {
      await restoreSession(connection, target.namespace, session.id, { workload: workloadOf(plan), log });
    } catch (restoreError) {
      // What failed first is what the user needs, and that the cluster is not back yet.
      log.error({ err: (restoreError as Error).message }, "connect failed, and so did undoing it");
      const info = error instanceof KbridgeError ? error.info : { code: "connect-failed", category: "cluster" as const, message: `Connect failed: ${(error as Error).message}.` };
      throw new KbridgeError(
        { ...info, message: `${info.message} Undoing what connect had changed failed too: ${(restoreError as Error).message}`, hint: "Run `kbridge clean` to finish putting the cluster back (the session's restorer pod also retries on its own)." },
        { cause: error },
      );
    }
    throw error;
  }
}

/** Puts the agent in (a new pod for isolation, else in place of the workload's container) and waits for its pods to be ready. */
async function deployAgent(connection: ClusterConnection, plan: SessionPlan, session: SessionIdentity, agent: AgentOptions, callbacks: SessionCallbacks & { onPlan?(plan: SessionPlan): void }, timeoutMs: number): Promise<string[]> {
  const step = stepper(callbacks.onStep);
  const { target } = plan;
  const namespace = target.namespace;
  if (plan.isolation) {
    const isolation = plan.isolation;
    // The workload keeps serving: the agent is a new pod, and routers send it only the key's requests.
    await step("deploy agent", () => startIsolatedAgent(connection, target, session, isolation.routingKey, agent), (pod) => `${pod}, a clone of ${target.workload.kind.toLowerCase()} ${target.workload.name}'s pod`);
    const pods = await step("wait for agent pods", () => waitForAgentPods(connection, namespace, session.id, 1, timeoutMs), (p) => `${p.join(", ")} ready`);
    const { routed, urls } = await step(
      "route requests",
      () => routeIsolation(connection, target, session, isolation.routingKey, { image: agent.image, podResources: agent.podResources, log: callbacks.log }),
      (r) => `routers in front of ${r.routed.join(", ")}; ${r.urls.length ? `personal URL(s) ${r.urls.join(", ")}` : "no ingress host, so no personal URL"}`,
    );
    plan.isolation = { ...isolation, routed, urls };
    callbacks.onPlan?.(plan);
    return pods;
  }
  // Inside the rollback: a failure half-way through the replacement (a forbidden Role, say) is undone too.
  const { podLabels } = await step("deploy agent", () => replaceWithAgent(connection, target, session, agent));
  return step(
    "wait for agent pods",
    async () => {
      const deadline = Date.now() + timeoutMs;
      const ready = await waitForAgentPods(connection, namespace, session.id, target.workload.replicas, timeoutMs);
      await waitForOriginalsRetired(connection, namespace, podLabels, session.id, Math.max(1000, deadline - Date.now()));
      return ready;
    },
    (p) => `${p.join(", ")} ready; the workload's own pods retired`,
  );
}

/**
 * Takes over a session a stopped helper left in the cluster: renews its heartbeat before
 * the restorer gives up on it, and opens tunnels to its agent pods again.
 */
export async function resume(options: ResumeOptions): Promise<ConnectedSession> {
  const step = stepper(options.onStep);
  const { plan } = options;
  const connection = openCluster(options.kubeconfig, options.context);
  const log = options.log.child({ session: plan.id });
  const namespace = plan.target.namespace;
  const heartbeat = startHeartbeat(connection, plan, log, options.onClusterUnreachable);
  await step("reclaim session", async () => {
    if (!(await renewHeartbeat(connection, namespace, plan.id, heartbeat.next()))) {
      throw new KbridgeError({
        code: "session-gone",
        category: "cluster",
        message: `Session ${plan.id} is no longer in the cluster: its restorer already put ${plan.target.workload.kind} ${plan.target.workload.name} back.`,
        hint: "Connect again.",
      });
    }
  }).catch((error: unknown) => {
    heartbeat.stop();
    throw error;
  });
  try {
    const pods = await step("wait for agent pods", () => waitForAgentPods(connection, namespace, plan.id, plan.isolation ? 1 : plan.target.workload.replicas, options.timeoutMs ?? 60_000), (p) => `${p.join(", ")} ready`);
    return await attach(connection, plan, pods, heartbeat, { ...options, log });
  } catch (error) {
    // The agent is still in place: leave it to a clean or to the restorer, as before the resume.
    heartbeat.stop();
    throw error;
  }
}

/**
 * The connected part of a session: tunnels to every agent pod, kept; for isolation, the check
 * that the key routes; the workstation's services and environment. `config`: the plan's
 * config file as connect already read it (a resume reads it again).
 */
async function attach(connection: ClusterConnection, plan: SessionPlan, pods: string[], heartbeat: Heartbeat, callbacks: SessionCallbacks, config?: LocalProcessConfig): Promise<ConnectedSession> {
  const step = stepper(callbacks.onStep);
  const tunnels = new AgentTunnels(connection, plan, callbacks);
  let active = true;
  let workstation: Awaited<ReturnType<typeof prepareWorkstation>> | undefined;
  const shutDown = async () => {
    active = false;
    heartbeat.stop();
    await workstation?.close();
    tunnels.close();
  };
  try {
    await step(
      "open tunnels",
      () => tunnels.open(pods),
      () => `${tunnels.links().inbound.length} inbound, 1 outbound`,
    );
    tunnels.keep();
    const isolation = plan.isolation;
    const servicePort = plan.target.ports.find((p) => p.servicePort !== undefined)?.servicePort;
    if (isolation && plan.target.service && servicePort !== undefined) {
      const personalHosts = isolation.urls.map((url) => new URL(url).hostname);
      await step("check routing", () => checkRouting({ dial: tunnels.dial, service: plan.target.service as string, namespace: plan.target.namespace, port: servicePort, sessionId: plan.id, routingKey: isolation.routingKey, personalHosts }), (detail) => detail);
    }
    workstation = await prepareWorkstation({ connection, plan, pod: pods[0] as string, tunnels, step, callbacks, ...(config ? { config } : {}) });
  } catch (error) {
    await shutDown();
    throw error;
  }
  const { environment, endpoints } = workstation;
  heartbeat.arm(() => {
    if (!active) return;
    void shutDown().then(() => callbacks.onLost?.());
  });
  callbacks.onStep?.({ name: "connected", status: "done" });
  let disconnecting: Promise<void> | undefined;
  return {
    id: plan.id,
    target: plan.target,
    tunnels: () => tunnels.links().inbound,
    links: tunnels.links,
    dial: tunnels.dial,
    environment,
    ...(plan.isolation ? { isolation: plan.isolation } : {}),
    endpoints,
    // One restore however many ask: a second caller waits for the first one's.
    disconnect() {
      disconnecting ??= (async () => {
        if (!active) return;
        await shutDown();
        await step(
          "restore",
          () => restoreSession(connection, plan.target.namespace, plan.id, { workload: workloadOf(plan), log: callbacks.log, progress: (detail) => callbacks.onStep?.({ name: "restore", status: "running", detail }) }),
          (result) => restoreSummary(result, plan),
        );
      })();
      return disconnecting;
    },
  };
}
