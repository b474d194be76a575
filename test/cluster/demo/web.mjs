// web: the front end behind the ingress; calls api by its service name.
import http from "node:http";
import { getJson, listen, POD, propagated, sendJson } from "./common.mjs";

const apiUrl = process.env.API_URL ?? "http://api";

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://web");
  if (url.pathname === "/healthz") return sendJson(res, 200, { ok: true });
  let api;
  try {
    api = await getJson(`${apiUrl}/api/items`, propagated(req));
  } catch (error) {
    console.error(`web: api failed: ${error.message}`);
    return sendJson(res, 502, { error: `api failed: ${error.message}` });
  }
  if (url.pathname === "/status") return sendJson(res, api.status, { web: POD, api: api.body.pod, store: api.body.store, greeting: api.body.greeting, routeAs: api.body.routeAs });
  if (url.pathname === "/") {
    const items = (api.body.items ?? []).map((item) => `<li>${escape(item.name)}</li>`).join("");
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "x-kbridge-demo-pod": POD });
    return res.end(`<!doctype html><title>kbridge demo shop</title><h1>${escape(api.body.greeting)} from the demo shop</h1><ul>${items}</ul><p>web ${escape(POD)} → api ${escape(api.body.pod)} → store ${escape(api.body.store)}</p>`);
  }
  sendJson(res, 404, { error: `no route ${req.method} ${url.pathname}` });
});
listen(server, "web");
