/**
 * Preflight: before connect changes anything, what it will need, asked of the cluster itself —
 * access reviews for every verb the mode uses, the restorer's identity (`kbridge setup`, or
 * the right to make its own), server-side dry runs of the pods it will create and of the
 * workload's own pods (the restore must be admitted too: Pod Security, quotas, LimitRanges,
 * webhooks decide as they will), and GitOps controllers that would undo kbridge's change.
 * Each check passes or fails with the reason and the fix. Nothing is written.
 */
import type { V1ObjectMeta, V1Pod, V1PodTemplateSpec } from "@kubernetes/client-node";
import { KbridgeError, type ResolvedTarget } from "../protocol/index.ts";
import { agentTemplate, type AgentOptions } from "./agentTemplate.ts";
import { clusterCall, type ClusterConnection } from "./clusterConnection.ts";
import { accessChecks, requiredRights } from "./preflightRights.ts";
import { OWN_CONTAINER_SECURITY, ownPodSecurity, restorerResources } from "./podSecurity.ts";
import { SETUP_RESTORER, setupPresent } from "./setup.ts";

export interface PreflightCheck {
  name: "rights" | "restorer identity" | "agent pods" | "restore" | "restorer pod" | "gitops" | "agent image";
  ok: boolean;
  detail: string;
  fix?: string;
}

export interface PreflightReport {
  checks: PreflightCheck[];
  /** The setup's restorer account, when the namespace has it. */
  restorerAccount?: string;
  ms: number;
}

const GITOPS_MARKERS: [kind: "annotation" | "label", key: string, tool: string, fix: string][] = [
  ["annotation", "argocd.argoproj.io/tracking-id", "Argo CD", "turn off the Application's self-heal (argocd app set APP --self-heal=false) while you connect"],
  ["label", "argocd.argoproj.io/instance", "Argo CD", "turn off the Application's self-heal (argocd app set APP --self-heal=false) while you connect"],
  ["label", "kustomize.toolkit.fluxcd.io/name", "Flux", "suspend the Kustomization (flux suspend kustomization NAME) while you connect"],
  ["label", "helm.toolkit.fluxcd.io/name", "Flux", "suspend the HelmRelease (flux suspend helmrelease NAME) while you connect"],
];

/**
 * `probeImage` (kbridge check) also runs the agent image once in a short-lived pod, deleted
 * after; connect leaves that to the agent's own start, which fails at once on a pull error.
 */
