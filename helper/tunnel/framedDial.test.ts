import { describe, expect, test } from "vitest";
import { FrameReader } from "./framedDial.ts";

function encode(payloads: Buffer[]): Buffer {
  return Buffer.concat(
    payloads.flatMap((payload) => {
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(payload.length, 0);
      return [prefix, payload];
    }),
  );
}

function read(bytes: Buffer, chunkSize: number) {
  const seen: { control?: string; data: Buffer[]; ended: number } = { data: [], ended: 0 };
  const reader = new FrameReader({ control: (p) => (seen.control = p.toString()), data: (p) => seen.data.push(Buffer.from(p)), end: () => seen.ended++ });
  for (let at = 0; at < bytes.length; at += chunkSize) reader.push(bytes.subarray(at, at + chunkSize));
  return { control: seen.control, data: Buffer.concat(seen.data).toString(), ended: seen.ended };
}

describe("FrameReader", () => {
  const stream = encode([Buffer.from('{"ok":true}'), Buffer.from("hello "), Buffer.from("world"), Buffer.alloc(0)]);

  test.each([1, 2, 3, 5, 7, 64])("splits frames whatever the chunk boundaries (%i-byte chunks)", (size) => {
    expect(read(stream, size)).toEqual({ control: '{"ok":true}', data: "hello world", ended: 1 });
  });

  test("an empty control frame is still the control frame, and data after the end-frame is not data of this direction", () => {
    expect(read(encode([Buffer.alloc(0), Buffer.from("x"), Buffer.alloc(0)]), 3)).toEqual({ control: "", data: "x", ended: 1 });
  });

  test("a large data frame arrives in pieces without being copied whole", () => {
    const big = Buffer.alloc(300_000, 97);
    const pieces: number[] = [];
    const reader = new FrameReader({ control: () => undefined, data: (p) => pieces.push(p.length), end: () => undefined });
    const bytes = encode([Buffer.from("{}"), big]);
    for (let at = 0; at < bytes.length; at += 65_536) reader.push(bytes.subarray(at, at + 65_536));
    expect(pieces.reduce((a, b) => a + b, 0)).toBe(big.length);
    expect(Math.max(...pieces)).toBeLessThanOrEqual(65_536);
  });
});
