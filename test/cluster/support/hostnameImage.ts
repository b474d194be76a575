/**
 * An image family for tests: `<name>:<any tag>` runs an HTTP server on 8080 that answers
 * with the pod's name; and workloads of other kinds than the demo's Deployments that use it.
 */
import type { ImageResolver } from "../kubelet/images.ts";

const SERVER = "require('http').createServer((q, s) => s.end(process.env.HOSTNAME)).listen(8080)";

export function hostnameImage(name: string): ImageResolver {
  return (image) => (image.startsWith(`${name}:`) ? { command: process.execPath, args: ["-e", SERVER] } : undefined);
}

/**
 * In the demo's namespace, on `hostnameImage("echo")`: StatefulSet `ledger` (2 replicas) and
 * bare Pod `solo`, each behind a Service on port 80; the ledger's pods also by name through
 * the headless service `ledger-peers` (port 8080); and `catalog`, an ExternalName service
 * for the api.
 */
export const OTHER_WORKLOADS = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: ledger, namespace: shop}
spec:
  serviceName: ledger-peers
  replicas: 2
  selector: {matchLabels: {app: ledger}}
  template:
    metadata: {labels: {app: ledger}}
    spec:
      containers:
      - name: ledger
        image: echo:1
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: solo, namespace: shop, labels: {app: solo}, annotations: {team: payments}}
spec:
  containers:
  - name: solo
    image: echo:1
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: ledger, namespace: shop}
spec:
  selector: {app: ledger}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: solo, namespace: shop}
spec:
  selector: {app: solo}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: ledger-peers, namespace: shop}
spec:
  clusterIP: None
  selector: {app: ledger}
  ports: [{name: http, port: 8080, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: catalog, namespace: shop}
spec:
  type: ExternalName
  externalName: api.shop.svc.cluster.local
`;
