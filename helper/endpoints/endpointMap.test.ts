import fs from "node:fs";
import path from "node:path";
import { afterEach, expect, test } from "vitest";
import { tempDir } from "../../test/support/tempDir.ts";
import type { ClusterEndpoint } from "../k8s/serviceCatalog.ts";
import { silentLogger } from "../logs/logger.ts";
import { EndpointMap } from "./endpointMap.ts";

const dir = tempDir("endpoint-map");
const maps: EndpointMap[] = [];
afterEach(async () => {
  for (const map of maps.splice(0)) await map.close();
});

const endpoint = (namespace: string, service: string, port: number, names = [service, `${service}.${namespace}`]): ClusterEndpoint => ({ key: `${namespace}/${service}`, namespace, service, kind: "service", ports: [{ port }], names, dialHost: `${service}.${namespace}` });

function newMap(hostsFile: string, blockId: string, warnings: unknown[] = []): EndpointMap {
  const log = silentLogger();
  log.warn = ((fields: unknown) => void warnings.push(fields)) as typeof log.warn;
  const map = new EndpointMap({ mode: "hosts", hostsFile, blockId, dial: () => Promise.reject(new Error("not in this test")), log });
  maps.push(map);
  return map;
}

test("two sessions of one helper in one namespace never share an address, even on different ports; another helper's addresses are left alone", async () => {
  const hostsFile = path.join(dir, "hosts");
  // Another helper's block already names 127.1.1.1.
  fs.writeFileSync(hostsFile, "127.0.0.1 localhost\n# kbridge begin other-s9 — x\n127.1.1.1 elsewhere\n# kbridge end other-s9\n");
  const first = newMap(hostsFile, "helper-s1");
  const second = newMap(hostsFile, "helper-s2");
  await first.update([endpoint("shop", "api", 80), endpoint("shop", "store", 8080)]);
  await second.update([endpoint("shop", "web", 80), endpoint("shop", "ledger", 9090)]);
  const addresses = [...first.list(), ...second.list()].map((e) => `${e.address} ${e.service}`);
  expect(new Set(addresses.map((a) => a.split(" ")[0])).size).toBe(4);
  expect(addresses.some((a) => a.startsWith("127.1.1.1 "))).toBe(false);
  // What the hosts file says matches: each address under one name.
  const named = new Map<string, Set<string>>();
  for (const line of fs.readFileSync(hostsFile, "utf8").split("\n").filter((l) => l.startsWith("127.1."))) {
    const [address = "", name = ""] = line.split(/\s+/);
    named.set(address, (named.get(address) ?? new Set()).add(name));
  }
  for (const [address, names] of named) expect(names.size, address).toBe(1);
  // Addresses come free again once their service is unmapped.
  await first.update([]);
  await second.update([endpoint("shop", "web", 80), endpoint("shop", "ledger", 9090), endpoint("shop", "api", 80)]);
  expect(second.list().find((e) => e.service === "api")?.address).toBe("127.1.1.2");
});

test("a service name that is no DNS name stays out of the hosts file, with a warning", async () => {
  const hostsFile = path.join(dir, "hosts-names");
  fs.writeFileSync(hostsFile, "127.0.0.1 localhost\n");
  const warnings: unknown[] = [];
  const map = newMap(hostsFile, "helper-s3", warnings);
  await map.update([endpoint("shop", "api", 80, ["api", "api\n6.6.6.6 github.com"])]);
  expect(fs.readFileSync(hostsFile, "utf8")).not.toContain("github.com");
  expect(warnings).toEqual([{ skipped: ['"api\\n6.6.6.6 github.com" (not a DNS name)'] }]);
});
