/**
 * `npm run demo` as a newcomer runs it: the dashboard lists the demo cluster's context,
 * the demo shop answers through the printed ingress command, and Ctrl-C stops everything.
 */
import http from "node:http";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { launchChromium, screenshot } from "../support/browser.ts";
import { envFor, isAlive, startEntry, waitForOutput, type Started } from "../support/kbridgeProcess.ts";
import { freePort } from "../support/ports.ts";
import { tempDir } from "../support/tempDir.ts";

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
  await page.close();

  const pids = [...demo.output().matchAll(/"(helper|dashboard)":(\d+)/g)].map((m) => Number(m[2]));
  expect(pids).toHaveLength(2);
  expect(await demo.stop(15_000)).toBe(0);
  demo = undefined;
  for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
});
