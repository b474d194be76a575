/** Test helper process: starts a test cluster with one pod, prints `POD_PID=<pid>`, then idles until killed. */
import { startTestCluster } from "../cluster.ts";
import { kind } from "../controllers/objects.ts";

const cluster = await startTestCluster();
cluster.store.create(kind("Pod"), { metadata: { name: "lonely", namespace: "default" }, spec: { automountServiceAccountToken: false, containers: [{ name: "c", image: "node:22", command: ["node", "-e", "setInterval(() => {}, 1000)"] }] } });
for (;;) {
  await new Promise((resolve) => setTimeout(resolve, 50));
  const id = (cluster.store.find(kind("Pod"), "default", "lonely")?.status as { containerStatuses?: { containerID?: string }[] }).containerStatuses?.[0]?.containerID;
  if (id) {
    console.log(`POD_PID=${id.replace("kbridge://", "")}`);
    break;
  }
}
