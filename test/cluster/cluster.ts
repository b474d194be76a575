/**
 * The test cluster: an object store seeded like a fresh cluster (default namespaces, the
 * built-in RBAC roles), the API server in front of it, and a kubeconfig pointing at it with
 * two users: the administrator (context `kbridge-demo`) and a developer (context
 * `kbridge-demo-developer`: user `developer`, group `developers`, who holds only what
 * RoleBindings give that group — the demo binds `edit` in its namespace).
 */
import fs from "node:fs";
import { randomBytes } from "node:crypto";
import { makeCertificates, type ClusterCertificates } from "./apiserver/certificates.ts";
import { Admission } from "./apiserver/admission.ts";
import { Faults } from "./apiserver/faults.ts";
import type { AuditEntry } from "./admission/policies.ts";
import { builtinClusterRoleBindings, builtinClusterRoles } from "./auth/builtinRoles.ts";
import { MASTERS, serviceAccountCaller, userCaller, type Caller } from "./auth/identity.ts";
import { startFreezableFront, type FreezableFront } from "./apiserver/freezableFront.ts";
import { startApiServer, type ApiServer } from "./apiserver/server.ts";
import { startControllers, type Controllers } from "./controllers/manager.ts";
import { nodeImage, resolveImages, type ImageResolver } from "./kubelet/images.ts";
import { startKubelet, type Kubelet } from "./kubelet/kubelet.ts";
import { clusterNames } from "./network/clusterNames.ts";
import { startDnsServer, type DnsServer } from "./network/dnsServer.ts";
import { startIngressController, type IngressController } from "./network/ingressController.ts";
import { podNetworkFiles } from "./network/podNetworkFiles.ts";
import { startServiceProxy, type ServiceProxy } from "./network/serviceProxy.ts";
import { createUpgradeHandler, type ActivePortForward } from "./streams/upgrades.ts";
import { claimAddresses, NODE_NAME, type ClusterAddresses } from "./addresses.ts";
import { findType } from "./apiserver/resources.ts";
import { ObjectStore } from "./apiserver/store.ts";

export const CONTEXT_NAME = "kbridge-demo";
export const DEVELOPER_CONTEXT = "kbridge-demo-developer";
export const DEVELOPER = { user: "developer", groups: ["developers"] };

export interface TestCluster {
  addresses: ClusterAddresses;
  store: ObjectStore;
  controllers: Controllers;
  kubelet: Kubelet;
  proxy: ServiceProxy;
  ingress: IngressController;
  /** Absent when the cluster cannot bind port 53 (not root): pods then resolve no cluster names. */
  dns?: DnsServer;
  api: ApiServer;
  /** Present when the API server speaks HTTPS (the default). */
  certificates?: ClusterCertificates;
  /** The administrator's token (`system:masters`). */
  token: string;
  /** The developer's token (user `developer`, group `developers`). */
  developerToken: string;
  /** A token for another user of this cluster (RBAC decides what it may do). */
  addUser(user: string, groups?: string[]): string;
  /** Faults a test injects into the API server (403, 429, 500, 503, hangs). */
  faults: Faults;
  /** With `freezable`: the API server's front, which a test freezes to make it stop answering everyone. */
  front?: FreezableFront;
  /** What Pod Security's audit mode recorded (the audit log's annotations). */
  audit(): AuditEntry[];
  /** The WebSocket port-forwards open now (kbridge's tunnels among them). */
  portForwards(): ActivePortForward[];
  /**
   * Writes a kubeconfig for this cluster (mode 0600) and returns its path: the administrator's
   * context (current; token or, with `auth: "certificate"`, the client certificate) and the
   * developer's (namespace `developerNamespace`, default "default"); `context` picks the current one.
   */
  writeKubeconfig(file: string, options?: { auth?: "token" | "certificate"; developerNamespace?: string; context?: string }): string;
  stop(): Promise<void>;
}

