// HTTP/1 framing for the router (router.mjs): where each message's head and body end, so every
// request on a kept-alive connection is routed on its own while the bytes themselves pass
// through unparsed. No dependencies; shipped beside router.mjs in the routers' ConfigMap.

const MAX_HEAD = 64 * 1024;
const CRLF2 = Buffer.from("\r\n\r\n");

/** A message head: its start line and headers (names lower-cased; repeated ones joined with ", "). */
export function parseHead(head) {
  const lines = head.toString("latin1").split("\r\n");
  const headers = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { startLine: lines[0], headers };
}

/** How a message's body is delimited. */
export function bodyFraming(headers) {
  if (/chunked/i.test(headers["transfer-encoding"] ?? "")) return { kind: "chunked" };
  if (headers["content-length"] !== undefined) {
    const length = Number(headers["content-length"]);
    return length > 0 ? { kind: "length", left: length } : { kind: "none" };
  }
  return { kind: "none" };
}

/**
 * Splits a byte stream into messages. `onHead(head, parsed)` returns the body's framing
 * ({kind: none|length|chunked|close|raw}), or null to hold the head until feed() is called
 * again; `onBody(bytes)` gets the body's bytes as they come (chunk framing included);
 * `onEnd()` marks a message's end. Throws on a head larger than 64 KiB.
 */
export function framer(onHead, onBody, onEnd) {
  let buffer = Buffer.alloc(0);
  let mode = { kind: "head" };
  const finish = () => {
    mode = { kind: "head" };
    onEnd();
  };
  return function feed(chunk) {
    if (chunk.length) buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    while (buffer.length > 0) {
      if (mode.kind === "head") {
        const end = buffer.indexOf(CRLF2);
        if (end < 0) {
          if (buffer.length > MAX_HEAD) throw new Error("message head larger than 64 KiB");
          return;
        }
        const head = buffer.subarray(0, end + 4);
        const framing = onHead(head, parseHead(head));
        if (framing === null) return;
        buffer = buffer.subarray(end + 4);
        mode = framing.kind === "chunked" ? { kind: "chunk-size" } : framing;
        if (mode.kind === "none") finish();
      } else if (mode.kind === "length") {
        const take = Math.min(mode.left, buffer.length);
        onBody(buffer.subarray(0, take));
        buffer = buffer.subarray(take);
        mode.left -= take;
        if (mode.left === 0) finish();
      } else if (mode.kind === "chunk-size" || mode.kind === "trailer") {
        const eol = buffer.indexOf("\r\n");
        if (eol < 0) return;
        const line = buffer.subarray(0, eol + 2);
        onBody(line);
        buffer = buffer.subarray(eol + 2);
        if (mode.kind === "trailer") {
          if (line.length === 2) finish();
        } else {
          const size = parseInt(line.toString("latin1"), 16);
          if (Number.isNaN(size)) throw new Error("bad chunk size");
          mode = size === 0 ? { kind: "trailer" } : { kind: "chunk-data", left: size + 2 };
        }
      } else if (mode.kind === "chunk-data") {
        const take = Math.min(mode.left, buffer.length);
        onBody(buffer.subarray(0, take));
        buffer = buffer.subarray(take);
        mode.left -= take;
        if (mode.left === 0) mode = { kind: "chunk-size" };
      } else {
        // close (a response read until the server closes) or raw (after an upgrade): everything passes.
        onBody(buffer);
        buffer = Buffer.alloc(0);
      }
    }
  };
}
