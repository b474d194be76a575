/**
 * Isolation says "connected" only once the routing key reaches this session's agent, checked
 * end to end: through the outbound tunnel, the agent sends a probe to the routed Service
 * inside the cluster, as any client there would; the router in front of it sends the probe by
 * its key (the header, then the personal URL's host) to an agent, and only this session's
 * agent answers it with this session's id (agent.mjs KBRIDGE_ROUTE_PROBES). A router that has
 * not seen the agent yet sends the probe to the Service's own pods instead: tried again until
 * it routes, or the wait ends in an error that says which way failed.
 */
import type { Duplex } from "node:stream";
import { KbridgeError } from "../protocol/index.ts";
import { ROUTING_HEADER } from "../k8s/isolation.ts";

export interface RouteCheck {
  dial(host: string, port: number): Promise<Duplex>;
  service: string;
  namespace: string;
  port: number;
  sessionId: string;
  routingKey: string;
  /** Personal URL hosts (`<key>.<ingress host>`): the router marks requests for them with the key. */
  personalHosts: string[];
  timeoutMs?: number;
}

const PROBE_TIMEOUT_MS = 3000;

/** Resolves once every way to the agent (header, each personal host) answers with this session's id. */
export async function checkRouting(check: RouteCheck): Promise<string> {
  const deadline = Date.now() + (check.timeoutMs ?? 30_000);
  const host = `${check.service}.${check.namespace}.svc.cluster.local`;
  const ways: { name: string; headers: string }[] = [
    { name: `the header ${ROUTING_HEADER}: ${check.routingKey}`, headers: `Host: ${check.service}\r\n${ROUTING_HEADER}: ${check.routingKey}\r\n` },
    ...check.personalHosts.map((personal) => ({ name: `the personal URL's host ${personal}`, headers: `Host: ${personal}\r\n` })),
  ];
  const started = Date.now();
  for (const way of ways) {
    let last: string;
    for (;;) {
      try {
        const answer = await probe(await check.dial(host, check.port), `GET /.kbridge/route-probe/${check.sessionId} HTTP/1.1\r\n${way.headers}Connection: close\r\n\r\n`);
        if (answer.status === 200 && answer.body === check.sessionId) break;
        last = `HTTP ${answer.status} from ${answer.body === check.sessionId ? "this agent" : "another pod (the Service's own, or another developer's agent)"}`;
      } catch (error) {
        last = (error as Error).message;
      }
      if (Date.now() > deadline) {
        throw new KbridgeError({
          code: "routing-not-ready",
          category: "cluster",
          message: `Requests to service ${check.namespace}/${check.service} carrying ${way.name} do not reach this session's agent after ${Math.round((Date.now() - started) / 1000)} s: ${last}.`,
          hint: `See the router's log: kubectl logs deployment/kbridge-router-${check.service} -n ${check.namespace}`,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  return `requests with key ${check.routingKey} reach this agent (${ways.length === 1 ? "by header" : `by header and by ${ways.length - 1} personal URL(s)`}) in ${Date.now() - started} ms`;
}

/** Writes one request on the connection and reads its answer: the head, then the body by its Content-Length. */
function probe(connection: Duplex, request: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let text = "";
    const finish = (error: Error | null, answer?: { status: number; body: string }) => {
      clearTimeout(timer);
      connection.destroy();
      if (error) reject(error);
      else resolve(answer as { status: number; body: string });
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${PROBE_TIMEOUT_MS / 1000} s`)), PROBE_TIMEOUT_MS);
    connection.setEncoding("latin1");
    connection.on("data", (chunk: string) => {
      text += chunk;
      const at = text.indexOf("\r\n\r\n");
      if (at < 0) return;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(0, at))?.[1] ?? 0);
      if (text.length - at - 4 < length) return;
      finish(null, { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), body: text.slice(at + 4, at + 4 + length) });
    });
    connection.on("error", (error) => finish(error));
    connection.on("end", () => finish(new Error(`the connection ended after ${text.length} byte(s) of answer`)));
    connection.write(request);
  });
}