export interface TestClusterOptions {
  port?: number;
  /** "https" (default, authenticated) or "http" (plain, unauthenticated; kubectl accepts it, client-node does not). */
  scheme?: "https" | "http";
  /** Image → program mappings beyond `node:<version>` (the demo app registers its images). */
  images?: ImageResolver[];
  /** Ingress controller port (default 80, or a free one when 80 cannot be bound). */
  ingressPort?: number;
  /** Base of restart and image-pull back-off; kubelet's is 10 s, tests shorten it. */
  backoffBaseMs?: number;
  ringSize?: number;
  /**
   * Whether a capability a container adds (NET_BIND_SERVICE) works for a non-root user, as on
   * runtimes that grant it (default); false: a node whose runtime does not (containerd 1.x
   * without unprivileged ports), where such a process still cannot bind below 1024.
   */
  nonRootCapabilities?: boolean;
  /**
   * Clients and pods reach the API server through a front that `front.freeze()` stops dead
   * (an outage); off by default, as the extra hop costs the benchmarks.
   */
  freezable?: boolean;
}

export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const addresses = await claimAddresses();
  const admission = new Admission(addresses.servicePrefix);
  const store = new ObjectStore(options.ringSize, admission);
  for (const name of ["default", "kube-system", "kube-public", "kube-node-lease"]) store.create(findType("", "v1", "namespaces")!, { metadata: { name } });
  for (const role of builtinClusterRoles()) store.create(findType("rbac.authorization.k8s.io", "v1", "clusterroles")!, role);
  for (const binding of builtinClusterRoleBindings()) store.create(findType("rbac.authorization.k8s.io", "v1", "clusterrolebindings")!, binding);
  store.create(findType("", "v1", "nodes")!, {
    metadata: { name: NODE_NAME, labels: { "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux" } },
    spec: {},
    status: {
      conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "kbridge test cluster node" }],
      addresses: [{ type: "InternalIP", address: "127.0.0.1" }, { type: "Hostname", address: NODE_NAME }],
      nodeInfo: { kubeletVersion: "v1.32.4", operatingSystem: "linux", architecture: "amd64", containerRuntimeVersion: "kbridge://processes" },
    },
  });
  const certificates = options.scheme === "http" ? undefined : makeCertificates(addresses.apiServiceIp);
  const controllers = startControllers(store, { rootCa: certificates?.caCert, onError: (error) => console.error("kbridge test cluster: controller error:", error) });
  const newToken = () => randomBytes(24).toString("base64url");
  const token = newToken();
  const developerToken = newToken();
  // The users' tokens, and each pod's service-account token once the kubelet mints it.
  const tokens = new Map<string, Caller>([
    [token, userCaller("kbridge-user", [MASTERS])],
    [developerToken, userCaller(DEVELOPER.user, DEVELOPER.groups)],
  ]);
  const kubelet = startKubelet({
    store,
    images: resolveImages(nodeImage, ...(options.images ?? [])),
    registerToken: (podToken, pod) =>
      tokens.set(podToken, serviceAccountCaller(pod.metadata.namespace ?? "default", (pod.spec as { serviceAccountName?: string } | undefined)?.serviceAccountName ?? "default")),
    backoffBaseMs: options.backoffBaseMs,
    nonRootCapabilities: options.nonRootCapabilities ?? true,
    podPrefix: addresses.podPrefix,
    podMounts: (...args) => podNetworkFiles(addresses.dns, ...args),
  });
  const tls = certificates && { key: certificates.serverKey, cert: certificates.serverCert, ca: certificates.caCert, authenticate: (offered: string) => tokens.get(offered) };
  const faults = new Faults();
  const upgrades = createUpgradeHandler({ store, execTarget: (...args) => kubelet.execTarget(...args) });
  const api = await startApiServer({
    store,
    port: options.port,
    tls,
    faults,
    podLogs: (...args) => kubelet.logFile(...args),
    upgrades,
  });
  const front = options.freezable ? await startFreezableFront({ host: "127.0.0.1", port: Number(new URL(api.url).port) }) : undefined;
  const apiUrl = front ? `${new URL(api.url).protocol}//${front.host}:${front.port}` : api.url;
  publishApiServerService(store, addresses.apiServiceIp, front?.port ?? Number(new URL(api.url).port), certificates ? "https" : "http");
  const proxy = startServiceProxy(store, (error) => console.error(`kbridge test cluster: ${error.message}`));
  const ingress = await startIngressController(store, addresses.ingress, options.ingressPort ?? 80);
  let dns: DnsServer | undefined;
  try {
    dns = await startDnsServer(addresses.dns, 53, clusterNames(store));
  } catch (error) {
    console.error(`kbridge test cluster: no cluster DNS (${(error as Error).message}); pods resolve cluster names only when the cluster runs as root`);
  }
  const base64 = (pem: string) => Buffer.from(pem).toString("base64");
  return {
    addresses,
    store,
    controllers,
    kubelet,
    proxy,
    ingress,
    dns,
    api,
    token,
    developerToken,
    addUser(user, groups = []) {
      const minted = newToken();
      tokens.set(minted, userCaller(user, groups));
      return minted;
    },
    faults,
    front,
    portForwards: () => upgrades.portForwards(),
    audit: () => [...admission.policies.audit],
    certificates,
    writeKubeconfig(file, { auth = "token", developerNamespace = "default", context = CONTEXT_NAME } = {}) {
      const user = !certificates
        ? {}
        : auth === "certificate"
          ? { "client-certificate-data": base64(certificates.clientCert), "client-key-data": base64(certificates.clientKey) }
          : { token };
      const config = {
        apiVersion: "v1",
        kind: "Config",
        "current-context": context,
        clusters: [{ name: CONTEXT_NAME, cluster: { server: apiUrl, ...(certificates ? { "certificate-authority-data": base64(certificates.caCert) } : {}) } }],
        users: [
          { name: `${CONTEXT_NAME}-user`, user },
          { name: DEVELOPER_CONTEXT, user: certificates ? { token: developerToken } : {} },
        ],
        contexts: [
          { name: CONTEXT_NAME, context: { cluster: CONTEXT_NAME, user: `${CONTEXT_NAME}-user`, namespace: "default" } },
          { name: DEVELOPER_CONTEXT, context: { cluster: CONTEXT_NAME, user: DEVELOPER_CONTEXT, namespace: developerNamespace } },
        ],
      };
      // JSON is YAML: kubectl and client-node read it as a kubeconfig.
      fs.writeFileSync(file, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
      return file;
    },
    stop: async () => {
      controllers.stop();
      await kubelet.stop();
      await ingress.stop();
      await proxy.stop();
      await dns?.close();
      faults.clear();
      await front?.close();
      await api.close();
      await addresses.release();
    },
  };
}

/** The `kubernetes` Service in `default` and its Endpoints: the API server, for pods. */
function publishApiServerService(store: ObjectStore, clusterIp: string, apiPort: number, scheme: "https" | "http"): void {
  const portName = scheme;
  store.create(findType("", "v1", "services")!, {
    metadata: { name: "kubernetes", namespace: "default", labels: { component: "apiserver", provider: "kubernetes" } },
    spec: { clusterIP: clusterIp, ports: [{ name: portName, port: scheme === "https" ? 443 : 80, targetPort: apiPort, protocol: "TCP" }] },
  });
  store.create(findType("", "v1", "endpoints")!, {
    metadata: { name: "kubernetes", namespace: "default", labels: { "endpointslice.kubernetes.io/skip-mirror": "true" } },
    subsets: [{ addresses: [{ ip: "127.0.0.1" }], ports: [{ name: portName, port: apiPort, protocol: "TCP" }] }],
  });
}
