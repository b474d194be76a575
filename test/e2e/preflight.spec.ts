/**
 * Preflight in the dashboard, as a developer holding `edit` in the demo's namespace only:
 * the wizard's "Check this cluster" names what is missing (no `kbridge setup` there) and how to
 * get it, before anything is saved; Connect then fails in preflight, its session page lists
 * every check, and the namespace is as before. Once an administrator runs the setup, the check
 * passes, Connect works (the restorer with the profile's requests and limits), and the session
 * page keeps its preflight (folded) for reference.
 */
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { openCluster } from "../../helper/k8s/clusterConnection.ts";
import { applySetup } from "../../helper/k8s/setup.ts";
import { DEVELOPER_CONTEXT, startTestCluster, type TestCluster } from "../cluster/cluster.ts";
import { kind } from "../cluster/controllers/objects.ts";
import { demoImages, installDemo, waitForDemo } from "../cluster/demo/demoApp.ts";
import { launchChromium, screenshot } from "../support/browser.ts";
import { newProfileWizard } from "../support/dashboardSteps.ts";
import { startKbridge, type Started } from "../support/kbridgeProcess.ts";
import { freePort } from "../support/ports.ts";
import { deploymentReady, kbridgeObjects, workstationServer } from "../support/restoreChecks.ts";
import { tempDir } from "../support/tempDir.ts";
import { until } from "../support/until.ts";

const dir = tempDir("e2e-preflight");
let cluster: TestCluster;
let browser: Browser;
let kbridge: Started | undefined;
let closeWorkstation = () => {};

beforeAll(async () => {
  cluster = await startTestCluster({ images: [demoImages], backoffBaseMs: 500 });
  installDemo(cluster);
  await waitForDemo(cluster);
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await kbridge?.stop();
  closeWorkstation();
  await cluster?.stop();
});

