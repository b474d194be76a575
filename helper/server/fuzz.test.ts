/**
 * Fuzzing, seeded and bounded in time: every helper command gets random and half-valid
 * payloads (wrong types, huge strings, hostile paths, prototype keys, deep nesting) through a
 * running helper, which must answer each with a Result and keep answering its status
 * meanwhile; the config-file parser gets mutated files and must answer each quickly with a
 * config or its own error. Set FUZZ_SEED to replay a run (the seed is printed).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { freePort } from "../../test/support/ports.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { sendCommand } from "../client/helperSocket.ts";
import { connectToHelper, type CliConnection } from "../cli/helperConnection.ts";
import { parseLocalProcessConfig } from "../environment/localProcessConfig.ts";
import { commandSchemas, KbridgeError, type CommandName } from "../protocol/index.ts";
import { runHelper, type RunningHelper } from "./runHelper.ts";

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const HELPER_BUDGET_MS = 6_000;
const PARSER_BUDGET_MS = 2_000;

/** mulberry32: small, seeded, good enough to pick inputs. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  return { next, int, pick };
}

const dir = tempDir("fuzz");
let helper: RunningHelper;
let client: CliConnection;
const paths: string[] = [];

beforeAll(async () => {
  // A context whose API server refuses at once: every cluster command fails fast, as on a workstation offline.
  const kubeconfig = path.join(dir, "kubeconfig");
  fs.writeFileSync(kubeconfig, JSON.stringify({ apiVersion: "v1", kind: "Config", clusters: [{ name: "down", cluster: { server: "https://127.0.0.1:1" } }], users: [{ name: "u", user: { token: "t" } }], contexts: [{ name: "fuzz", context: { cluster: "down", user: "u" } }], "current-context": "fuzz" }));
  // Hostile files a config path may name.
  const fifo = path.join(dir, "fifo");
  execFileSync("mkfifo", [fifo]);
  fs.writeFileSync(path.join(dir, "binary.yaml"), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
  paths.push(fifo, path.join(dir, "binary.yaml"), "/dev/zero", "/dev/stdin", "/proc/self/mem", "/etc", "/", "relative.yaml", "", "../../etc/passwd", `${dir}/${"x".repeat(300)}`);
  const env = { KBRIDGE_HOME: path.join(dir, "home"), KUBECONFIG: kubeconfig, KBRIDGE_HELPER_PORT: String(await freePort()), KBRIDGE_HOSTS_FILE: String(process.env.KBRIDGE_HOSTS_FILE), KBRIDGE_API_TIMEOUT_MS: "2000" };
  helper = await runHelper(env);
  client = await connectToHelper(env);
});
afterAll(async () => {
  client?.socket.close();
  await helper?.sessions.stopAll();
  await helper?.close();
});

function value(rng: ReturnType<typeof random>, depth = 0): unknown {
  switch (rng.int(depth > 2 ? 6 : 9)) {
    case 0:
      return null;
    case 1:
      return rng.next() < 0.5;
    case 2:
      return rng.pick([0, -1, 1, 80, 65535, 65536, 2 ** 31, -(2 ** 53), 1.5, 1e308]);
    case 3:
      return rng.pick(["", " ", "fuzz", "shop", "api", "service", "💥", "a\nb", "\u0000", "x".repeat(70_000), "../../etc/passwd", "/dev/zero", "$(services:api)", "*".repeat(40)]);
    case 4:
      return rng.pick(paths);
    case 5:
      return rng.pick(["__proto__", "constructor", "prototype", "toString"]);
    case 6:
      return Array.from({ length: rng.int(4) }, () => value(rng, depth + 1));
    case 7:
    case 8: {
      const object: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--) object[String(value(rng, 3))] = value(rng, depth + 1);
      // An own "__proto__" key, as JSON.parse makes it from what a client sends.
      return rng.next() < 0.2 ? { ...object, ...(JSON.parse('{"__proto__": {"polluted": true}}') as object) } : object;
    }
  }
  return undefined;
}

/** A payload that is nearly right: the command's likely fields, one of them (or more) replaced, dropped or added. */
function nearlyValid(rng: ReturnType<typeof random>): Record<string, unknown> {
  const base: Record<string, unknown> = {
    kubeContext: rng.pick(["fuzz", "missing", ""]),
    namespace: rng.pick(["shop", "default", "UPPER", ""]),
    targetKind: rng.pick(["service", "deployment", "pod", "statefulset"]),
    targetName: "api",
    ports: [{ port: 80, workstationPort: 3000 }],
    sessionId: rng.pick(["0000abcd", "", "../x", "x".repeat(65)]),
    path: rng.pick(paths),
    target: { kind: "service", name: "api", namespace: "shop", container: "" },
    pod: "api-1",
    after: 0,
    limit: 10,
  };
  for (let i = 1 + rng.int(3); i > 0; i--) {
    const key = rng.pick(Object.keys(base));
    if (rng.next() < 0.3) delete base[key];
    else base[key] = value(rng);
  }
  if (rng.next() < 0.2) base[String(value(rng, 3))] = value(rng);
  return base;
}

