import { expect, test } from "vitest";
import { checkRoutingKey, defaultRoutingKey } from "./routingKey.ts";

const fixed = () => Buffer.from([0x3f, 0x9c]);

test("the default key is the user's name, letters and digits only, at most 8, and 4 hex digits", () => {
  expect(defaultRoutingKey("Alice", fixed)).toBe("alice-3f9c");
  expect(defaultRoutingKey("Jean-Baptiste O'Neil", fixed)).toBe("jeanbapt-3f9c");
  // Nothing left of the name: its hash, as Bridge to Kubernetes did.
  expect(defaultRoutingKey("李雷", fixed)).toMatch(/^[0-9a-f]{8}-3f9c$/);
  expect(defaultRoutingKey("root")).toMatch(/^root-[0-9a-f]{4}$/);
  expect(() => checkRoutingKey(defaultRoutingKey("李雷"), [{ host: "shop.example.com", tls: true }])).not.toThrow();
});

test("a key must be a DNS label, and <key>.<host> must fit DNS and, for TLS hosts, a certificate's name", () => {
  expect(() => checkRoutingKey("alice-3f9c", [{ host: "shop.example.com", tls: true }])).not.toThrow();
  for (const bad of ["Alice", "-alice", "alice-", "al ice", "al_ice", "a".repeat(64)]) {
    expect(() => checkRoutingKey(bad), bad).toThrow(expect.objectContaining({ info: expect.objectContaining({ code: "routing-key-invalid", fields: { routingKey: expect.stringMatching(/is not a DNS label/) } }) }));
  }
  const host = `${"shop".repeat(12)}.example.com`; // 60 characters
  expect(() => checkRoutingKey("alice-3f9c", [{ host, tls: false }])).not.toThrow();
  expect(() => checkRoutingKey("alice-3f9c", [{ host, tls: true }])).toThrow(/is 71 characters; a TLS certificate's name holds at most 64/);
  expect(() => checkRoutingKey("a", [{ host: `${"x".repeat(63)}.${"y".repeat(63)}.${"z".repeat(63)}.${"w".repeat(60)}`, tls: false }])).toThrow(/longer than DNS allows/);
});