test("Check this cluster names the missing setup; connect fails in preflight changing nothing, then works after the setup", async () => {
  const kubeconfig = cluster.writeKubeconfig(path.join(dir, "kubeconfig"), { developerNamespace: "shop", context: DEVELOPER_CONTEXT });
  const started = await startKbridge({ home: path.join(dir, "home"), kubeconfig, dashboardPort: await freePort(), helperPort: await freePort() });
  kbridge = started.started;
  const workstation = await workstationServer();
  closeWorkstation = () => workstation.server.close();
  const spec = () => structuredClone(cluster.store.get(kind("Deployment"), "shop", "api").spec);
  const before = spec();

  const page = await (await browser.newContext()).newPage();
  page.setDefaultTimeout(20_000);
  await page.goto(started.url);
  await page.locator('[role="status"][aria-label="Helper connection"][data-state="connected"]').waitFor();
  const form = await newProfileWizard(page, { project: "shop", folder: dir, context: DEVELOPER_CONTEXT, namespace: "shop", namespacesListed: false });
  await form.getByRole("list", { name: "Services in shop" }).getByRole("button", { name: /^api\s/ }).click();
  await form.getByLabel("Workstation port 1").fill(String(workstation.port));

  // Before saving: the check says what would stop Connect, and what to do.
  const check = page.getByRole("region", { name: "Check this cluster" });
  await check.getByRole("button", { name: "Check this cluster" }).click();
  const checks = check.getByRole("list", { name: "Cluster checks" });
  await checks.waitFor();
  expect(await check.getByTestId("preflight-summary").getAttribute("data-ok")).toBe("false");
  const identity = checks.locator('li[data-check="restorer identity"]');
  expect(await identity.getAttribute("data-ok")).toBe("false");
  expect(await identity.innerText()).toContain(`kbridge setup --context ${DEVELOPER_CONTEXT} --namespace shop`);
  expect(await checks.locator('li[data-check="agent pods"]').getAttribute("data-ok")).toBe("true");
  await screenshot(page, "wizard-check");
  // Requests and limits for kbridge's own pods: checked as typed, then used by the session's restorer.
  await form.getByLabel("CPU request").fill("lots");
  await form.getByRole("button", { name: "Create profile" }).click();
  await form.getByText("CPU request must be a Kubernetes quantity such as 50m or 0.5").waitFor();
  await form.getByLabel("CPU request").fill("20m");
  await form.getByLabel("Memory limit").fill("128Mi");
  await form.getByRole("button", { name: "Create profile" }).click();
  await page.getByRole("heading", { name: "api", level: 1 }).waitFor();
  await page.getByText("No sessions yet.").waitFor();
  const profileUrl = page.url();

  // Connect anyway: it fails in preflight; the session page lists the checks; nothing changed in the cluster.
  await page.getByRole("button", { name: "Connect" }).click();
  await page.waitForURL(/\/sessions\/\w+$/);
  await page.locator('[data-testid="session-state"][data-state="failed"]').waitFor({ timeout: 30_000 });
  const preflight = page.getByRole("region", { name: "Preflight" });
  expect(await preflight.getByTestId("preflight-summary").innerText()).toMatch(/^1 of \d+ checks failed: nothing was changed in the cluster/);
  expect(await preflight.locator('li[data-check="restorer identity"][data-ok="false"]').innerText()).toContain("kbridge setup");
  expect(await page.getByRole("list", { name: "Steps" }).locator('li[data-step="preflight"]').getAttribute("data-status")).toBe("failed");
  // The reason is a long line (some 370 characters): it wraps within the log pane, whole and readable.
  const log = page.getByRole("log", { name: "Session log" });
  const reason = log.locator('[data-source="helper"][data-level="error"]', { hasText: "Preflight found what would stop this connect" }).first();
  const [row, pane] = [await reason.boundingBox(), await log.boundingBox()];
  expect((await reason.innerText()).length).toBeGreaterThan(300);
  expect(await reason.innerText()).toMatch(/delete rolebindings\.rbac\.authorization\.k8s\.io\.$/);
  expect(row && pane && row.x + row.width <= pane.x + pane.width && row.height >= 3 * 20).toBe(true);
  await screenshot(page, "session-preflight-failed");
  expect(kbridgeObjects(cluster)).toEqual([]);
  expect(spec()).toEqual(before);

  // An administrator runs the setup once: the same check passes, and Connect works.
  await applySetup(openCluster([kubeconfig], "kbridge-demo"), "shop");
  await page.goto(profileUrl);
  const recheck = page.getByRole("region", { name: "Check this cluster" });
  await recheck.getByRole("button", { name: "Check this cluster" }).click();
  await until(async () => (await recheck.getByTestId("preflight-summary").count()) === 1 && (await recheck.getByTestId("preflight-summary").getAttribute("data-ok")) === "true", "the check to pass", 20_000);
  expect(await recheck.getByTestId("preflight-summary").innerText()).toMatch(/^All \d+ checks passed \(\d+ ms\); the restorer runs as kbridge-restorer\.$/);
  await page.getByRole("button", { name: "Connect" }).click();
  await page.waitForURL(/\/sessions\/\w+$/);
  await page.locator('[data-testid="session-state"][data-state="connected"]').waitFor({ timeout: 45_000 });
  const restorer = cluster.store.list(kind("Pod"), "shop").find((p) => p.metadata.labels?.["kbridge.dev/role"] === "restorer");
  expect((restorer?.spec as { containers: { resources?: unknown }[] }).containers[0]?.resources).toEqual({ requests: { cpu: "20m", memory: "32Mi" }, limits: { cpu: "100m", memory: "128Mi" } });
  const folded = page.getByRole("region", { name: "Preflight" });
  expect(await folded.locator("summary").innerText()).toMatch(/^All \d+ checks passed in \d+ ms; the restorer runs as kbridge-restorer\.$/);

  // Nothing listens on the workstation port: the header and the live list say so (not green), Diagnostics' inbound check
  // names the port; once something listens there, both clear by themselves.
  closeWorkstation();
  const inbound = page.getByRole("table", { name: "Inbound checks" }).locator(`tr[data-port="${workstation.port}"]`);
  await page.locator('[data-testid="session-state"][data-troubled="true"]').waitFor({ timeout: 20_000 });
  await page.getByRole("list", { name: "Live sessions" }).locator('li[data-troubled="true"]').waitFor();
  await inbound.and(page.locator('[data-ok="false"]')).waitFor({ timeout: 20_000 });
  expect(await inbound.innerText()).toContain(`127.0.0.1:${workstation.port}: nothing listens there`);
  await screenshot(page, "session-nothing-listens");
  const again = await workstationServer({ pod: "workstation" }, workstation.port);
  closeWorkstation = () => again.server.close();
  await inbound.and(page.locator('[data-ok="true"]')).waitFor({ timeout: 20_000 });
  await page.locator('[data-testid="session-state"][data-troubled="false"]').waitFor({ timeout: 20_000 });
  await page.getByRole("button", { name: "Disconnect" }).click();
  await page.locator('[data-testid="session-state"][data-state="ended"]').waitFor({ timeout: 60_000 });
  await until(() => isDeepStrictEqual(spec(), before) && deploymentReady(cluster, "api") && kbridgeObjects(cluster).length === 0, "api as before, nothing of kbridge's left", 30_000);
});
