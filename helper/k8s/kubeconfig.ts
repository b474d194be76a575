/**
 * The user's kubeconfig, as kubectl finds it: the files listed in `KUBECONFIG` (merged,
 * first one wins for each name), else `~/.kube/config`.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import type { Env } from "../shared/kbridgeHome.ts";
import { KbridgeError, type KubeContextList } from "../protocol/index.ts";

/** The kubeconfig paths in merge order, whether or not they exist. */
export function kubeconfigPaths(env: Env = process.env): string[] {
  const list = (env.KUBECONFIG ?? "").split(path.delimiter).filter((entry) => entry.trim() !== "");
  return list.length > 0 ? list.map((entry) => path.resolve(entry)) : [path.join(os.homedir(), ".kube", "config")];
}

/** Loads and merges the kubeconfig files; a clear KbridgeError when there is none or one does not parse. */
export function loadKubeConfig(paths: string[]): KubeConfig {
  const existing = paths.filter((file) => fs.existsSync(file));
  if (existing.length === 0) {
    throw new KbridgeError({
      code: "kubeconfig-missing",
      category: "config",
      message: `No kubeconfig found: ${paths.join(", ")} ${paths.length === 1 ? "does" : "do"} not exist.`,
      hint: "Set KUBECONFIG to your kubeconfig file, or create ~/.kube/config (your cluster provider's CLI writes one, e.g. `az aks get-credentials`, `gcloud container clusters get-credentials`). No cluster at hand? `npm run demo` in the kbridge clone starts a test cluster with a demo shop, and kbridge on it.",
    });
  }
  const merged = new KubeConfig();
  for (const file of existing) {
    const single = new KubeConfig();
    try {
      single.loadFromFile(file);
    } catch (cause) {
      throw new KbridgeError(
        {
          code: "kubeconfig-invalid",
          category: "config",
          message: `The kubeconfig ${file} cannot be read: ${firstLine((cause as Error).message)}`,
          hint: "Fix the file (check it with `kubectl config view`), or point KUBECONFIG at another one.",
        },
        { cause },
      );
    }
    mergeInto(merged, single);
  }
  return merged;
}

/** The contexts of the user's kubeconfig, for pickers and `kbridge contexts`. */
export function listContexts(paths: string[] = kubeconfigPaths()): KubeContextList {
  const config = loadKubeConfig(paths);
  const servers = new Map(config.getClusters().map((cluster) => [cluster.name, cluster.server]));
  const current = config.getCurrentContext();
  return {
    kubeconfig: paths,
    currentContext: current === "" || current === undefined ? null : current,
    contexts: config.getContexts().map((context) => ({
      name: context.name,
      cluster: context.cluster,
      user: context.user,
      namespace: context.namespace ?? null,
      server: servers.get(context.cluster) ?? null,
    })),
  };
}

/** kubectl's merge rule: the first file to define a name wins; the first current-context set wins. */
function mergeInto(target: KubeConfig, source: KubeConfig): void {
  const add = <T extends { name: string }>(into: T[], from: T[]) => {
    const names = new Set(into.map((item) => item.name));
    return [...into, ...from.filter((item) => !names.has(item.name))];
  };
  target.loadFromOptions({
    clusters: add(target.getClusters(), source.getClusters()),
    users: add(target.getUsers(), source.getUsers()),
    contexts: add(target.getContexts(), source.getContexts()),
    currentContext: target.getCurrentContext() || source.getCurrentContext(),
  });
}

function firstLine(message: string): string {
  return message.split("\n")[0] ?? message;
}
