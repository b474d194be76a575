// store: the demo's data, seeded from a ConfigMap file; behind a headless Service.
import fs from "node:fs";
import http from "node:http";
import { listen, sendJson } from "./common.mjs";

const seedFile = process.env.ITEMS_FILE ?? "/etc/demo/items.json";
const items = JSON.parse(fs.readFileSync(seedFile, "utf8"));

const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://store");
  if (url.pathname === "/healthz") return sendJson(res, 200, { ok: true });
  if (url.pathname === "/items" && req.method === "GET") return sendJson(res, 200, { items });
  if (url.pathname === "/items" && req.method === "POST") {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      const name = String(JSON.parse(body || "{}").name ?? "").trim();
      if (!name) return sendJson(res, 400, { error: "name is required" });
      items.push({ name });
      sendJson(res, 201, { items });
    });
    return;
  }
  sendJson(res, 404, { error: `no route ${req.method} ${url.pathname}` });
});
listen(server, "store");
