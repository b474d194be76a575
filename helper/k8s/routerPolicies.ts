/**
 * NetworkPolicies for isolation, where the namespace has policies that select the app: the
 * router of a Service admits what the app's policies admit; the app's pods and this Service's
 * agent clones admit the router; and wherever a policy admits the app's pods as a peer, the
 * clones are admitted too (their outbound calls are the app's). Shared per routed Service,
 * like the router, and removed with it. Policies only add what is allowed.
 */
import type { V1LabelSelector, V1NetworkPolicy, V1NetworkPolicyIngressRule } from "@kubernetes/client-node";
import { MANAGED_BY_KEY, ROUTE_FROM_LABEL, ROUTER_LABEL } from "../agent/names.mjs";
import { clusterCall, type ClusterConnection } from "./clusterConnection.ts";
import { MANAGED_BY, ROLE_LABEL } from "./sessionLabels.ts";

/** Whether `selector` selects pods labelled `labels` (matchLabels and matchExpressions). */
export function selects(selector: V1LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!Object.entries(selector?.matchLabels ?? {}).every(([key, value]) => labels[key] === value)) return false;
  return (selector?.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    if (operator === "In") return key in labels && values.includes(labels[key] as string);
    if (operator === "NotIn") return !(key in labels) || !values.includes(labels[key] as string);
    if (operator === "Exists") return key in labels;
    if (operator === "DoesNotExist") return !(key in labels);
    return false;
  });
}

const isIngressPolicy = (policy: V1NetworkPolicy) => (policy.spec?.policyTypes ?? ["Ingress"]).includes("Ingress");
const admitsApp = (rule: V1NetworkPolicyIngressRule, app: Record<string, string>) => (rule._from ?? []).some((peer) => peer.podSelector && !peer.namespaceSelector && !peer.ipBlock && selects(peer.podSelector, app));

/** The policies kbridge needs for the router of `service` (none when no policy selects the app). */
export function routerPolicies(service: string, selector: Record<string, string>, app: Record<string, string>, existing: V1NetworkPolicy[]): V1NetworkPolicy[] {
  const theirs = existing.filter((p) => p.metadata?.labels?.[MANAGED_BY_KEY] !== MANAGED_BY[MANAGED_BY_KEY] && isIngressPolicy(p));
  const selecting = theirs.filter((p) => selects(p.spec?.podSelector, app));
  if (selecting.length === 0) return [];
  const router = { podSelector: { matchLabels: { [ROUTER_LABEL]: service } } };
  const clones = { podSelector: { matchLabels: { [ROUTE_FROM_LABEL]: service } } };
  const policy = (suffix: string, podSelector: V1LabelSelector, ingress: V1NetworkPolicyIngressRule[]): V1NetworkPolicy => ({
    metadata: { name: `kbridge-router-${service}${suffix}`.slice(0, 253), labels: { ...MANAGED_BY, [ROLE_LABEL]: "router", [ROUTER_LABEL]: service } },
    spec: { podSelector, policyTypes: ["Ingress"], ingress },
  });
  const policies = [
    policy("", router.podSelector, [...selecting.flatMap((p) => p.spec?.ingress ?? []), { _from: [clones] }]),
    policy("-to-app", { matchLabels: selector }, [{ _from: [router] }]),
    policy("-to-agents", clones.podSelector, [{ _from: [router] }]),
  ];
  for (const other of theirs) {
    const rules = (other.spec?.ingress ?? []).filter((rule) => admitsApp(rule, app)).map((rule) => ({ ...rule, _from: [clones] }));
    if (rules.length > 0) policies.push(policy(`-as-${other.metadata?.name}`, other.spec?.podSelector ?? {}, rules));
  }
  return policies;
}


/** Creates the router's policies that do not exist yet. */
export async function ensureRouterPolicies(connection: ClusterConnection, namespace: string, service: string, selector: Record<string, string>): Promise<void> {
  const existing = (await clusterCall(connection, `list the network policies of ${namespace}`, () => connection.networking.listNamespacedNetworkPolicy({ namespace }))).items;
  if (existing.length === 0) return;
  const pods = await clusterCall(connection, `list the pods of service ${service}`, () => connection.core.listNamespacedPod({ namespace, labelSelector: Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(",") }));
  const app = pods.items[0]?.metadata?.labels ?? selector;
  for (const body of routerPolicies(service, selector, app, existing)) {
    await clusterCall(connection, `admit the router of ${service} (network policy ${body.metadata?.name})`, () => connection.networking.createNamespacedNetworkPolicy({ namespace, body }), { conflict: "null" });
  }
}
