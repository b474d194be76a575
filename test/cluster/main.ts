/**
 * `npm run cluster -- --kubeconfig FILE`: runs the test cluster until SIGTERM/SIGINT and
 * writes FILE (context `kbridge-demo`). Prints a line containing `ready` once it serves.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { startTestCluster } from "./cluster.ts";

let args;
try {
  args = parseArgs({ options: { kubeconfig: { type: "string" }, port: { type: "string" } } }).values;
} catch (error) {
  console.error(`kbridge test cluster: ${(error as Error).message}\nusage: npm run cluster -- --kubeconfig FILE [--port N]`);
  process.exit(2);
}
if (!args.kubeconfig) {
  console.error("kbridge test cluster: --kubeconfig FILE is required (where to write the kubeconfig)");
  process.exit(2);
}
const cluster = await startTestCluster({ port: args.port ? Number(args.port) : undefined });
const file = cluster.writeKubeconfig(path.resolve(args.kubeconfig));
console.log(`kbridge test cluster ready: API server ${cluster.api.url}, kubeconfig ${file} (context kbridge-demo)`);
const stop = () => void cluster.stop().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
