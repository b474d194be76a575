import net from "node:net";
import { afterAll, expect, test } from "vitest";
import { describePortOwner, findPortOwner } from "./portOwner.ts";

const server = net.createServer();
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

test("names the process listening on a port, and nobody for a free one", async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  expect(findPortOwner(port)).toMatchObject({ pid: process.pid });
  expect(describePortOwner(port)).toMatch(new RegExp(`^pid ${process.pid} \\(.+\\)$`));

  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const freePort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  expect(findPortOwner(freePort)).toBeNull();
});
