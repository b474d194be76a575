/**
 * The Team page as two teammates see it: two kbridge installations (two homes, dashboards and
 * helpers) against one test cluster, each developer isolating the demo shop's api — Alice
 * with an isolated profile in her dashboard, Bob with the CLI. Both dashboards list both sessions, live from the cluster; each personal URL opens the
 * shop in the browser with that developer's api behind it (no header set by anyone); copy
 * gives the URL and a ready curl; the own row says requests with the key arrived; once both
 * disconnect, both pages say nobody isolates.
 */
import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startTestCluster, type TestCluster } from "../cluster/cluster.ts";
import { DEMO_HOST, demoImages, installDemo, waitForDemo } from "../cluster/demo/demoApp.ts";
import { launchChromium, screenshot } from "../support/browser.ts";
import { newProfileWizard } from "../support/dashboardSteps.ts";
import { envFor, startKbridge, type KbridgeEnv, type Started } from "../support/kbridgeProcess.ts";
import { freePort } from "../support/ports.ts";
import { tempDir } from "../support/tempDir.ts";
import { until } from "../support/until.ts";

const dir = tempDir("e2e-team");
let cluster: TestCluster;
let browser: Browser;
const running: Started[] = [];
const servers: http.Server[] = [];

interface Teammate {
  name: string;
  key: string;
  env: KbridgeEnv;
  url: string;
  workstationPort: number;
}

beforeAll(async () => {
  cluster = await startTestCluster({ images: [demoImages], backoffBaseMs: 500 });
  installDemo(cluster);
  await waitForDemo(cluster);
  // Personal hosts resolve to the test cluster's ingress, as a wildcard DNS record would.
  browser = await launchChromium([`--host-resolver-rules=MAP *.${DEMO_HOST} ${cluster.ingress.address}`]);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await Promise.all(running.map((r) => r.stop()));
  for (const server of servers) server.close();
  await cluster?.stop();
});

/** A teammate's api on their workstation: answers as them. */
async function workstation(name: string): Promise<number> {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ pod: `${name}-workstation`, greeting: `Hello from ${name}'s workstation`, items: [{ name: `${name}'s kettle` }], store: "none" }));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

async function teammate(name: string, key: string): Promise<Teammate> {
  const env: KbridgeEnv = { home: path.join(dir, name), kubeconfig: cluster.writeKubeconfig(path.join(dir, `${name}.kubeconfig`)), dashboardPort: await freePort(), helperPort: await freePort() };
  const started = await startKbridge(env);
  running.push(started.started);
  return { name, key, env, url: started.url, workstationPort: await workstation(name) };
}

