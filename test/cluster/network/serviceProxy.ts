/**
 * kube-proxy for the test cluster: a TCP listener on every ClusterIP:port, forwarding each
 * connection to a ready endpoint (round robin); with none ready the connection is reset,
 * as a rejected connection is on a real node. Follows services and endpoints live.
 */
import net from "node:net";
import { admits } from "./networkPolicy.ts";
import type { ObjectStore } from "../apiserver/store.ts";
import { arr, kind, obj } from "../controllers/objects.ts";

interface Listener {
  server: net.Server;
  key: string;
}

export interface ServiceProxy {
  stop(): Promise<void>;
}

export function startServiceProxy(store: ObjectStore, onError: (error: Error) => void = () => undefined): ServiceProxy {
  const listeners = new Map<string, Listener>();
  const turn = new Map<string, number>();

  /** Ready `ip:port` targets of a service port, by port name (Endpoints subsets). */
  const targets = (namespace: string, service: string, portName: string): { host: string; port: number }[] => {
    const endpoints = store.find(kind("Endpoints"), namespace, service);
    return arr(endpoints?.subsets).flatMap((subset) => {
      const port = arr(subset.ports).find((p) => (p.name ?? "") === portName);
      return port ? arr(subset.addresses).map((a) => ({ host: String(a.ip), port: Number(port.port) })) : [];
    });
  };

  const sync = () => {
    const wanted = new Map<string, { ip: string; port: number; namespace: string; service: string; portName: string }>();
    for (const service of store.list(kind("Service"))) {
      const spec = obj(service.spec);
      const ip = spec.clusterIP;
      if (typeof ip !== "string" || ip === "None" || ip === "" || spec.type === "ExternalName") continue;
      for (const port of arr(spec.ports)) {
        if ((port.protocol ?? "TCP") !== "TCP") continue;
        const key = `${ip}:${port.port}`;
        wanted.set(key, { ip, port: Number(port.port), namespace: String(service.metadata.namespace), service: String(service.metadata.name), portName: String(port.name ?? "") });
      }
    }
    for (const [key, listener] of listeners) {
      if (!wanted.has(key)) {
        listener.server.close();
        listeners.delete(key);
      }
    }
    for (const [key, target] of wanted) {
      if (listeners.has(key)) continue;
      // Half-open both ways, as the kernel's forwarding is: a client that shuts down its
      // sending side still gets the answer.
      const server = net.createServer({ allowHalfOpen: true }, (client) => {
        const choices = targets(target.namespace, target.service, target.portName);
        if (choices.length === 0) return client.resetAndDestroy();
        const index = (turn.get(key) ?? 0) % choices.length;
        turn.set(key, index + 1);
        // kube-proxy forwards in the kernel: no Nagle delay is added on the way.
        client.setNoDelay(true);
        const choice = choices[index] as { host: string; port: number };
        // kube-proxy keeps the client's address: its NetworkPolicies decide (refused: reset).
        if (!admits(store, (client.remoteAddress ?? "").replace(/^::ffff:/, ""), choice.host, choice.port)) return client.resetAndDestroy();
        // From the ClusterIP, so the pod tells forwarded traffic from its own loopback's.
        const upstream = net.connect({ ...choice, localAddress: target.ip, noDelay: true, allowHalfOpen: true });
        client.pipe(upstream).pipe(client);
        const end = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on("error", end);
        upstream.on("error", () => client.resetAndDestroy());
      });
      server.on("error", (error) => onError(new Error(`service proxy ${key} (${target.namespace}/${target.service}): ${error.message}`)));
      server.listen(target.port, target.ip);
      listeners.set(key, { server, key });
    }
  };

  let queued = false;
  const unsubscribe = store.watch(Number(store.resourceVersion), (event) => {
    if (event.resource.kind !== "Service" || queued) return;
    queued = true;
    setImmediate(() => {
      queued = false;
      sync();
    });
  });
  sync();
  return {
    async stop() {
      unsubscribe();
      await Promise.all([...listeners.values()].map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))));
      listeners.clear();
    },
  };
}
