/**
 * `npm run demo` as a newcomer runs it: the dashboard lists the demo cluster's context,
 * the demo shop answers through the printed ingress command, a profile's session ends up in
 * its history, and Ctrl-C stops everything.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { launchChromium, screenshot } from "../support/browser.ts";
import { envFor, isAlive, startEntry, waitForOutput, type Started } from "../support/kbridgeProcess.ts";
import { freePort } from "../support/ports.ts";
import { tempDir } from "../support/tempDir.ts";
import { until } from "../support/until.ts";

const dir = tempDir("e2e-demo");
let browser: Browser;
let demo: Started | undefined;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

test("npm run demo: cluster, demo shop, dashboard and helper; Ctrl-C stops all of it", async () => {
  const env = envFor({ home: path.join(dir, "home"), kubeconfig: "/nonexistent", dashboardPort: await freePort(), helperPort: await freePort() });
  const workstation = http.createServer((_req, res) => res.end(JSON.stringify({ pod: "workstation", items: [], store: "none" })));
  await new Promise<void>((resolve) => workstation.listen(0, "127.0.0.1", resolve));
  const workstationPort = (workstation.address() as AddressInfo).port;
  demo = startEntry("scripts/demo.ts", env);
  const running = await waitForOutput(demo, /Dashboard:\s+open (\S+)[\s\S]*curl -H 'Host: (\S+)' (http:\/\/[\d.]+(?::\d+)?)\//);
  const [, dashboardUrl, host, ingress] = running as unknown as [string, string, string, string];
  console.log(/test cluster and demo shop ready in [\d.]+ s/.exec(demo.output())?.[0]);

  const shop = await new Promise<string>((resolve, reject) => {
    const url = new URL(`${ingress}/status`);
    http.get({ host: url.hostname, port: url.port || 80, path: url.pathname, headers: { host }, agent: false }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
  expect(JSON.parse(shop)).toMatchObject({ greeting: "Welcome", web: expect.stringMatching(/^web-/), api: expect.stringMatching(/^api-/), store: expect.stringMatching(/^store-/) });

  const page = await browser.newPage();
  await page.goto(dashboardUrl);
  await page.locator('[role="status"][aria-label="Helper connection"][data-state="connected"]').waitFor({ timeout: 20_000 });
  await page.getByRole("table", { name: "Kube contexts" }).getByRole("cell", { name: /^kbridge-demo\s*current$/ }).waitFor();
  await screenshot(page, "demo-overview");

  // A profile for the demo's api, a session of it through the helper, and its history on the profile page.
  await page.getByRole("link", { name: "Projects & profiles" }).click();
  const projectForm = page.getByRole("form", { name: "New project" });
  await projectForm.getByLabel("Project name").fill("shop");
  await projectForm.getByLabel("Folder").fill(dir);
  await projectForm.getByRole("button", { name: "Create project" }).click();
  await page.getByRole("heading", { name: "shop", level: 1 }).waitFor();
  await page.getByRole("link", { name: "New profile" }).click();
  const profileForm = page.getByRole("form", { name: "New profile" });
  await profileForm.getByLabel("Profile name").fill("api");
  await profileForm.getByLabel("Kube context").selectOption("kbridge-demo");
  await profileForm.getByLabel("Namespace").fill("shop");
  await profileForm.getByLabel("Target name").fill("api");
  await profileForm.getByLabel("Service port 1").fill("80");
  await profileForm.getByLabel("Workstation port 1").fill(String(workstationPort));
  await profileForm.getByRole("button", { name: "Create profile" }).click();
  await page.getByRole("table", { name: "Profiles" }).getByRole("link", { name: "api" }).click();
  await page.getByText("No sessions yet.").waitFor();
  const profileUrl = page.url();

  // Connect from the profile: the session page follows the steps to "connected".
  await page.getByRole("button", { name: "Connect" }).click();
  await page.waitForURL(/\/sessions\/\w+$/);
  const sessionId = /sessions\/(\w+)$/.exec(page.url())?.[1] ?? "";
  await page.locator('[data-testid="session-state"][data-state="connected"]').waitFor({ timeout: 45_000 });
  expect(await page.getByRole("list", { name: "Steps" }).locator("li[data-status=done]").count()).toBeGreaterThanOrEqual(6);
  await page.getByRole("table", { name: "Endpoints" }).getByRole("cell", { name: "shop/store" }).waitFor();

  // A request through the ingress reaches the workstation and shows in the traffic log.
  const reply = await new Promise<string>((resolve, reject) => {
    const url = new URL(`${ingress}/status`);
    http.get({ host: url.hostname, port: url.port || 80, path: url.pathname, headers: { host }, agent: false }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
  expect(JSON.parse(reply)).toMatchObject({ api: "workstation" });
  const log = page.getByRole("log", { name: "Session log" });
  await log.locator('[data-source="traffic"]', { hasText: /GET \/api\/items\S* → 200/ }).first().waitFor({ timeout: 15_000 });
  await log.locator('[data-source="agent"]', { hasText: "tunnel up" }).first().waitFor();
  // Every line once: seqs never repeat, even where the catch-up after connecting overlaps the pushes.
  const seqs = await log.locator("div[data-seq]").evaluateAll((rows) => rows.map((row) => Number(row.getAttribute("data-seq"))));
  expect(seqs.length).toBeGreaterThan(5);
  expect(new Set(seqs).size).toBe(seqs.length);
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  await screenshot(page, "session-connected");

  await page.getByRole("button", { name: "Disconnect" }).click();
  await page.locator('[data-testid="session-state"][data-state="ended"]').waitFor({ timeout: 60_000 });
  await page.goto(profileUrl);
  await until(async () => {
    await page.reload();
    return (await page.locator(`tr[data-session="${sessionId}"]`).count()) === 1;
  }, "the session in the profile's history", 20_000);
  expect(await page.locator(`tr[data-session="${sessionId}"]`).innerText()).toMatch(/Disconnected\s+service\/api in shop: connected, then restored\./);
  await screenshot(page, "profile-history");
  await page.close();

  const pids = [...demo.output().matchAll(/"(helper|dashboard)":(\d+)/g)].map((m) => Number(m[2]));
  expect(pids).toHaveLength(2);
  expect(await demo.stop(15_000)).toBe(0);
  demo = undefined;
  for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
  workstation.close();
});