/** `kbridge connect --isolate` in the teammate's installation; resolves with the CLI once connected. */
async function isolate(mate: Teammate): Promise<{ stop(): Promise<void> }> {
  const child = spawn(process.execPath, ["bin/kbridge.js", "connect", "--context", "kbridge-demo", "--namespace", "shop", "--service", "api", "--local-port", String(mate.workstationPort), "--isolate", "--routing-key", mate.key], {
    env: envFor(mate.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise((resolve) => child.on("exit", resolve));
  await until(() => output.includes("Try: curl") || child.exitCode !== null, `${mate.name}'s isolated connect`, 60_000);
  expect(output, output).toContain(`Connected, isolated as ${mate.key}`);
  return {
    async stop() {
      child.kill("SIGINT");
      await exited;
    },
  };
}

async function dashboard(mate: Teammate): Promise<Page> {
  const context = await browser.newContext({ permissions: ["clipboard-read", "clipboard-write"] });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  await page.goto(mate.url);
  await page.locator('[role="status"][aria-label="Helper connection"][data-state="connected"]').waitFor();
  return page;
}

/** An isolated profile for api made in the dashboard, connected: the session page shows the key and the personal URL. */
async function isolateFromDashboard(page: Page, mate: Teammate, url: string): Promise<{ stop(): Promise<void> }> {
  const form = await newProfileWizard(page, { project: "shop", folder: dir, context: "kbridge-demo", namespace: "shop" });
  await form.getByRole("list", { name: "Services in shop" }).getByRole("button", { name: /^api\s/ }).click();
  await form.getByLabel("Workstation port 1").fill(String(mate.workstationPort));
  await form.getByLabel(/^Isolated: only requests carrying my routing key/).check();
  await form.getByLabel("Routing key (optional)").fill(mate.key);
  await form.getByRole("button", { name: "Create profile" }).click();
  await page.getByRole("heading", { name: "api", level: 1 }).waitFor();
  await page.getByRole("button", { name: "Connect" }).click();
  await page.waitForURL(/\/sessions\/\w+$/);
  await page.locator('[data-testid="session-state"][data-state="connected"]').waitFor({ timeout: 60_000 });
  await page.getByRole("heading", { name: `Isolated as ${mate.key}` }).waitFor();
  await page.getByRole("list", { name: "Personal URLs" }).getByRole("link", { name: url }).waitFor();
  await screenshot(page, "session-isolated");
  const sessionUrl = page.url();
  return {
    async stop() {
      await page.goto(sessionUrl);
      await page.getByRole("button", { name: "Disconnect" }).click();
      await page.locator('[data-testid="session-state"][data-state="ended"]').waitFor({ timeout: 60_000 });
    },
  };
}

async function openTeamPage(page: Page): Promise<Page> {
  await page.getByRole("link", { name: "Team" }).click();
  await page.getByRole("heading", { name: "Team", level: 1 }).waitFor();
  await page.getByRole("combobox", { name: "Kube context" }).selectOption("kbridge-demo");
  await page.getByRole("combobox", { name: "Namespace" }).selectOption("shop");
  return page;
}

const row = (page: Page, key: string) => page.getByRole("table", { name: "Isolation sessions" }).locator(`tr[data-routing-key="${key}"]`);

test("both dashboards list both isolation sessions with working personal URLs, copy and the propagation check; both gone after disconnect", async () => {
  // One after the other: a stale build is rebuilt by the first start only.
  const alice = await teammate("alice", "alice-1a1a");
  const bob = await teammate("bob", "bob-2b2b");
  const port = cluster.ingress.port === 80 ? "" : `:${cluster.ingress.port}`;
  const urlOf = (mate: Teammate) => `http://${mate.key}.${DEMO_HOST}${port}/`;
  const alicePage = await dashboard(alice);
  const sessions = [await isolateFromDashboard(alicePage, alice, urlOf(alice)), await isolate(bob)];

  const pages = [await openTeamPage(alicePage), await openTeamPage(await dashboard(bob))];
  for (const [index, page] of pages.entries()) {
    for (const mate of [alice, bob]) {
      const entry = row(page, mate.key);
      await entry.waitFor();
      expect(await entry.innerText()).toContain("api");
      // The routing key is one unbroken line (never split at its hyphen).
      expect(await entry.getByTestId("routing-key").evaluate((cell) => {
        const range = document.createRange();
        range.selectNodeContents(cell);
        return [cell.textContent, range.getClientRects().length];
      })).toEqual([mate.key, 1]);
      await entry.getByRole("link", { name: urlOf(mate) }).waitFor();
      // "you" on one's own row only.
      expect(await entry.getByText("you", { exact: true }).count()).toBe(mate === [alice, bob][index] ? 1 : 0);
    }
  }
  await pages[0]!.getByRole("heading", { name: "Header propagation" }).waitFor();
  for (const language of ["Node.js", ".NET", "Go", "Python"]) await pages[0]!.getByText(language, { exact: true }).waitFor();

  // Each personal URL, opened from a teammate's page: the shop, with that developer's api behind it.
  for (const [page, mate] of [[pages[1]!, alice], [pages[0]!, bob]] as const) {
    const [opened] = await Promise.all([page.context().waitForEvent("page"), row(page, mate.key).getByRole("link", { name: urlOf(mate) }).click()]);
    await opened.waitForLoadState();
    await opened.getByRole("heading", { name: `Hello from ${mate.name}'s workstation from the demo shop` }).waitFor();
    expect(await opened.innerText("body")).toContain(`${mate.name}'s kettle`);
    await opened.close();
  }

  // Copy URL and copy curl.
  const page = pages[0]!;
  await row(page, bob.key).getByRole("button", { name: `Copy URL ${urlOf(bob)}` }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(urlOf(bob));
  await row(page, bob.key).getByRole("button", { name: `Copy curl curl for ${bob.key}` }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`curl -H 'kubernetes-route-as: ${bob.key}' ${urlOf(bob)}`);

  // Alice's own row: her URL was opened, so requests with her key reached her workstation.
  await until(async () => /The header reached api: \d+ request\(s\) with kubernetes-route-as: alice-1a1a/.test(await row(page, alice.key).getByTestId("propagation-check").innerText()), "alice's propagation check", 20_000);
  await screenshot(page, "team");

  for (const session of sessions) await session.stop();
  await openTeamPage(alicePage);
  for (const each of pages) await each.getByText("Nobody isolates in shop right now.", { exact: false }).waitFor();
}, 240_000);
