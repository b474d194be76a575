import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { freePort } from "../../test/support/ports.ts";
import { tempDir, writeKubeconfig } from "../../test/support/tempDir.ts";
import { runHelper } from "../server/runHelper.ts";
import type { HelperServer } from "../server/startHelperServer.ts";
import { main } from "./main.ts";

const dir = tempDir("cli");
let helper: HelperServer;

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(argv, (t) => (out += t), (t) => (err += t));
  return { code, out, err };
}

beforeAll(async () => {
  process.env.KBRIDGE_HOME = path.join(dir, "home");
  process.env.KUBECONFIG = writeKubeconfig(dir);
  process.env.KBRIDGE_HELPER_PORT = String(await freePort());
  helper = await runHelper(process.env);
});
afterAll(() => helper.close());

describe("kbridge CLI", () => {
  test("--help lists the commands", async () => {
    const { code, out } = await run("--help");
    expect(code).toBe(0);
    expect(out).toMatch(/kbridge status \[--json\]/);
    expect(out).toMatch(/kbridge contexts/);
  });

  test("status --json reports the running helper", async () => {
    const { code, out } = await run("status", "--json");
    expect(code).toBe(0);
    const status = JSON.parse(out) as Record<string, unknown>;
    expect(status).toMatchObject({ running: true, pid: process.pid, protocolVersion: 1, kubeconfig: [process.env.KUBECONFIG], sessions: [] });
    expect(status.bootId).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("contexts lists the kubeconfig's contexts, current first-marked", async () => {
    const { code, out } = await run("contexts");
    expect(code).toBe(0);
    expect(out.split("\n")[0]).toMatch(/^\* dev\s+https:\/\/127\.0\.0\.1:6443\s+shop$/);
    const json = JSON.parse((await run("contexts", "--json")).out) as { contexts: { name: string }[] };
    expect(json.contexts.map((c) => c.name)).toEqual(["dev", "prod"]);
  });

  test("a broken kubeconfig is reported with the file and what to do", async () => {
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = path.join(dir, "missing-kubeconfig");
    try {
      // The helper reads KUBECONFIG from the environment it was started with (the same object here).
      const { code, err } = await run("contexts");
      expect(code).toBe(1);
      expect(err).toContain("No kubeconfig found");
      expect(err).toContain("missing-kubeconfig");
    } finally {
      process.env.KUBECONFIG = saved;
    }
  });

  test("when no helper runs: exit 3 and how to start it", async () => {
    const saved = process.env.KBRIDGE_HELPER_PORT;
    process.env.KBRIDGE_HELPER_PORT = String(await freePort());
    try {
      const { code, err, out } = await run("status", "--json");
      expect(code).toBe(3);
      expect(JSON.parse(out)).toMatchObject({ ok: false, error: { code: "helper-not-running" } });
      expect(err).toMatch(/not running.*\n.*npm start/);
    } finally {
      process.env.KBRIDGE_HELPER_PORT = saved;
    }
  });

  test("unknown commands and arguments are usage errors", async () => {
    expect((await run("frobnicate")).code).toBe(2);
    expect((await run("status", "extra")).code).toBe(2);
    expect((await run("status", "--no-such-flag")).code).toBe(2);
  });

  test("check and setup: bad input is a usage error; an unknown context or a cluster that does not answer says so", async () => {
    const noTarget = await run("check", "--context", "dev", "--namespace", "shop");
    expect(noTarget).toMatchObject({ code: 2, err: "kbridge check: --context, --namespace and one of --service, --deployment or --pod are required\n" });
    expect((await run("check", "--context", "dev", "--namespace", "shop", "--service", "a", "--pod", "b")).code).toBe(2);
    expect(await run("setup", "--context", "dev")).toMatchObject({ code: 2, err: "kbridge setup: --namespace is required, and --context unless --print\n" });
    const unknown = await run("setup", "--context", "nope", "--namespace", "shop");
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/nope/);
    const unreachable = await run("setup", "--context", "dev", "--namespace", "shop");
    expect(unreachable.code).toBe(1);
    expect(unreachable.err).toMatch(/^kbridge: Cannot reach the cluster of context "dev" \(https:\/\/127\.0\.0\.1:6443\) to create ServiceAccount\/kbridge-restorer: ECONNREFUSED\.\n {2}Check your network/);
  });

  test("a second helper on a busy port names the process holding it", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await expect(runHelper({ ...process.env, KBRIDGE_HELPER_PORT: String(port) })).rejects.toThrow(
        new RegExp(`127\\.0\\.0\\.1:${port}: the port is in use by pid ${process.pid}`),
      );
    } finally {
      blocker.close();
    }
  });
});