export async function preflight(connection: ClusterConnection, target: ResolvedTarget, agent: AgentOptions, isolate: boolean, probeImage = false): Promise<PreflightReport> {
  const started = Date.now();
  const { namespace } = target;
  const checks: PreflightCheck[] = [];
  const hasSetup = await setupPresent(connection, namespace);
  const access = await accessChecks(connection, namespace, requiredRights(target, isolate, hasSetup));
  const userMissing = access.missing.filter((m) => !m.forRestorer);
  checks.push(
    userMissing.length === 0
      ? { name: "rights", ok: true, detail: access.missing.length === 0 ? `${access.checked} access reviews allowed` : `${access.checked - access.missing.length} of ${access.checked} access reviews allowed; the rest concern the restorer's identity` }
      : { name: "rights", ok: false, detail: `you may not ${userMissing.map((m) => m.text).join(", ")} in namespace ${namespace}`, fix: `Ask for the built-in edit role in namespace ${namespace} (kubectl create rolebinding … --clusterrole=edit).` },
  );
  const restorerMissing = access.missing.filter((m) => m.forRestorer);
  checks.push(
    hasSetup
      ? { name: "restorer identity", ok: true, detail: `the restorer runs as ServiceAccount ${SETUP_RESTORER} (kbridge setup)` }
      : restorerMissing.length === 0
        ? { name: "restorer identity", ok: true, detail: "each session makes its own restorer ServiceAccount and Role (you may create Roles and RoleBindings)" }
        : {
            name: "restorer identity",
            ok: false,
            detail: `kbridge's restorer needs an identity in namespace ${namespace}, and you may not ${restorerMissing.map((m) => m.text).join(", ")}`,
            fix: `Ask someone who may create Roles there to run once: kbridge setup --context ${connection.context} --namespace ${namespace} (or apply the YAML of kbridge setup --print); or connect with an account that may create Roles and RoleBindings.`,
          },
  );
  const { template, metadata } = await readWorkload(connection, target);
  const ports = [...new Set(target.ports.map((p) => p.containerPort))];
  const identity = { id: "preflight", owner: "preflight", expiresAt: new Date() };
  const agentPod = agentTemplate(template, target.container, ports, identity, "kbridge-preflight", agent);
  checks.push(await dryRun(connection, namespace, "agent pods", agentPod, "the agent's pods", "Fix what the namespace refuses (the message names it), or connect in another namespace."));
  checks.push(await dryRun(connection, namespace, "restore", template, `${target.workload.kind.toLowerCase()} ${target.workload.name}'s own pods (a restore re-creates them)`, "The namespace refuses this workload's own pods today, so kbridge could not put them back: fix the workload (or the namespace's policy) first."));
  checks.push(await dryRun(connection, namespace, "restorer pod", restorerTemplate(agent, hasSetup ? SETUP_RESTORER : "default"), "the restorer's pod", "Fix what the namespace refuses (the message names it)."));
  checks.push(await gitops(connection, target, metadata));
  if (probeImage) checks.push(await imageCheck(connection, namespace, agent));
  return { checks, ...(hasSetup ? { restorerAccount: SETUP_RESTORER } : {}), ms: Date.now() - started };
}

/** The failed checks as one error (connect's first step). */
export function preflightError(report: PreflightReport): KbridgeError | undefined {
  const failed = report.checks.filter((c) => !c.ok);
  if (failed.length === 0) return undefined;
  return new KbridgeError({
    code: "preflight-failed",
    category: "cluster",
    message: `Preflight found what would stop this connect, so nothing was changed: ${failed.map((c) => `${c.name}: ${c.detail}`).join("; ")}.`,
    hint: failed.map((c) => c.fix).filter(Boolean).join(" "),
  });
}

/** The workload's pod template and its own metadata, read once. */
async function readWorkload(connection: ClusterConnection, target: ResolvedTarget): Promise<{ template: V1PodTemplateSpec; metadata?: V1ObjectMeta }> {
  const { namespace, workload } = target;
  if (workload.kind === "Pod") {
    const pod = await clusterCall(connection, `read pod ${workload.name}`, () => connection.core.readNamespacedPod({ name: workload.name, namespace }));
    return { template: { metadata: { labels: pod.metadata?.labels, annotations: pod.metadata?.annotations }, spec: { ...pod.spec!, nodeName: undefined } }, metadata: pod.metadata };
  }
  const read = workload.kind === "Deployment" ? () => connection.apps.readNamespacedDeployment({ name: workload.name, namespace }) : () => connection.apps.readNamespacedStatefulSet({ name: workload.name, namespace });
  const object = await clusterCall(connection, `read ${workload.kind.toLowerCase()} ${workload.name}`, read);
  return { template: object.spec!.template, metadata: object.metadata };
}

function restorerTemplate(agent: AgentOptions, account: string): V1PodTemplateSpec {
  return {
    spec: {
      serviceAccountName: account,
      restartPolicy: "OnFailure",
      securityContext: ownPodSecurity(agent.assignsUsers === true),
      containers: [{ name: "restorer", image: agent.image, command: ["node", "--version"], securityContext: OWN_CONTAINER_SECURITY, resources: restorerResources(agent.podResources) }],
    },
  };
}

