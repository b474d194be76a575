import { describe, expect, test } from "vitest";
import { isAllowedOrigin, isLoopbackHost } from "./addresses.ts";

describe("Host and Origin checks", () => {
  test("accepts the loopback names on the right port only", () => {
    expect(isLoopbackHost("localhost:4300", 4300)).toBe(true);
    expect(isLoopbackHost("127.0.0.1:4300", 4300)).toBe(true);
    expect(isLoopbackHost("[::1]:4300", 4300)).toBe(true);
    expect(isLoopbackHost("LOCALHOST:4300", 4300)).toBe(true);
    expect(isLoopbackHost("localhost:4301", 4300)).toBe(false);
    expect(isLoopbackHost("localhost", 4300)).toBe(false);
    expect(isLoopbackHost("evil.example:4300", 4300)).toBe(false);
    expect(isLoopbackHost("localhost.evil.example:4300", 4300)).toBe(false);
    expect(isLoopbackHost(undefined, 4300)).toBe(false);
  });

  test("accepts no Origin or the dashboard's own; refuses foreign and null origins", () => {
    expect(isAllowedOrigin(undefined, 4300)).toBe(true);
    expect(isAllowedOrigin("http://localhost:4300", 4300)).toBe(true);
    expect(isAllowedOrigin("http://127.0.0.1:4300", 4300)).toBe(true);
    expect(isAllowedOrigin("http://evil.example", 4300)).toBe(false);
    expect(isAllowedOrigin("http://localhost:8080", 4300)).toBe(false);
    expect(isAllowedOrigin("https://localhost:4300", 4300)).toBe(false);
    expect(isAllowedOrigin("null", 4300)).toBe(false);
  });
});
