/**
 * `npm run cluster -- --kubeconfig FILE [--demo] [--port N]`: runs a test cluster until
 * SIGTERM/SIGINT (then stops every pod process), writes FILE (contexts `kbridge-demo`, the
 * administrator, and `kbridge-demo-developer`, a user with `edit` in the demo's namespace and
 * with --demo the current context), and
 * prints one line containing `ready` and the ingress address once it serves (with --demo,
 * once the demo shop answers through the ingress).
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { DEVELOPER_CONTEXT, startTestCluster } from "./cluster.ts";
import { DEMO_HOST, DEMO_NAMESPACE, demoImages, installDemo, waitForDemo } from "./demo/demoApp.ts";

const USAGE = "usage: npm run cluster -- --kubeconfig FILE [--demo] [--port N]";
let args;
try {
  args = parseArgs({ options: { kubeconfig: { type: "string" }, demo: { type: "boolean" }, port: { type: "string" } } }).values;
} catch (error) {
  console.error(`kbridge test cluster: ${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (!args.kubeconfig) {
  console.error(`kbridge test cluster: --kubeconfig FILE is required (where to write the kubeconfig)\n${USAGE}`);
  process.exit(2);
}

const started = Date.now();
const cluster = await startTestCluster({ port: args.port ? Number(args.port) : undefined, images: args.demo ? [demoImages] : [] });
let stopping = false;
const stop = (code: number) => {
  if (stopping) return;
  stopping = true;
  void cluster.stop().then(() => process.exit(code));
};
process.on("SIGTERM", () => stop(0));
process.on("SIGINT", () => stop(0));

// With the demo, the developer's context is current and in its namespace (edit there, kbridge's setup in place);
// without it no namespace grants the developer anything, so the administrator is.
const file = cluster.writeKubeconfig(path.resolve(args.kubeconfig), args.demo ? { developerNamespace: DEMO_NAMESPACE, context: DEVELOPER_CONTEXT } : {});
try {
  if (args.demo) {
    installDemo(cluster, { setup: true });
    await waitForDemo(cluster);
  }
} catch (error) {
  console.error(`kbridge test cluster: ${(error as Error).message}`);
  stop(1);
}
const demo = args.demo ? `; demo shop: curl -H 'Host: ${DEMO_HOST}' ${cluster.ingress.url}/` : "";
console.log(
  `kbridge test cluster ready in ${((Date.now() - started) / 1000).toFixed(1)} s: API server ${cluster.api.url}, ingress ${cluster.ingress.url}, kubeconfig ${file} (contexts kbridge-demo, kbridge-demo-developer; current ${args.demo ? DEVELOPER_CONTEXT : "kbridge-demo"})${demo}`,
);
