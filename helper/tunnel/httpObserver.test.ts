import { expect, test } from "vitest";
import { HttpObserver, type HttpExchange } from "./httpObserver.ts";

const observe = () => {
  const seen: Omit<HttpExchange, "ms">[] = [];
  const observer = new HttpObserver(({ method, path, status }) => seen.push({ method, path, status }));
  return { seen, observer };
};
const b = (text: string) => Buffer.from(text, "latin1");

test("keep-alive: every request of a connection, bodies by length and chunked, split anywhere", () => {
  const { seen, observer } = observe();
  const requests = "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world" + "GET /orders/1?full=1 HTTP/1.1\r\nHost: x\r\n\r\n" + "PUT /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
  const responses = "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok" + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\nX-Trailer: y\r\n\r\n" + "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
  // Byte by byte: framing must not depend on how the stream is cut.
  for (const byte of b(requests)) observer.request(Buffer.from([byte]));
  for (let i = 0; i < responses.length; i += 7) observer.response(b(responses.slice(i, i + 7)));
  expect(seen).toEqual([
    { method: "POST", path: "/orders", status: 201 },
    { method: "GET", path: "/orders/1?full=1", status: 200 },
    { method: "PUT", path: "/up", status: 500 },
  ]);
});

test("HEAD, 204 and 304 have no body; a 100 Continue is not the answer", () => {
  const { seen, observer } = observe();
  observer.request(b("HEAD /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\nPOST /d HTTP/1.1\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\nx"));
  observer.response(b("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"));
  expect(seen.map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual(["HEAD /a 200", "GET /b 204", "GET /c 304", "POST /d 202"]);
});

test("not HTTP, or an upgrade: nothing more is reported for the connection", () => {
  const binary = observe();
  binary.observer.request(b("\x16\x03\x01\x02\x00 TLS hello"));
  binary.observer.response(b("HTTP/1.1 200 OK\r\n\r\n"));
  expect(binary.seen).toEqual([]);

  const upgrade = observe();
  upgrade.observer.request(b("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"));
  upgrade.observer.response(b("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"));
  upgrade.observer.request(b("GET /not-http HTTP/1.1\r\n\r\n"));
  expect(upgrade.seen).toEqual([{ method: "GET", path: "/ws", status: 101 }]);
});
