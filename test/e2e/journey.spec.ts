/**
 * The journey of issue #22, as a developer holding `edit` in the demo's namespace (setup in
 * place): a profile made in the dashboard (its context pre-selected, landing on the profile),
 * then `kbridge connect … -- COMMAND` from a terminal. The dashboard lists that session on every
 * page, and the profile, the project and the Overview offer Open / Disconnect instead of Connect.
 * When the launched process exits with code 1, the session page, the live list and the CLI say
 * so within 2 s. The Cluster page remembers its context. Every page is screenshotted.
 */
import fs from "node:fs";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { DEVELOPER_CONTEXT, startTestCluster, type TestCluster } from "../cluster/cluster.ts";
import { kind } from "../cluster/controllers/objects.ts";
import { demoImages, installDemo, viaIngress, waitForDemo } from "../cluster/demo/demoApp.ts";
import { launchChromium, screenshot } from "../support/browser.ts";
import { envFor, startCommand, startKbridge, waitForOutput, type KbridgeEnv, type Started } from "../support/kbridgeProcess.ts";
import { freePort } from "../support/ports.ts";
import { deploymentReady, kbridgeObjects } from "../support/restoreChecks.ts";
import { tempDir } from "../support/tempDir.ts";
import { until } from "../support/until.ts";

const dir = tempDir("e2e-journey");
let cluster: TestCluster;
let browser: Browser;
const running: Started[] = [];

beforeAll(async () => {
  cluster = await startTestCluster({ images: [demoImages], backoffBaseMs: 500 });
  installDemo(cluster, { setup: true });
  await waitForDemo(cluster);
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  for (const started of running.reverse()) await started.stop();
  await cluster?.stop();
});

const liveItem = (page: Page, sessionId: string) => page.getByRole("list", { name: "Live sessions" }).locator(`li[data-session="${sessionId}"]`);

