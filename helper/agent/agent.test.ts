import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterEach, expect, test } from "vitest";
import { tunnelOverTcp } from "../../test/support/agentTunnel.ts";
import { freePort } from "../../test/support/ports.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { until } from "../../test/support/until.ts";
import { MUX_MAGIC_TOKEN } from "./mux.mjs";
import { newHelperKey } from "./helloProof.mjs";
import { openOutboundTunnel } from "../tunnel/outboundTunnel.ts";
import { silentLogger } from "../logs/logger.ts";
import type { AgentNotice } from "../tunnel/muxTunnel.ts";

// The agent as a plain process on loopback (no cluster): whom it adopts on its tunnel ports, what it serves.

const dir = tempDir("agent");
const stops: (() => void)[] = [];
/** Only these variables, as the agent's container has (Next.js types make NODE_ENV mandatory). */
const only = (vars: Record<string, string>) => ({ PATH: process.env.PATH ?? "", ...vars }) as unknown as NodeJS.ProcessEnv;
afterEach(() => stops.splice(0).forEach((stop) => stop()));

const key = newHelperKey();
const own = { session: "test", privateKey: key.privateKey };

async function startAgent(env: Record<string, string> = {}) {
  const [inboundPort, outboundPort, appPort, readyPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, [path.join(import.meta.dirname, "agent.mjs")], {
    env: only({ KBRIDGE_PORTS: String(appPort), KBRIDGE_INBOUND_PORT: String(inboundPort), KBRIDGE_OUTBOUND_PORT: String(outboundPort), KBRIDGE_READY_PORT: String(readyPort), KBRIDGE_HELPER_KEY: key.publicKey, KBRIDGE_SESSION: "test", ...env }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  stops.push(() => child.kill());
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  let errors = "";
  child.stderr?.on("data", (chunk: Buffer) => (errors += chunk.toString()));
  await until(() => {
    if (child.exitCode !== null) throw new Error(`the agent exited (${child.exitCode}): ${output}${errors}`);
    return output.includes("outbound port listening") && output.includes("inbound port listening") && output.includes("ready port listening");
  }, "the agent to listen");
  return { inboundPort, outboundPort, readyPort, output: () => output };
}

test("an agent started without the helper's public key (or with something else) refuses to run, and says why", async () => {
  for (const helperKey of ["", "bm90IGEga2V5", newHelperKey().privateKey]) {
    const child = spawn(process.execPath, [path.join(import.meta.dirname, "agent.mjs")], { env: only({ KBRIDGE_PORTS: "8080", KBRIDGE_HELPER_KEY: helperKey }), stdio: ["ignore", "ignore", "pipe"] });
    let errors = "";
    child.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString()));
    expect(await new Promise((resolve) => child.once("exit", resolve))).toBe(2);
    expect(errors).toContain("KBRIDGE_HELPER_KEY (the helper's Ed25519 public key, SPKI DER in base64) is missing or not such a key");
  }
});

test("the agent adopts the helper that signs its challenge; another key, another session or a token is refused, and the helper is told at once", async () => {
  const agent = await startAgent();
  const notices: { at: number; notice: AgentNotice }[] = [];
  const mine = await tunnelOverTcp("127.0.0.1", agent.inboundPort, own, { onNotice: (notice) => notices.push({ at: Date.now(), notice }) });
  stops.push(() => mine.close());
  const started = Date.now();
  await expect(tunnelOverTcp("127.0.0.1", agent.outboundPort, { session: "test", privateKey: newHelperKey().privateKey })).rejects.toThrow("the agent refused the tunnel: not this session's helper");
  await expect(tunnelOverTcp("127.0.0.1", agent.outboundPort, { session: "other", privateKey: key.privateKey })).rejects.toThrow("the agent refused the tunnel: not this session's helper");
  await until(() => notices.length === 2, "both refusals told to the helper", 2_000);
  expect(notices.map((n) => n.notice)).toEqual([
    { refused: "outbound", from: "127.0.0.1", why: "its signature does not match the session's key" },
    { refused: "outbound", from: "127.0.0.1", why: "it named session other" },
  ]);
  expect(Math.max(...notices.map((n) => n.at - started))).toBeLessThan(2_000);
  // The handshake of kbridge before the key (a token in the hello) is not spoken at all.
  const legacy = net.connect({ host: "127.0.0.1", port: agent.outboundPort });
  legacy.write(Buffer.concat([MUX_MAGIC_TOKEN, Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 2]), Buffer.from("{}")]));
  await new Promise((resolve) => legacy.once("close", resolve));
  // The owner's tunnel is still up, and the private key never reached the agent's log.
  expect(mine.closedBecause()).toBeUndefined();
  expect(agent.output()).not.toContain(key.privateKey.split("\n")[1]);
});

test("the helper's ports listen on loopback only; the ready port answers the probe on every address", async () => {
  const agent = await startAgent();
  const listening = agent.output();
  expect(listening).toMatch(/"inbound port listening","port":\d+,"address":"127\.0\.0\.1"/);
  expect(listening).toMatch(/"outbound port listening","port":\d+,"address":"127\.0\.0\.1"/);
  expect(listening).toMatch(/"ready port listening","port":\d+,"address":"(::|0\.0\.0\.0)"/);
  const probe = net.connect({ host: "127.0.0.1", port: agent.readyPort });
  await new Promise((resolve, reject) => probe.once("close", resolve).once("error", reject));
});

test("the files request serves only the container's volume mounts: no path outside, no link out, no device or FIFO", async () => {
  const volume = path.join(dir, "config");
  fs.mkdirSync(path.join(volume, "nested"), { recursive: true });
  fs.writeFileSync(path.join(volume, "app.yaml"), "port: 8080\n");
  fs.writeFileSync(path.join(volume, "nested", "more.txt"), "more\n");
  fs.symlinkSync("/etc/hostname", path.join(volume, "escape"));
  fs.symlinkSync("/dev/zero", path.join(volume, "zeros"));
  fs.symlinkSync(volume, path.join(volume, "nested", "loop"));
  const { execFileSync } = await import("node:child_process");
  execFileSync("mkfifo", [path.join(volume, "pipe")]);
  const agent = await startAgent({ KBRIDGE_VOLUME_MOUNTS: JSON.stringify([volume]) });
  const tunnel = await openOutboundTunnel(
    async (forward) => {
      const socket = net.connect({ host: "127.0.0.1", port: agent.outboundPort });
      await new Promise((resolve) => socket.once("connect", resolve));
      socket.on("data", forward.data).on("close", () => forward.close());
      return { send: (chunks) => void socket.write(Buffer.concat(chunks)), buffered: () => socket.writableLength, close: () => socket.destroy() };
    },
    own,
    silentLogger(),
  );
  stops.push(() => tunnel.close());
  const started = Date.now();
  const files = await tunnel.files(volume);
  expect(Date.now() - started).toBeLessThan(1_000);
  expect(files.map((f) => [f.path, Buffer.from(f.data, "base64").toString()]).sort()).toEqual([
    ["app.yaml", "port: 8080\n"],
    ["nested/more.txt", "more\n"],
  ]);
  for (const outside of ["/etc", "/etc/hostname", `${volume}/../agent-outside`, path.dirname(volume)]) {
    await expect(tunnel.files(outside), outside).rejects.toMatchObject({ info: { message: expect.stringMatching(/EPERM: .*(not within a volume mount|without "\.\.")/) } });
  }
  await expect(tunnel.files(path.join(volume, "escape"))).rejects.toMatchObject({ info: { message: expect.stringContaining("leads outside the container's volume mounts") } });
});
