/**
 * `kbridge check` (connect's preflight, through the helper) and `kbridge setup` (an
 * administrator's one-time namespace setup, with the user's own kubeconfig; `--print` writes
 * it as YAML instead, `--remove` takes it away).
 */
import { sendCommand } from "../client/helperSocket.ts";
import { openCluster } from "../k8s/clusterConnection.ts";
import { kubeconfigPaths } from "../k8s/kubeconfig.ts";
import { applySetup, removeSetup, setupYaml } from "../k8s/setup.ts";
import { KbridgeError, type ErrorInfo, type TargetKind } from "../protocol/index.ts";
import { targetsOf, type TargetArgs } from "./connectCommand.ts";
import { connectToHelper } from "./helperConnection.ts";

type Print = (text: string) => void;

export interface CheckArgs extends TargetArgs {
  isolate?: boolean;
  agentImage?: string;
  json: boolean;
}

/** Prints each check (✓ or ✗ with the reason and the fix); exit 1 when one fails. */
export async function checkCommand(args: CheckArgs, out: Print, err: Print, report: (error: ErrorInfo) => number): Promise<number> {
  const targets = targetsOf(args);
  if (!args.context || !args.namespace || targets.length !== 1) {
    err("kbridge check: --context, --namespace and one of --service, --deployment or --pod are required\n");
    return 2;
  }
  const [[kind, name]] = targets as [[TargetKind, string]];
  const connection = await connectToHelper();
  try {
    const result = await sendCommand(connection.socket, "cluster:check", {
      kubeContext: args.context,
      target: { kind, name, namespace: args.namespace, container: args.container ?? "" },
      isolate: args.isolate === true,
      ...(args.agentImage ? { agentImage: args.agentImage } : {}),
    });
    if (!result.ok) return report(result.error);
    const { checks, ms } = result.data;
    if (args.json) out(JSON.stringify(result.data, null, 2) + "\n");
    else {
      for (const check of checks) out(`${check.ok ? "✓" : "✗"} ${check.name}: ${check.detail}\n${check.ok || !check.fix ? "" : `    fix: ${check.fix}\n`}`);
      out(`${checks.filter((c) => c.ok).length} of ${checks.length} checks passed in ${ms} ms; nothing was changed.\n`);
    }
    return checks.every((c) => c.ok) ? 0 : 1;
  } finally {
    connection.socket.close();
  }
}

/** Applies (or removes, or prints) the namespace's setup. */
export async function setupCommand(args: { context?: string; namespace?: string; remove?: boolean; print?: boolean }, out: Print, err: Print): Promise<number> {
  if (!args.namespace || (!args.print && !args.context)) {
    err("kbridge setup: --namespace is required, and --context unless --print\n");
    return 2;
  }
  if (args.print) {
    out(setupYaml(args.namespace));
    return 0;
  }
  const connection = openCluster(kubeconfigPaths(), args.context as string);
  try {
    const done = args.remove ? await removeSetup(connection, args.namespace) : await applySetup(connection, args.namespace);
    out(args.remove ? `Removed from ${args.namespace}: ${done.join(", ") || "nothing (no setup there)"}.\n` : `Set up ${args.namespace}: ${done.join(", ")}. Developers with edit there can now connect.\n`);
    return 0;
  } catch (error) {
    if (error instanceof KbridgeError) {
      err(`kbridge: ${error.info.message}\n${error.info.hint ? `  ${error.info.hint}\n` : ""}`);
      return 1;
    }
    throw error;
  }
}
