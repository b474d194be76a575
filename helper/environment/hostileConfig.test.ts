/**
 * A KubernetesLocalProcessConfig.yaml from a cloned repository is input: through the running
 * helper, each hostile file is refused (or its volume confined) within a second and says why,
 * and the helper keeps answering other commands meanwhile.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { freePort } from "../../test/support/ports.ts";
import { tempDir } from "../../test/support/tempDir.ts";
import { sendCommand } from "../client/helperSocket.ts";
import { connectToHelper, type CliConnection } from "../cli/helperConnection.ts";
import { runHelper, type RunningHelper } from "../server/runHelper.ts";
import { applyConfig } from "./configFile.ts";
import { matchesVolumeName, parseLocalProcessConfig } from "./localProcessConfig.ts";

const dir = tempDir("hostile-config");
const project = path.join(dir, "project");
let helper: RunningHelper;
let client: CliConnection;

beforeAll(async () => {
  fs.mkdirSync(project);
  const env = { KBRIDGE_HOME: path.join(dir, "home"), KUBECONFIG: path.join(dir, "no-kubeconfig"), KBRIDGE_HELPER_PORT: String(await freePort()), KBRIDGE_HOSTS_FILE: String(process.env.KBRIDGE_HOSTS_FILE) };
  helper = await runHelper(env);
  client = await connectToHelper(env);
});
afterAll(async () => {
  client?.socket.close();
  await helper?.close();
});

/** Previews `file` through the helper while asking its status: the preview's answer, and how long each took. */
async function previewBesideStatus(file: string) {
  const started = Date.now();
  const status = sendCommand(client.socket, "helper:getStatus", {}).then((reply) => ({ reply, ms: Date.now() - started }));
  const preview = sendCommand(client.socket, "config:preview", { path: file }).then((reply) => ({ reply, ms: Date.now() - started }));
  const [answered, previewed] = await Promise.all([status, preview]);
  expect(answered.reply.ok).toBe(true);
  expect(answered.ms, "the helper answers other commands meanwhile").toBeLessThan(100);
  expect(previewed.ms).toBeLessThan(1_000);
  return previewed.reply.ok ? "previewed" : previewed.reply.error.message;
}

test("a FIFO, a link to /dev/zero, a file nested too deep and one too big are refused at once, saying what they are", async () => {
  const fifo = path.join(project, "fifo.yaml");
  execFileSync("mkfifo", [fifo]);
  expect(await previewBesideStatus(fifo)).toBe(`Cannot read ${fifo}: ${fifo} is not a regular file (a FIFO).`);
  const zeros = path.join(project, "zeros.yaml");
  fs.symlinkSync("/dev/zero", zeros);
  expect(await previewBesideStatus(zeros)).toBe(`Cannot read ${zeros}: ${zeros} is not a regular file (a device).`);
  // Nested deep enough to take the YAML parser down with it (a RangeError at best, a fatal out-of-memory at worst).
  const deep = path.join(project, "deep.yaml");
  fs.writeFileSync(deep, `version: 0.1\nenv: ${"[".repeat(5000)}${"]".repeat(5000)}\n`);
  expect(await previewBesideStatus(deep)).toBe(`${deep} line 2: lists and maps nested more than 64 levels deep`);
  const big = path.join(project, "big.yaml");
  fs.writeFileSync(big, `version: 0.1\n#${"x".repeat(300 * 1024)}\n`);
  expect(await previewBesideStatus(big)).toMatch(/^Cannot read .*big\.yaml: .*big\.yaml is 307\d{3} bytes; kbridge reads at most 262144\.$/);
});

test("a localPath outside the project (absolute, or up with ..) is refused naming the line", async () => {
  for (const outside of ["/etc/x", "../../x"]) {
    const file = path.join(project, "KubernetesLocalProcessConfig.yaml");
    fs.writeFileSync(file, `version: 0.1\nvolumeMounts:\n  - name: settings\n    localPath: ${outside}\n`);
    expect(await previewBesideStatus(file)).toMatch(new RegExp(`line 3: localPath ${outside.replace(/\./g, "\\.")} of volume settings is outside the project folder \\(${project}\\)`));
  }
});

test("a volume name of forty stars is matched in well under a second", async () => {
  const file = path.join(project, "stars.yaml");
  const stars = "*".repeat(40);
  fs.writeFileSync(file, `version: 0.1\nvolumeMounts:\n  - name: "${stars}x"\n`);
  expect(await previewBesideStatus(file)).toBe("previewed");
  const started = Date.now();
  // The worst case for a backtracking matcher: every star tried against a long name that does not end in x.
  expect(matchesVolumeName(`${stars}x`, "a".repeat(253))).toBe(false);
  expect(matchesVolumeName(`a*b*c*${stars}`, `a${"b".repeat(100)}c`)).toBe(true);
  expect(Date.now() - started).toBeLessThan(100);
});

test("a volume is written only inside its folder: not through a linked folder, not to names that climb out; what was written is what is counted", async () => {
  const file = path.join(project, "KubernetesLocalProcessConfig.yaml");
  const elsewhere = path.join(dir, "elsewhere");
  fs.mkdirSync(elsewhere);
  fs.symlinkSync(elsewhere, path.join(project, "linked"));
  const config = (localPath: string) => parseLocalProcessConfig(`version: 0.1\nvolumeMounts:\n  - name: settings\n    localPath: ${localPath}\n`, file);
  const files = async () => [
    { path: "app.json", mode: 0o644, data: Buffer.from("{}").toString("base64") },
    { path: "../escape", mode: 0o644, data: "" },
    { path: "trailing/", mode: 0o644, data: "" },
    { path: "nested/deep.txt", mode: 0o600, data: Buffer.from("deep").toString("base64") },
  ];
  const apply = (localPath: string) => applyConfig({ config: config(localPath), namespace: "shop", volumeMounts: [{ name: "settings", mountPath: "/etc/settings" }], endpoints: [], files, volumesDir: path.join(dir, "volumes") });
  await expect(apply("linked/settings")).rejects.toMatchObject({ info: { message: expect.stringContaining(`volume settings was not written to ${path.join(project, "linked/settings")}: ${path.join(project, "linked")} is a symbolic link; kbridge does not write through links`) } });
  expect(fs.readdirSync(elsewhere)).toEqual([]);

  // A link left where a file goes is replaced, never followed.
  fs.mkdirSync(path.join(project, "settings"));
  fs.symlinkSync(path.join(elsewhere, "victim"), path.join(project, "settings", "app.json"));
  const applied = await apply("settings");
  expect(applied.volumes).toEqual([{ name: "settings", mountPath: "/etc/settings", localPath: path.join(project, "settings"), files: 2, skipped: ['"../escape" (not a plain relative file name)', '"trailing/" (not a plain relative file name)'] }]);
  expect(fs.lstatSync(path.join(project, "settings", "app.json")).isFile()).toBe(true);
  expect(fs.existsSync(path.join(elsewhere, "victim"))).toBe(false);
  expect(fs.statSync(path.join(project, "settings", "nested", "deep.txt")).mode & 0o777).toBe(0o600);
  expect(fs.existsSync(path.join(project, "escape"))).toBe(false);
});
