/**
 * The helper-connection indicator tells the truth and the dashboard recovers by itself:
 * no helper → "not running" with what to do; helper started → connected without a
 * reload; helper killed → not connected; helper back (new boot) → connected again.
 */
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { launchChromium, screenshot } from "../support/browser.ts";
import { envFor, startEntry, waitForOutput, type Started } from "../support/kbridgeProcess.ts";
import { freePort } from "../support/ports.ts";
import { tempDir, writeKubeconfig } from "../support/tempDir.ts";

const dir = tempDir("e2e-helper");
let browser: Browser;
let dashboard: Started;
let helper: Started | undefined;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  env = envFor({ home: path.join(dir, "home"), kubeconfig: writeKubeconfig(dir), dashboardPort: await freePort(), helperPort: await freePort() });
  dashboard = startEntry("app/lib/server/main.ts", env);
  await waitForOutput(dashboard, /kbridge dashboard listening on/);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await helper?.stop();
  await dashboard?.stop();
});

const indicator = (page: Page, state: string) => page.locator(`[role="status"][aria-label="Helper connection"][data-state="${state}"]`);

async function startHelper(): Promise<void> {
  helper = startEntry("helper/main.ts", env);
  await waitForOutput(helper, /kbridge helper listening on/);
}

test("the indicator follows the helper: not running, connected, lost, connected again", async () => {
  const page = await browser.newPage();
  page.setDefaultTimeout(20_000);
  await page.goto(`http://localhost:${env.KBRIDGE_PORT}/`);

  await indicator(page, "down").waitFor();
  expect(await indicator(page, "down").innerText()).toMatch(/Helper not running[\s\S]*npm start/);
  await screenshot(page, "helper-not-running");

  await startHelper();
  await indicator(page, "connected").waitFor();
  await page.getByRole("table", { name: "Kube contexts" }).getByRole("cell", { name: "prod", exact: true }).waitFor();

  await helper?.stop();
  await page.locator('[role="status"][aria-label="Helper connection"]:not([data-state="connected"])').waitFor();

  await startHelper();
  await indicator(page, "connected").waitFor();
  await page.close();
});
