/**
 * Test helper process: connects a service to a workstation port with the helper's session
 * code, prints `CONNECTED <session id>`, and keeps the session (and its heartbeat) alive
 * until it is killed — the "helper dies" half of the restore tests. SIGTERM disconnects
 * (restores) first, prints `RESTORED` and exits 0, or prints `RESTORE FAILED <why>` and exits 1.
 * Env: KUBECONFIG, TARGET_NAMESPACE, TARGET_KIND (service, deployment or pod; default service),
 * TARGET_NAME, SERVICE_PORT (the service's port, or the container's for other kinds), WORKSTATION_PORT, DEADMAN_SECONDS,
 * ROUTING_KEY (isolate with this key), KUBE_CONTEXT (default: the kubeconfig's current context, as kubectl).
 */
import { loadKubeConfig } from "../../helper/k8s/kubeconfig.ts";
import { silentLogger } from "../../helper/logs/logger.ts";
import { targetKinds, type TargetKind } from "../../helper/protocol/index.ts";
import { connect } from "../../helper/sessions/connectSession.ts";

function targetKind(value: string): TargetKind {
  const kind = targetKinds.find((k) => k === value);
  if (!kind) throw new Error(`TARGET_KIND must be one of ${targetKinds.join(", ")}`);
  return kind;
}

const env = process.env;
const session = await connect({
  kubeconfig: [String(env.KUBECONFIG)],
  context: env.KUBE_CONTEXT ?? loadKubeConfig([String(env.KUBECONFIG)]).getCurrentContext(),
  target: { kind: targetKind(env.TARGET_KIND ?? "service"), name: String(env.TARGET_NAME), namespace: String(env.TARGET_NAMESPACE) },
  ports: [{ port: Number(env.SERVICE_PORT), workstationPort: Number(env.WORKSTATION_PORT) }],
  deadmanSeconds: Number(env.DEADMAN_SECONDS ?? 30),
  ...(env.ROUTING_KEY ? { isolate: { routingKey: env.ROUTING_KEY } } : {}),
  log: silentLogger(),
});
console.log(`CONNECTED ${session.id}`);
const alive = setInterval(() => {}, 1 << 30);
process.on("SIGTERM", () => {
  session.disconnect().then(
    () => {
      console.log("RESTORED");
      clearInterval(alive);
      process.exit(0);
    },
    (error: Error) => {
      console.log(`RESTORE FAILED ${error.message}`);
      process.exit(1);
    },
  );
});
