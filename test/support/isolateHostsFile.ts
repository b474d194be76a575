/**
 * Vitest setup for every test file: kbridge processes started by tests (in process or as
 * children, which inherit the environment) edit a hosts file of the test's own, never the
 * machine's shared /etc/hosts — and a tripwire fails the file if /etc/hosts changed anyway
 * (a test that handed kbridge an environment without KBRIDGE_HOSTS_FILE).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll } from "vitest";

const machineHosts = fs.existsSync("/etc/hosts") ? fs.readFileSync("/etc/hosts", "utf8") : null;
afterAll(() => {
  const now = fs.existsSync("/etc/hosts") ? fs.readFileSync("/etc/hosts", "utf8") : null;
  if (now !== machineHosts) throw new Error("A test changed the machine's /etc/hosts: pass KBRIDGE_HOSTS_FILE (set by this setup) to every kbridge it starts.");
});

if (!process.env.KBRIDGE_HOSTS_FILE) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kbridge-hosts-"));
  process.env.KBRIDGE_HOSTS_FILE = path.join(dir, "hosts");
  fs.writeFileSync(process.env.KBRIDGE_HOSTS_FILE, "127.0.0.1 localhost\n::1 localhost\n");
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
}
