/** What cluster DNS answers, from the store: services, headless pods, ExternalName, pod A records. */
import type { ObjectStore } from "../apiserver/store.ts";
import { arr, kind, obj } from "../controllers/objects.ts";
import { CLUSTER_DOMAIN, type DnsAnswer, type DnsLookup } from "./dnsServer.ts";

export function clusterNames(store: ObjectStore): DnsLookup {
  return (name) => {
    const suffix = `.${CLUSTER_DOMAIN}`;
    if (!name.endsWith(suffix)) return null;
    const parts = name.slice(0, -suffix.length).split(".");
    // a-b-c-d.<ns>.pod
    if (parts.length === 3 && parts[2] === "pod") {
      const ip = (parts[0] as string).replace(/-/g, ".");
      return /^\d+\.\d+\.\d+\.\d+$/.test(ip) ? [{ type: "A", address: ip }] : null;
    }
    // [hostname.]<svc>.<ns>.svc
    if (parts.at(-1) !== "svc" || parts.length < 3 || parts.length > 4) return null;
    const [hostname, serviceName, namespace] = parts.length === 4 ? (parts as [string, string, string]) : [undefined, parts[0] as string, parts[1] as string];
    const service = store.find(kind("Service"), namespace, serviceName);
    if (!service) return null;
    const spec = obj(service.spec);
    if (spec.type === "ExternalName") return hostname ? null : [{ type: "CNAME", name: String(spec.externalName ?? "") }];
    if (spec.clusterIP !== "None") return hostname ? null : [{ type: "A", address: String(spec.clusterIP) }];
    // Headless: every ready address, or the one pod with that hostname.
    const endpoints = store.find(kind("Endpoints"), namespace, serviceName);
    const addresses = arr(endpoints?.subsets).flatMap((subset) => arr(subset.addresses));
    const chosen = hostname ? addresses.filter((a) => a.hostname === hostname) : addresses;
    if (hostname && chosen.length === 0) return null;
    return chosen.map((a): DnsAnswer => ({ type: "A", address: String(a.ip) }));
  };
}
