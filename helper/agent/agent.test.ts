import { spawn } from "node:child_process";
import path from "node:path";
import { afterEach, expect, test } from "vitest";
import { tunnelOverTcp } from "../../test/support/agentTunnel.ts";
import { freePort } from "../../test/support/ports.ts";
import { until } from "../../test/support/until.ts";

// The agent as a plain process on loopback (no cluster): what it accepts on its tunnel ports.

const stops: (() => void)[] = [];
/** Only these variables, as the agent's container has (Next.js types make NODE_ENV mandatory). */
const only = (vars: Record<string, string>) => ({ PATH: process.env.PATH ?? "", ...vars }) as unknown as NodeJS.ProcessEnv;
afterEach(() => stops.splice(0).forEach((stop) => stop()));

async function startAgent(token: string) {
  const [inboundPort, outboundPort, appPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, [path.join(import.meta.dirname, "agent.mjs")], {
    env: only({ KBRIDGE_PORTS: String(appPort), KBRIDGE_INBOUND_PORT: String(inboundPort), KBRIDGE_OUTBOUND_PORT: String(outboundPort), KBRIDGE_TOKEN: token, KBRIDGE_SESSION: "test" }),
    stdio: ["ignore", "pipe", "inherit"],
  });
  stops.push(() => child.kill());
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  await until(() => output.includes("outbound port listening") && output.includes("inbound port listening"), "the agent to listen");
  return { inboundPort, outboundPort, output: () => output };
}

/** A tunnel to the agent's `port` that says hello with `token`; resolves with why it closed (undefined: still open after 500 ms). */
async function helloWith(port: number, token: string) {
  const tunnel = await tunnelOverTcp("127.0.0.1", port, token);
  stops.push(() => tunnel.close());
  await Promise.race([tunnel.closed, new Promise((resolve) => setTimeout(resolve, 500))]);
  return tunnel.closedBecause();
}

test("an agent started without its token (or a short one) refuses to run, and says why", async () => {
  for (const token of ["", "too-short"]) {
    const child = spawn(process.execPath, [path.join(import.meta.dirname, "agent.mjs")], { env: only({ KBRIDGE_PORTS: "8080", KBRIDGE_TOKEN: token }), stdio: ["ignore", "ignore", "pipe"] });
    let errors = "";
    child.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString()));
    expect(await new Promise((resolve) => child.once("exit", resolve))).toBe(2);
    expect(errors).toContain("KBRIDGE_TOKEN (the session's secret) is missing");
  }
});

test("an agent with its token takes the helper that says it, and refuses one that does not", async () => {
  const agent = await startAgent("s3cret-token-long-enough");
  expect(await helloWith(agent.outboundPort, "s3cret-token-long-enough")).toBeUndefined();
  expect(await helloWith(agent.inboundPort, "wrong")).toBe("the agent refused the tunnel: not this session's helper");
  // The token is never in the agent's log.
  expect(agent.output()).not.toContain("s3cret-token-long-enough");
});
