/**
 * A session's outbound side: decides how cluster services reach the workstation (hosts file
 * and 127.1.1.x addresses, or 127.0.0.1 ports when that is not permitted or not wanted),
 * maps the namespace's services, and follows them live (services added or removed while
 * connected are mapped or unmapped within seconds).
 */
import type { Duplex } from "node:stream";
import { KbridgeError, type EndpointView, type PrivilegeMode } from "../protocol/index.ts";
import type { Logger } from "../logs/logger.ts";
import type { ClusterConnection } from "../k8s/clusterConnection.ts";
import { listClusterEndpoints, type CatalogScope, type ClusterEndpoint } from "../k8s/serviceCatalog.ts";
import { EndpointMap, type EndpointMode } from "./endpointMap.ts";
import { canBind, hostsFileWritable } from "./hostsFile.ts";

export interface EndpointSettings {
  mode: PrivilegeMode;
  hostsFile: string;
  /** This session's block in the hosts file. */
  blockId: string;
  /** Namespaces besides the target's whose services are mapped too (config file). */
  otherNamespaces?: string[];
  /** Hosts outside the cluster reached from the pod (config file's externalEndpoints). */
  extra?: ClusterEndpoint[];
}

export interface ServiceEndpoints {
  mode: EndpointMode;
  /** Why unprivileged, when it was not asked for. */
  reason?: string;
  list(): EndpointView[];
  close(): Promise<void>;
}

const REFRESH_MS = 3000;

export async function decideMode(settings: Pick<EndpointSettings, "mode" | "hostsFile">): Promise<{ mode: EndpointMode; reason?: string }> {
  if (settings.mode === "unprivileged") return { mode: "unprivileged" };
  const writable = hostsFileWritable(settings.hostsFile);
  // Port 1 on a 127.1.x address: can this process bind loopback aliases and privileged ports?
  const bindable = writable && (await canBind("127.1.255.254", 1));
  if (writable && bindable) return { mode: "hosts" };
  const why = !writable ? `the hosts file ${settings.hostsFile} is not writable` : "this process may not listen on ports below 1024";
  if (settings.mode === "hosts") {
    throw new KbridgeError({ code: "hosts-not-permitted", category: "config", message: `The profile asks for the hosts file, but ${why}.`, hint: "Run kbridge with the rights to edit the hosts file (or as root), or choose the unprivileged mode." });
  }
  return { mode: "unprivileged", reason: `${why}: services on 127.0.0.1 ports, reached through the service variables` };
}

export async function startServiceEndpoints(options: {
  connection: ClusterConnection;
  namespace: string;
  settings: EndpointSettings;
  dial(host: string, port: number): Promise<Duplex>;
  log: Logger;
  onChange?(): void;
}): Promise<ServiceEndpoints> {
  const { mode, reason } = await decideMode(options.settings);
  const map = new EndpointMap({ mode, hostsFile: options.settings.hostsFile, blockId: options.settings.blockId, dial: options.dial, log: options.log });
  const scopes: CatalogScope[] = [{ namespace: options.namespace, bareNames: true }, ...(options.settings.otherNamespaces ?? []).filter((ns) => ns !== options.namespace).map((namespace) => ({ namespace, bareNames: false }))];
  const list = async () => [...(await listClusterEndpoints(options.connection, scopes)), ...(options.settings.extra ?? [])];
  await map.update(await list());
  let closed = false;
  // The refresh in flight, if any: close() waits for it, so nothing is mapped after a close.
  let refreshing: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (closed || refreshing) return;
    refreshing = list()
      .then((endpoints) => (closed ? undefined : map.update(endpoints)))
      .then((changes) => {
        if (!changes || (changes.added.length === 0 && changes.removed.length === 0)) return;
        options.log.info(changes, "cluster services changed; endpoints updated");
        options.onChange?.();
      })
      .catch((error: Error) => options.log.warn({ err: error.message }, "could not refresh the cluster's services"))
      .finally(() => (refreshing = undefined));
  }, REFRESH_MS);
  timer.unref();
  return {
    mode,
    ...(reason ? { reason } : {}),
    list: () => map.list(),
    async close() {
      closed = true;
      clearInterval(timer);
      await refreshing;
      await map.close();
    },
  };
}
