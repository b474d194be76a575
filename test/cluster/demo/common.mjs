// Shared by the demo services (plain JavaScript: they are the "images" the test cluster runs).
import http from "node:http";

export const POD = process.env.HOSTNAME ?? "unknown-pod";

/** Headers that carry a developer's routing key; every hop forwards them (kbridge isolation mode). */
const PROPAGATED = ["kubernetes-route-as", "baggage", "traceparent"];

export function propagated(req) {
  const headers = {};
  for (const name of PROPAGATED) if (req.headers[name] !== undefined) headers[name] = req.headers[name];
  return headers;
}

export function sendJson(res, status, body) {
  res.writeHead(status, { "content-type": "application/json", "x-kbridge-demo-pod": POD });
  res.end(JSON.stringify({ pod: POD, ...body }));
}

/**
 * GET a URL of another service by its cluster name; resolves with status and parsed JSON.
 * A new connection per call (agent: false), so calls spread over every replica of a service.
 */
export function getJson(url, headers) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, timeout: 5000, agent: false }, (res) => {
        let body = "";
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => {
          try {
            resolve({ status: res.statusCode, body: JSON.parse(body) });
          } catch {
            reject(new Error(`${url} answered ${res.statusCode} with non-JSON: ${body.slice(0, 200)}`));
          }
        });
      })
      .on("timeout", function () {
        this.destroy(new Error(`${url} timed out`));
      })
      .on("error", reject);
  });
}

export function listen(server, name) {
  const port = Number(process.env.PORT ?? 8080);
  server.listen(port, () => console.log(`${name} listening on :${port} as ${POD}`));
  process.on("SIGTERM", () => {
    console.log(`${name} stopping`);
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
