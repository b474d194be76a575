// api: two replicas; reads its greeting from a ConfigMap and its token from a Secret; calls store by name.
import http from "node:http";
import { getJson, listen, propagated, sendJson } from "./common.mjs";

const greeting = process.env.GREETING ?? "hello";
if (!process.env.API_TOKEN) {
  console.error("api: API_TOKEN is not set (it comes from the shop-secrets Secret)");
  process.exit(1);
}
const storeUrl = process.env.STORE_URL ?? "http://store:8080";

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://api");
  if (url.pathname === "/healthz") return sendJson(res, 200, { ok: true });
  if (url.pathname === "/api/items") {
    try {
      const store = await getJson(`${storeUrl}/items`, propagated(req));
      return sendJson(res, store.status, { greeting, items: store.body.items, store: store.body.pod, routeAs: req.headers["kubernetes-route-as"] ?? null });
    } catch (error) {
      console.error(`api: store failed: ${error.message}`);
      return sendJson(res, 502, { error: `store failed: ${error.message}` });
    }
  }
  sendJson(res, 404, { error: `no route ${req.method} ${url.pathname}` });
});
listen(server, "api");
