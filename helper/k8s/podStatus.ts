/** What a pod's status says, answered once for all of helper/k8s. */
import type { V1Pod } from "@kubernetes/client-node";

/** Its Ready condition is True (the kubelet's readiness, as Endpoints count it). */
export function isPodReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}