test("a CLI session shows on every page with Open/Disconnect; its process exiting with code 1 is a problem everywhere within 2 s", async () => {
  const kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"), { developerNamespace: "shop", context: DEVELOPER_CONTEXT });
  const env: KbridgeEnv = { home: path.join(dir, "home"), kubeconfig, dashboardPort: await freePort(), helperPort: await freePort() };
  const kbridge = await startKbridge(env);
  running.push(kbridge.started);
  const url = kbridge.url;
  const spec = () => structuredClone(cluster.store.get(kind("Deployment"), "shop", "api").spec);
  const before = spec();

  const page = await (await browser.newContext()).newPage();
  page.setDefaultTimeout(20_000);
  await page.goto(url);
  await page.locator('[role="status"][aria-label="Helper connection"][data-state="connected"]').waitFor();

  // The wizard starts on the kubeconfig's current context (the developer's), and a new profile opens at once.
  await page.getByRole("link", { name: "Projects & profiles" }).click();
  const projectForm = page.getByRole("form", { name: "New project" });
  await projectForm.getByLabel("Project name").fill("shop");
  await projectForm.getByLabel("Folder").fill(dir);
  await projectForm.getByRole("button", { name: "Create project" }).click();
  await page.getByRole("heading", { name: "shop", level: 1 }).waitFor();
  const projectUrl = page.url();
  await page.getByRole("link", { name: "New profile" }).click();
  const form = page.getByRole("form", { name: "New profile" });
  const contextPicker = form.getByRole("combobox", { name: "Kube context" });
  await until(async () => (await contextPicker.inputValue()) === DEVELOPER_CONTEXT, "the current context pre-selected");
  expect(await form.getByRole("textbox", { name: "Namespace" }).inputValue()).toBe("shop");
  await form.getByRole("list", { name: "Services in shop" }).getByRole("button", { name: /^api\s/ }).click();
  const workstationPort = await freePort();
  await form.getByLabel("Workstation port 1").fill(String(workstationPort));
  await form.getByRole("button", { name: "Create profile" }).click();
  await page.getByRole("heading", { name: "api", level: 1 }).waitFor();
  await page.getByRole("button", { name: "Connect", exact: true }).waitFor();
  const profileUrl = page.url();

  // From a terminal: the developer's api, which exits with code 1 once told to (the trigger file).
  const trigger = path.join(dir, "exit-now");
  const server = [
    `const fs = require("fs");`,
    `require("http").createServer((q, s) => s.end(JSON.stringify({ pod: "journey", items: [], store: "none" }))).listen(${workstationPort}, () => console.log("journey api up"));`,
    `setInterval(() => { if (fs.existsSync(${JSON.stringify(trigger)})) { console.log("journey api exiting"); process.exit(1); } }, 20);`,
  ].join(" ");
  const cli = startCommand([process.execPath, "bin/kbridge.js", "connect", "--context", DEVELOPER_CONTEXT, "--namespace", "shop", "--service", "api", "--local-port", String(workstationPort), "--no-hosts", "--", "node", "-e", server], envFor(env));
  running.push(cli);
  await waitForOutput(cli, /journey api up/, 60_000);
  const sessionId = (/Session (\w+):/.exec(cli.output()) ?? [])[1] as string;
  expect(sessionId).toBeTruthy();
  await until(async () => JSON.parse((await viaIngress(cluster, "/status")).body).api === "journey", "the cluster's traffic at the workstation");

  // Every page lists the session; the profile, its project and the Overview offer it, not Connect.
  const pages: [string, string][] = [
    ["overview", url],
    ["projects", `${url}/projects`],
    ["project", projectUrl],
    ["profile", profileUrl],
    ["cluster", `${url}/cluster`],
    ["team", `${url}/team`],
    ["session", `${url}/sessions/${sessionId}`],
  ];
  for (const [name, pageUrl] of pages) {
    await page.goto(pageUrl);
    await liveItem(page, sessionId).and(page.locator('[data-state="connected"][data-troubled="false"]')).waitFor();
    if (["overview", "project", "profile"].includes(name)) {
      await page.getByRole("button", { name: "Disconnect" }).waitFor();
      await page.getByRole("link", { name: "Open session" }).waitFor();
      expect(await page.getByRole("button", { name: "Connect", exact: true }).count(), name).toBe(0);
    }
    if (name === "cluster") {
      // The session's objects, read from the cluster, with its owner as user@host (as the Team page writes it).
      const card = page.getByRole("region", { name: `Session ${sessionId}` });
      await card.waitFor();
      expect(await card.innerText()).toMatch(/Owner [^\s@]+@\S+/);
    }
    await screenshot(page, `journey-${name}`);
  }

  // The Cluster page remembers its place: another context chosen there is still chosen on the next visit.
  await page.goto(`${url}/cluster`);
  const where = page.getByRole("region", { name: "Where" });
  await until(async () => (await where.getByRole("combobox", { name: "Kube context" }).inputValue()) === DEVELOPER_CONTEXT, "the Cluster page on the current context");
  await where.getByRole("combobox", { name: "Kube context" }).selectOption("kbridge-demo");
  await page.goto(`${url}/team`);
  await until(async () => (await page.getByRole("region", { name: "Where" }).getByRole("combobox", { name: "Kube context" }).inputValue()) === DEVELOPER_CONTEXT, "the Team page on its own place");
  await page.goto(`${url}/cluster`);
  await until(async () => (await page.getByRole("region", { name: "Where" }).getByRole("combobox", { name: "Kube context" }).inputValue()) === "kbridge-demo", "the Cluster page's place remembered");

  // The process exits with code 1: within 2 s the header and the live list turn to a problem, and the CLI says it.
  await page.goto(`${url}/sessions/${sessionId}`);
  await page.locator('[data-testid="session-state"][data-state="connected"][data-troubled="false"]').waitFor();
  fs.writeFileSync(trigger, "");
  const start = Date.now();
  await page.locator('[data-testid="session-state"][data-troubled="true"]').waitFor({ timeout: 10_000 });
  await liveItem(page, sessionId).and(page.locator('[data-troubled="true"]')).waitFor({ timeout: 10_000 });
  const shown = Date.now() - start;
  await until(() => /kbridge: Cluster traffic to service\/api is failing: node -e .* exited with code 1\./.test(cli.output()), () => `the CLI to say the process exited:\n${cli.output()}`, 10_000);
  const said = Date.now() - start;
  console.log(`process exit shown on the session page and live list after ${shown} ms, said by the CLI after ${said} ms`);
  expect(shown).toBeLessThan(2000);
  expect(said).toBeLessThan(2000);
  expect(await page.getByTestId("session-state").innerText()).toMatch(/problem/);
  await screenshot(page, "journey-session-process-exited");

  // Disconnect from the profile: the CLI ends, the cluster is as before.
  await page.goto(profileUrl);
  await page.getByTestId("live-session").getByRole("button", { name: "Disconnect" }).click();
  expect(await cli.exited).toBe(0);
  await page.getByRole("button", { name: "Connect", exact: true }).waitFor();
  await until(() => isDeepStrictEqual(spec(), before) && deploymentReady(cluster, "api") && kbridgeObjects(cluster).length === 0, "api as before, nothing of kbridge's left", 30_000);
});
