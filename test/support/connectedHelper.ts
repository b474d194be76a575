/**
 * Test helper process: connects a service to a workstation port with the helper's session
 * code, prints `CONNECTED <session id>`, and keeps the session (and its heartbeat) alive
 * until it is killed — the "helper dies" half of the restore tests.
 * Env: KUBECONFIG, TARGET_NAMESPACE, TARGET_SERVICE, SERVICE_PORT, WORKSTATION_PORT, DEADMAN_SECONDS.
 */
import { silentLogger } from "../../helper/logging/logger.ts";
import { connect } from "../../helper/sessions/connectSession.ts";

const env = process.env;
const session = await connect({
  kubeconfig: [String(env.KUBECONFIG)],
  context: "kbridge-demo",
  target: { kind: "service", name: String(env.TARGET_SERVICE), namespace: String(env.TARGET_NAMESPACE) },
  ports: [{ port: Number(env.SERVICE_PORT), workstationPort: Number(env.WORKSTATION_PORT) }],
  deadmanSeconds: Number(env.DEADMAN_SECONDS ?? 30),
  log: silentLogger(),
});
console.log(`CONNECTED ${session.id}`);
setInterval(() => {}, 1 << 30);