test(`every helper command answers random and nearly valid payloads with a Result, and the helper keeps answering (seed ${SEED})`, async () => {
  const rng = random(SEED);
  const commands = Object.keys(commandSchemas) as CommandName[];
  // Raw emits: payloads of any shape, as a broken or hostile client sends them.
  const emit = (command: string, payload: unknown) => (client.socket.timeout(15_000) as unknown as { emitWithAck(event: string, payload: unknown): Promise<unknown> }).emitWithAck(command, payload);
  const started = Date.now();
  let sent = 0;
  let slowestStatus = 0;
  while (Date.now() - started < HELPER_BUDGET_MS) {
    const command = rng.pick(commands);
    const payload = rng.next() < 0.7 ? nearlyValid(rng) : value(rng);
    const answered = emit(command, payload);
    const before = Date.now();
    const status = await sendCommand(client.socket, "helper:getStatus", {}, 2_000);
    slowestStatus = Math.max(slowestStatus, Date.now() - before);
    expect(status.ok, `helper:getStatus after ${command} ${JSON.stringify(payload)?.slice(0, 200)}`).toBe(true);
    const result = (await answered) as { ok?: unknown };
    expect(typeof result?.ok, `${command} ${JSON.stringify(payload)?.slice(0, 200)} (seed ${SEED})`).toBe("boolean");
    sent++;
  }
  // Nothing from the fuzz leaked into the objects every handler shares.
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  console.log(`fuzz (seed ${SEED}): ${sent} commands in ${Date.now() - started} ms; slowest status answer ${slowestStatus} ms`);
  expect(sent).toBeGreaterThan(50);
  // An unknown command: ignored, and it still answers.
  (client.socket as unknown as { emit(event: string, payload: unknown): void }).emit("not:a:command", { x: 1 });
  expect((await sendCommand(client.socket, "helper:getStatus", {})).ok).toBe(true);
}, 60_000);

const SAMPLE = `version: 0.1
enableFeatures: [Probes]
volumeMounts:
  - name: default-token-*
    localPath: secrets
env:
  - name: STORE_URL
    value: http://$(services:store)/api
  - name: DB
    value: $(externalEndpoints:db.example.com:5432)
  - name: SETTINGS
    value: $(volumeMounts:settings)/app.json
`;
const PIECES = ["*", "$(", ")", "$(services:", "$(volumeMounts:", ":", "\n", "  ", "- ", "&a ", "*a", "!!binary ", "{", "}", "[", "]", '"', "'", "\t", "version: 9\n", "../", "/etc/x", "\u0000", "x".repeat(300)];

test(`the config-file parser answers mutated files quickly with a config or its own error (seed ${SEED})`, () => {
  const rng = random(SEED + 1);
  const file = "/work/app/KubernetesLocalProcessConfig.yaml";
  // A billion laughs, and deep nesting, among the mutations.
  const corpus = [`a: &a [x, x, x, x, x, x, x, x, x]\n${Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`).join("\n")}\nversion: 0.1\n`, `${"[".repeat(5000)}${"]".repeat(5000)}`];
  const started = Date.now();
  let parsed = 0;
  let slowest = 0;
  while (Date.now() - started < PARSER_BUDGET_MS) {
    let text = corpus.length > 0 && rng.next() < 0.05 ? rng.pick(corpus) : SAMPLE;
    for (let i = 1 + rng.int(6); i > 0; i--) {
      const at = rng.int(text.length + 1);
      text = rng.next() < 0.6 ? text.slice(0, at) + rng.pick(PIECES) + text.slice(at) : text.slice(0, at) + text.slice(at + 1 + rng.int(20));
    }
    const before = Date.now();
    try {
      parseLocalProcessConfig(text, file);
    } catch (error) {
      expect(error, `an error of the parser's own for ${JSON.stringify(text).slice(0, 300)} (seed ${SEED})`).toBeInstanceOf(KbridgeError);
      expect((error as KbridgeError).info.message.startsWith(`${file} line `)).toBe(true);
    }
    slowest = Math.max(slowest, Date.now() - before);
    parsed++;
  }
  console.log(`config fuzz (seed ${SEED}): ${parsed} files in ${Date.now() - started} ms; slowest ${slowest} ms`);
  expect(slowest).toBeLessThan(500);
});
