/** `cluster:check` (`kbridge check`): connect's preflight for a target, on its own. Nothing changes in the cluster. */
import { newHelperKey } from "../agent/helloProof.mjs";
import type { ClusterConnection } from "../k8s/clusterConnection.ts";
import { findTarget } from "../k8s/findTarget.ts";
import { namespaceAssignsUsers } from "../k8s/podSecurity.ts";
import { preflight } from "../k8s/preflight.ts";
import type { CommandArgs, PreflightView } from "../protocol/index.ts";
import { DEFAULT_AGENT_IMAGE } from "./sessionPlan.ts";

export async function checkCluster(connection: ClusterConnection, args: CommandArgs<"cluster:check">): Promise<PreflightView> {
  const target = await findTarget(connection, args.target);
  const agent = {
    image: args.agentImage ?? DEFAULT_AGENT_IMAGE,
    // The ports a session uses by default (their value does not change what the cluster admits).
    inboundPort: 47000,
    outboundPort: 47001,
    helperKey: newHelperKey().publicKey,
    keep: { probes: false, lifecycleHooks: false },
    deadmanSeconds: 30,
    assignsUsers: await namespaceAssignsUsers(connection, target.namespace),
    ...(args.podResources ? { podResources: args.podResources } : {}),
  };
  const report = await preflight(connection, target, agent, args.isolate, true);
  return { checks: report.checks, ...(report.restorerAccount ? { restorerAccount: report.restorerAccount } : {}), ms: report.ms };
}
