/** `pods/{name}/log`: a container's output from the kubelet's CRI log file, as the API server streams it. */
import fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { queryFlag } from "./queryFlag.ts";
import type { RestContext, Target } from "./rest.ts";
import { badRequest } from "./status.ts";

/**
 * `pods/{name}/log`: the container's output from its CRI log file, with container,
 * previous, tailLines, sinceSeconds, sinceTime, timestamps, limitBytes and follow.
 */
export async function servePodLog(ctx: RestContext, target: Target, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const pod = ctx.store.get(target.type, target.namespace, target.name ?? "");
  const containers = ((pod.spec as { containers?: { name: string }[] }).containers ?? []).map((c) => c.name);
  let container = query.get("container");
  if (!container) {
    if (containers.length !== 1) throw badRequest(`a container name must be specified for pod ${pod.metadata.name}, choose one of: [${containers.join(" ")}]`);
    container = containers[0] as string;
  }
  if (!containers.includes(container)) throw badRequest(`container ${container} is not valid for pod ${pod.metadata.name}`);
  if (!ctx.podLogs) throw badRequest(`container "${container}" in pod "${pod.metadata.name}" is waiting to start: no kubelet runs in this test cluster`);
  const source = ctx.podLogs(target.namespace ?? "", pod.metadata.name ?? "", container, queryFlag(query, "previous"));
  if ("error" in source) throw badRequest(source.error);
  const sinceSeconds = query.get("sinceSeconds");
  const since = sinceSeconds ? Date.now() - Number(sinceSeconds) * 1000 : query.get("sinceTime") ? Date.parse(query.get("sinceTime") as string) : 0;
  const timestamps = queryFlag(query, "timestamps");
  let remaining = query.get("limitBytes") ? Number(query.get("limitBytes")) : Infinity;
  const render = (line: string): string | null => {
    const match = /^(\S+) (stdout|stderr) [FP] (.*)$/.exec(line);
    if (!match) return null;
    if (since && Date.parse(match[1] as string) < since) return null;
    return `${timestamps ? `${match[1]} ` : ""}${match[3]}\n`;
  };
  res.writeHead(200, { "Content-Type": "text/plain", "Transfer-Encoding": "chunked" });
  const write = (text: string) => {
    if (remaining <= 0) return;
    const chunk = Buffer.from(text).subarray(0, remaining);
    remaining -= chunk.length;
    res.write(chunk);
  };
  // One descriptor for the whole read: a followed file stays readable after the pod's folder is removed.
  let fd: number;
  try {
    fd = fs.openSync(source.file, "r");
  } catch {
    return void res.end();
  }
  let offset = 0;
  let partial = "";
  const readNew = (): string[] => {
    const size = fs.fstatSync(fd).size;
    if (size <= offset) return [];
    const buffer = Buffer.alloc(size - offset);
    fs.readSync(fd, buffer, 0, buffer.length, offset);
    offset = size;
    const parts = (partial + buffer.toString("utf8")).split("\n");
    partial = parts.pop() ?? "";
    return parts.map(render).filter((l): l is string => l !== null);
  };
  let lines = readNew();
  const tail = query.get("tailLines");
  if (tail !== null) lines = lines.slice(Math.max(0, lines.length - Number(tail)));
  lines.forEach(write);
  if (!queryFlag(query, "follow") || !source.active()) {
    fs.closeSync(fd);
    return void res.end();
  }
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    fs.closeSync(fd);
  };
  const timer = setInterval(() => {
    // Read what the run wrote up to its end, then stop following.
    const active = source.active();
    readNew().forEach(write);
    if (!active || remaining <= 0) {
      close();
      res.end();
    }
  }, 100);
  req.on("close", close);
}
