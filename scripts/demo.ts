/**
 * `npm run demo`: a test cluster with the demo shop, and kbridge (dashboard + helper)
 * pointed at its kubeconfig — the whole flow without a real cluster. Ctrl-C stops all.
 */
import fs from "node:fs";
import path from "node:path";
import { kbridgeHome } from "../helper/shared/kbridgeHome.ts";
import { DEVELOPER_CONTEXT, startTestCluster } from "../test/cluster/cluster.ts";
import { DEMO_HOST, DEMO_NAMESPACE, demoImages, installDemo, waitForDemo } from "../test/cluster/demo/demoApp.ts";
import { ensureBuilt } from "./lib/ensureBuilt.ts";
import { PROJECT_ROOT } from "./lib/projectRoot.ts";
import { KBRIDGE_PROCESSES, supervise } from "./lib/supervisor.ts";

try {
  ensureBuilt(PROJECT_ROOT);
} catch (error) {
  console.error(`kbridge demo: ${(error as Error).message}`);
  process.exit(1);
}

const started = Date.now();
const cluster = await startTestCluster({ images: [demoImages] });
const demoDir = path.join(kbridgeHome().root, "demo");
fs.mkdirSync(demoDir, { recursive: true, mode: 0o700 });
// As on a shared dev cluster: the developer's context (edit in the demo's namespace, an admin's kbridge setup in place) is current.
const kubeconfig = cluster.writeKubeconfig(path.join(demoDir, "kubeconfig"), { developerNamespace: DEMO_NAMESPACE, context: DEVELOPER_CONTEXT });
installDemo(cluster, { setup: true });
try {
  await waitForDemo(cluster);
} catch (error) {
  console.error(`kbridge demo: ${(error as Error).message}`);
  await cluster.stop();
  process.exit(1);
}
console.log(`kbridge demo: test cluster and demo shop ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);

const supervisor = supervise(
  KBRIDGE_PROCESSES,
  { cwd: PROJECT_ROOT, env: { ...process.env, KUBECONFIG: kubeconfig, NEXT_TELEMETRY_DISABLED: "1" }, log: (line) => console.log(line) },
);
let stopping = false;
const stop = (reason: string) => {
  if (stopping) return;
  stopping = true;
  supervisor.stop(reason);
};
process.on("SIGINT", () => stop("Ctrl-C"));
process.on("SIGTERM", () => stop("SIGTERM"));

supervisor.ready.then(
  (urls) =>
    console.log(`
kbridge demo is running.
  Dashboard:   open ${urls.dashboard}  (context ${DEVELOPER_CONTEXT}: edit in ${DEMO_NAMESPACE} only; kbridge-demo is the administrator)
  Demo shop:   curl -H 'Host: ${DEMO_HOST}' ${cluster.ingress.url}/
  kubectl:     KUBECONFIG=${kubeconfig} kubectl get pods -n ${DEMO_NAMESPACE}
  Processes:   pids ${JSON.stringify(supervisor.pids)}
Press Ctrl-C to stop (the cluster's pods stop with it).
`),
  (error: Error) => stop(error.message),
);
const code = await supervisor.done;
await cluster.stop();
process.exit(code);