/** A server-side dry run of a pod from `template`: admitted, or the cluster's own words why not. */
async function dryRun(connection: ClusterConnection, namespace: string, name: PreflightCheck["name"], template: V1PodTemplateSpec, what: string, fix: string): Promise<PreflightCheck> {
  const body: V1Pod = { metadata: { generateName: "kbridge-preflight-", labels: template.metadata?.labels, annotations: template.metadata?.annotations }, spec: template.spec };
  const response = await connection.request("POST", `/api/v1/namespaces/${namespace}/pods?dryRun=All`, body);
  if (response.status < 300) return { name, ok: true, detail: `the namespace admits ${what}` };
  const message = (response.body as { message?: string } | undefined)?.message ?? `HTTP ${response.status}`;
  return { name, ok: false, detail: `the namespace refuses ${what}: ${message}`, fix };
}

async function gitops(connection: ClusterConnection, target: ResolvedTarget, workloadMetadata: V1ObjectMeta | undefined): Promise<PreflightCheck> {
  const { namespace, workload, service } = target;
  const objects: { what: string; metadata?: V1ObjectMeta }[] = [{ what: `${workload.kind.toLowerCase()} ${workload.name}`, metadata: workloadMetadata }];
  if (service) objects.push({ what: `service ${service}`, metadata: (await clusterCall(connection, "read the service", () => connection.core.readNamespacedService({ name: service, namespace }))).metadata });
  for (const { what, metadata } of objects) {
    for (const [where, key, tool, fix] of GITOPS_MARKERS) {
      const value = where === "annotation" ? metadata?.annotations?.[key] : metadata?.labels?.[key];
      if (value !== undefined) {
        return { name: "gitops", ok: false, detail: `${tool} manages ${what} (${where} ${key}: ${value}); its self-heal would undo kbridge's change within seconds`, fix: `Pause it first: ${fix}.` };
      }
    }
  }
  return { name: "gitops", ok: true, detail: "no Argo CD or Flux marks on the workload or its service" };
}

const PULL_FAILURES = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"]);

/** Runs `node --version` in the agent image once: pulled and working, or the kubelet's words why not. The pod is deleted either way. */
async function imageCheck(connection: ClusterConnection, namespace: string, agent: AgentOptions, timeoutMs = 30_000): Promise<PreflightCheck> {
  const fix = "Name an image your cluster can pull that has Node.js 18 or newer: the profile's Agent image, or --agent-image.";
  const created = await clusterCall(connection, "start the agent image probe", () =>
    connection.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { generateName: "kbridge-preflight-", labels: { "app.kubernetes.io/part-of": "kbridge", "kbridge.dev/role": "preflight" } },
        spec: { ...restorerTemplate(agent, "default").spec!, restartPolicy: "Never", activeDeadlineSeconds: 120, automountServiceAccountToken: false },
      },
    }),
  ).catch((error: unknown) => (error instanceof KbridgeError ? error : Promise.reject(error)));
  if (created instanceof KbridgeError) return { name: "agent image", ok: false, detail: `not checked: ${created.info.message}`, fix: created.info.hint ?? "" };
  const name = created.metadata?.name ?? "";
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const pod = await clusterCall(connection, "read the agent image probe", () => connection.core.readNamespacedPod({ name, namespace }));
      const state = pod.status?.containerStatuses?.[0]?.state;
      if (pod.status?.phase === "Succeeded") return { name: "agent image", ok: true, detail: `${agent.image} was pulled and runs node` };
      if (state?.waiting?.reason && PULL_FAILURES.has(state.waiting.reason)) return { name: "agent image", ok: false, detail: `the cluster cannot pull ${agent.image}: ${state.waiting.reason}${state.waiting.message ? ` (${state.waiting.message})` : ""}`, fix };
      if (pod.status?.phase === "Failed") return { name: "agent image", ok: false, detail: `${agent.image} was pulled but node --version failed (exit ${state?.terminated?.exitCode ?? "?"})`, fix };
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return { name: "agent image", ok: false, detail: `a pod of ${agent.image} did not start within ${timeoutMs / 1000} s`, fix: "See kubectl get events in the namespace; a slow registry may need the check again." };
  } finally {
    await clusterCall(connection, "delete the agent image probe", () => connection.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }), { notFound: "null" }).catch(() => null);
  }
}
