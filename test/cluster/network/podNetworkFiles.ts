/** A pod's /etc/resolv.conf (cluster DNS, search path, ndots:5) and /etc/hosts, as kubelet writes them. */
import fs from "node:fs";
import path from "node:path";
import type { KubeObject } from "../apiserver/store.ts";
import type { Mount } from "../kubelet/containerRunner.ts";
import { CLUSTER_DOMAIN } from "./dnsServer.ts";

export function podNetworkFiles(dnsAddress: string, pod: KubeObject, podIp: string, podDir: string): Mount[] {
  const spec = (pod.spec ?? {}) as { hostname?: string; subdomain?: string; dnsPolicy?: string };
  const namespace = pod.metadata.namespace ?? "default";
  const hostname = spec.hostname ?? pod.metadata.name ?? "";
  const dir = path.join(podDir, "etc");
  fs.mkdirSync(dir, { recursive: true });
  const mounts: Mount[] = [];
  if (spec.dnsPolicy !== "Default") {
    fs.writeFileSync(path.join(dir, "resolv.conf"), `nameserver ${dnsAddress}\nsearch ${namespace}.svc.${CLUSTER_DOMAIN} svc.${CLUSTER_DOMAIN} ${CLUSTER_DOMAIN}\noptions ndots:5\n`);
    mounts.push({ source: path.join(dir, "resolv.conf"), target: "/etc/resolv.conf", readOnly: true });
  }
  const fqdn = spec.subdomain ? `${hostname}.${spec.subdomain}.${namespace}.svc.${CLUSTER_DOMAIN}\t` : "";
  fs.writeFileSync(path.join(dir, "hosts"), `# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${podIp}\t${fqdn}${hostname}\n`);
  mounts.push({ source: path.join(dir, "hosts"), target: "/etc/hosts", readOnly: true });
  return mounts;
}
