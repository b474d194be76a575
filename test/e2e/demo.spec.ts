/**
 * `npm run demo` as a newcomer runs it, as a developer holding `edit` in the demo's namespace
 * only (the current context, as on a shared dev cluster): the dashboard lists the contexts,
 * the demo shop answers through the printed ingress command; a profile made with the
 * wizard's live lists connects (after a launch command that cannot start was refused
 * inline), its traffic and process output show in the log, the diagnostics show every name
 * resolving; the session ends up in the history; the cluster page lists a crashed session's
 * leftover and removes it; Ctrl-C stops everything.
 */
import http from "node:http";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { kubectlFor } from "../cluster/support/kubectl.ts";
import { launchChromium, screenshot } from "../support/browser.ts";
import { newProfileWizard } from "../support/dashboardSteps.ts";
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
  // The workstation's api: the profile's launch command, printing each request it serves.
  const workstationPort = await freePort();
  const server = `require('http').createServer((q, r) => { console.log('served ' + q.method + ' ' + q.url); r.setHeader('content-type', 'application/json'); r.end(JSON.stringify({ pod: 'workstation', items: [], store: 'none' })); }).listen(${workstationPort}, '127.0.0.1', () => console.log('api listening'))`;
  demo = startEntry("scripts/demo.ts", env);
  const running = await waitForOutput(demo, /Dashboard:\s+open (\S+)[\s\S]*curl -H 'Host: (\S+)' (http:\/\/[\d.]+(?::\d+)?)\//);
  const [, dashboardUrl, host, ingress] = running as unknown as [string, string, string, string];
  console.log(/test cluster and demo shop ready in [\d.]+ s/.exec(demo.output())?.[0]);

  /** GET through the demo's ingress with its Host header; the body. */
  const viaIngress = (pathname: string) =>
    new Promise<string>((resolve, reject) => {
      const url = new URL(`${ingress}${pathname}`);
      http.get({ host: url.hostname, port: url.port || 80, path: url.pathname, headers: { host }, agent: false }, (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve(body));
      }).on("error", reject);
    });
  const shop = await viaIngress("/status");
  expect(JSON.parse(shop)).toMatchObject({ greeting: "Welcome", web: expect.stringMatching(/^web-/), api: expect.stringMatching(/^api-/), store: expect.stringMatching(/^store-/) });

  const browsing = await browser.newContext({ permissions: ["clipboard-read", "clipboard-write"] });
  const page = await browsing.newPage();
  await page.goto(dashboardUrl);
  await page.locator('[role="status"][aria-label="Helper connection"][data-state="connected"]').waitFor({ timeout: 20_000 });
  await page.getByRole("table", { name: "Kube contexts" }).getByRole("cell", { name: /^kbridge-demo-developer\s*current$/ }).waitFor();
  await screenshot(page, "demo-overview");

  // A profile for the demo's api, a session of it through the helper, and its history on the profile page.
  // The wizard: the context from the kubeconfig, the service from the cluster's live list; the developer may not
  // list namespaces, so the field is typed into (the context's own namespace, shop, is already in it).
  const profileForm = await newProfileWizard(page, { project: "shop", folder: dir, context: "kbridge-demo-developer", namespace: "shop", namespacesListed: false });
  const services = profileForm.getByRole("list", { name: "Services in shop" });
  await services.getByRole("button", { name: /^store\s/ }).waitFor();
  expect(await services.getByRole("button", { name: /^api\s/ }).innerText()).toMatch(/api\s+80→8080\/TCP\s+Deployment\/api\s+2\/2 ready/);
  await screenshot(page, "wizard");
  await services.getByRole("button", { name: /^api\s/ }).click();
  // Picking it names the profile and proposes its ports.
  expect(await profileForm.getByLabel("Profile name").inputValue()).toBe("api");
  expect(await profileForm.getByLabel("Target name").inputValue()).toBe("api");
  expect(await profileForm.getByLabel("Service port 1").inputValue()).toBe("80");
  expect(await profileForm.getByLabel("Workstation port 1").inputValue()).toBe("8080");
  await profileForm.getByLabel("Workstation port 1").fill(String(workstationPort));
  await profileForm.getByLabel("Launch command").fill("kbridge-no-such-program --serve");
  await profileForm.getByRole("button", { name: "Create profile" }).click();
  // A new profile opens at once, with its Connect button.
  await page.getByRole("heading", { name: "api", level: 1 }).waitFor();
  await page.getByText("No sessions yet.").waitFor();
  const profileUrl = page.url();

  // A launch command that cannot start is refused before anything changes in the cluster, saying what to fix.
  await page.getByRole("button", { name: "Connect" }).click();
  await page.getByText(/The launch command's program "kbridge-no-such-program" is not on this workstation's PATH\.[\s\S]*fix the profile's launch command/).waitFor();
  await screenshot(page, "connect-error");
  const editForm = page.getByRole("form", { name: "Edit profile" });
  await editForm.getByLabel("Launch command").fill(`node -e "${server}"`);
  await editForm.getByRole("button", { name: "Save profile" }).click();
  await page.getByRole("table", { name: "Profiles" }).getByRole("link", { name: "api" }).click();

  // Connect from the profile: the session page follows the steps to "connected".
  await page.getByRole("button", { name: "Connect" }).click();
  await page.waitForURL(/\/sessions\/\w+$/);
  const sessionId = /sessions\/(\w+)$/.exec(page.url())?.[1] ?? "";
  await page.locator('[data-testid="session-state"][data-state="connected"]').waitFor({ timeout: 45_000 });
  expect(await page.getByRole("list", { name: "Steps" }).locator("li[data-status=done]").count()).toBeGreaterThanOrEqual(6);
  await page.getByRole("table", { name: "Endpoints" }).getByRole("cell", { name: "shop/store" }).waitFor();
  // Both api replicas' agents have a tunnel up; one of them carries the outbound traffic.
  const tunnels = page.getByTestId("tunnels");
  await until(async () => /^Inbound\s+api-\S+\s+api-\S+\s+Outbound\s+api-\S+$/.test((await tunnels.count()) > 0 ? (await tunnels.innerText()).trim() : ""), "both agents' tunnels on the page", 15_000);

  // Once the process listens, a request through the ingress reaches it and shows in the traffic log and its own output.
  await page.getByRole("log", { name: "Session log" }).locator('[data-source="process"]', { hasText: "api listening" }).waitFor({ timeout: 15_000 });
  const reply = await viaIngress("/status");
  expect(JSON.parse(reply)).toMatchObject({ api: "workstation" });
  const log = page.getByRole("log", { name: "Session log" });
  await log.locator('[data-source="traffic"]', { hasText: /GET \/api\/items\S* → 200/ }).first().waitFor({ timeout: 15_000 });
  await log.locator('[data-source="process"]', { hasText: /served GET \/api\/items/ }).first().waitFor();
  await log.locator('[data-source="agent"]', { hasText: "tunnel up" }).first().waitFor();
  // Every line once: seqs never repeat, even where the catch-up after connecting overlaps the pushes.
  const seqs = await log.locator("div[data-seq]").evaluateAll((rows) => rows.map((row) => Number(row.getAttribute("data-seq"))));
  expect(seqs.length).toBeGreaterThan(5);
  expect(new Set(seqs).size).toBe(seqs.length);
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  await screenshot(page, "session-connected");

  // Diagnostics: the hosts block as written, every name resolving, api answering through the agent, the secret masked until revealed.
  const summary = page.getByTestId("diagnostics-summary");
  await summary.waitFor({ timeout: 20_000 });
  // The checks ran as the session connected, maybe before the process listened (api itself then fails, rightly):
  // now that it listens, check again.
  await page.getByRole("button", { name: "Check again" }).click();
  await page.getByRole("button", { name: "Checking…" }).waitFor({ state: "detached", timeout: 20_000 });
  const [, resolved, names] = /(\d+)\/(\d+) names resolve/.exec(await summary.innerText()) ?? [];
  // Four name forms of each service in the namespace.
  expect(Number(names)).toBe(4 * (await page.getByRole("table", { name: "Endpoints" }).locator("tbody tr").count()));
  expect(Number(names)).toBeGreaterThanOrEqual(12);
  expect(resolved).toBe(names);
  expect(await page.getByRole("region", { name: "Hosts block" }).locator("pre").innerText()).toMatch(/^# kbridge begin \S+ — [\s\S]*\n127\.1\.\d+\.\d+ +api api\.shop api\.shop\.svc api\.shop\.svc\.cluster\.local\n[\s\S]*# kbridge end \S+\n$/);
  await page.getByRole("table", { name: "Name resolution" }).locator('tr[data-name="store.shop.svc.cluster.local"][data-ok="true"]').waitFor();
  await page.getByRole("table", { name: "TCP checks" }).locator('tr[data-ok="true"]', { hasText: "shop/api:80" }).waitFor();
  const token = page.getByRole("table", { name: "Environment" }).locator('tr[data-name="API_TOKEN"]');
  expect(await token.innerText()).toMatch(/API_TOKEN\s+••••••••\s+env\s+Reveal/);
  await token.getByRole("button", { name: "Reveal" }).click();
  expect(await token.innerText()).toContain("demo-token-not-secret");
  await page.getByRole("button", { name: "Copy diagnostics" }).click();
  await page.getByText("Copied to the clipboard.").waitFor();
  const report = await page.evaluate(() => navigator.clipboard.readText());
  expect(report).toMatch(/^kbridge diagnostics — session \w+, service\/api in kbridge-demo-developer \/ shop/);
  expect(report).toMatch(/ok +api\.shop\.svc\.cluster\.local → 127\.1\./);
  expect(report).toMatch(/\n {2}API_TOKEN=•••••••• +\(env, secret\)\n/);
  expect(report).not.toContain("demo-token-not-secret");
  await screenshot(page, "session-diagnostics");

  // The profile of a connected session offers its session, never a second Connect; the sidebar lists it on every page.
  for (const pageUrl of [dashboardUrl, `${dashboardUrl}/team`]) {
    await page.goto(pageUrl);
    await page.getByRole("list", { name: "Live sessions" }).locator(`li[data-session="${sessionId}"][data-state="connected"]`).waitFor();
  }
  // The Overview and the project's list of profiles offer the session (Open, Disconnect), not Connect; the session's page links back to its profile.
  await page.goto(dashboardUrl);
  const overviewRow = page.getByRole("table", { name: "All profiles" }).locator('[data-testid^="profile-session-"][data-state="connected"]');
  await overviewRow.getByRole("button", { name: "Disconnect" }).waitFor();
  expect(await page.getByRole("table", { name: "All profiles" }).getByRole("button", { name: "Connect", exact: true }).count()).toBe(0);
  await page.goto(profileUrl.replace(/\/profiles\/\d+$/, ""));
  await page.getByRole("table", { name: "Profiles" }).locator('[data-testid^="profile-session-"][data-state="connected"]').getByRole("link", { name: "Open session" }).click();
  await page.waitForURL(new RegExp(`/sessions/${sessionId}$`));
  await page.getByRole("link", { name: "its profile" }).click();
  await page.waitForURL(profileUrl);
  const liveSession = page.getByTestId("live-session");
  await liveSession.waitFor({ timeout: 15_000 });
  expect(await liveSession.getAttribute("data-state")).toBe("connected");
  expect(await page.getByRole("button", { name: "Connect", exact: true }).count()).toBe(0);
  await liveSession.getByRole("button", { name: "Disconnect" }).waitFor();
  await liveSession.getByRole("link", { name: "Open session" }).click();
  await page.waitForURL(new RegExp(`/sessions/${sessionId}$`));
  await page.locator('[data-testid="session-state"][data-state="connected"]').waitFor();

  // Any pod of the namespace, on demand: the store's log joins the session's.
  const podPicker = page.getByLabel("Follow a pod's log");
  const storePod = String(await podPicker.locator("option", { hasText: /^store-/ }).getAttribute("value"));
  await podPicker.selectOption(storePod);
  await log.locator('[data-source="pod"]', { hasText: `${storePod}: store listening on :8080` }).waitFor({ timeout: 15_000 });
  await page.getByRole("button", { name: `Stop following ${storePod}` }).click();
  await log.locator('[data-source="helper"]', { hasText: `Stopped following the log of pod ${storePod}.` }).waitFor();

  // The helper dies mid-session: the page says so, the launcher starts it again, the page reconnects by itself and
  // shows the session interrupted (the cluster still redirected); Resume brings it back; no log line appears twice.
  const helperPid = Number(/"helper":(\d+)/.exec(demo.output())?.[1]);
  process.kill(helperPid, "SIGKILL");
  await page.locator('[role="status"][aria-label="Helper connection"]:not([data-state="connected"])').waitFor();
  await page.locator('[role="status"][aria-label="Helper connection"][data-state="connected"]').waitFor({ timeout: 30_000 });
  await page.locator('[data-testid="session-state"][data-state="interrupted"]').waitFor({ timeout: 20_000 });
  await screenshot(page, "session-interrupted");
  await page.getByRole("button", { name: "Resume" }).click();
  await page.locator('[data-testid="session-state"][data-state="connected"]').waitFor({ timeout: 45_000 });
  await until(async () => (await log.locator('[data-source="process"]', { hasText: "api listening" }).count()) === 2, "the process started again", 15_000);
  expect(JSON.parse(await viaIngress("/status"))).toMatchObject({ api: "workstation" });
  await until(async () => (await log.locator('[data-source="process"]', { hasText: /served GET \/api\/items/ }).count()) >= 2, "the second request in the process log", 15_000);
  const after = await log.locator("div[data-seq]").evaluateAll((rows) => rows.map((row) => Number(row.getAttribute("data-seq"))));
  expect(after.length).toBeGreaterThan(seqs.length);
  expect(new Set(after).size).toBe(after.length);
  expect(after).toEqual([...after].sort((a, b) => a - b));

  await page.getByRole("button", { name: "Disconnect" }).click();
  await page.locator('[data-testid="session-state"][data-state="ended"]').waitFor({ timeout: 60_000 });
  await page.goto(profileUrl);
  await until(async () => {
    await page.reload();
    return (await page.locator(`tr[data-session="${sessionId}"]`).count()) === 1;
  }, "the session in the profile's history", 20_000);
  expect(await page.locator(`tr[data-session="${sessionId}"]`).innerText()).toMatch(/Disconnected\s+service\/api in shop: connected, then restored\./);
  await screenshot(page, "profile-history");

  // The cluster page: what a crashed helper left (another workstation's session of web, its helper SIGKILLed, its
  // restorer unable to finish) is listed by session, marked stale, with why; one click restores web and removes it all.
  const kubeconfig = /KUBECONFIG=(\S+) kubectl/.exec(demo.output())?.[1] ?? "";
  const kubectl = kubectlFor(kubeconfig);
  const webBefore = JSON.parse((await kubectl(["get", "deployment", "web", "-n", "shop", "-o", "json"])).stdout).spec;
  const crashed = startEntry("test/support/connectedHelper.ts", { ...env, KUBECONFIG: kubeconfig, TARGET_NAMESPACE: "shop", TARGET_NAME: "web", SERVICE_PORT: "80", WORKSTATION_PORT: String(workstationPort), DEADMAN_SECONDS: "600" });
  const crashedId = String((await waitForOutput(crashed, /CONNECTED (\w+)/, 45_000))[1]);
  process.kill(-(crashed.child.pid as number), "SIGKILL");
  const failed = JSON.stringify({ state: "failed", message: "could not put deployment web back: HTTP 403: forbidden", hint: "Someone with the right to put deployment web back can finish it with `kbridge clean`." });
  expect((await kubectl(["annotate", "--overwrite", "secret", `kbridge-${crashedId}-original`, "-n", "shop", `kbridge.dev/restorer-status=${failed}`])).code).toBe(0);
  await page.getByRole("link", { name: "Cluster" }).click();
  await page.getByRole("heading", { name: "Cluster", level: 1 }).waitFor();
  // The developer's context names shop: the page starts there.
  await until(async () => (await page.getByRole("textbox", { name: "Namespace" }).inputValue()) === "shop", "the cluster page on the context's namespace", 15_000);
  const objects = page.getByRole("table", { name: `Objects of session ${crashedId}` });
  await objects.locator(`tr[data-object="Secret/kbridge-${crashedId}-original"][data-stale="true"]`).waitFor({ timeout: 15_000 });
  // Secret, ConfigMap and restorer pod: the demo's kbridge setup gives the restorer its identity.
  expect(await objects.locator("tbody tr").count()).toBe(3);
  // The developer may not read RBAC objects: the page says which kinds it could not list.
  expect(await page.getByTestId("unlisted-kinds").innerText()).toMatch(/^You may not list RoleBinding or Role objects in shop;/);
  await page.getByRole("alert").filter({ hasText: "Its restorer could not finish: could not put deployment web back: HTTP 403: forbidden." }).waitFor();
  expect(await page.getByTestId(`session-state-${crashedId}`).getAttribute("data-state")).toBe("restore-failed");
  await screenshot(page, "cluster");
  await page.getByRole("button", { name: "Remove session (restore its workload)" }).click();
  await page.getByRole("status").filter({ hasText: `restored deployment/web` }).waitFor({ timeout: 60_000 });
  await page.getByText("No kbridge objects in shop").waitFor({ timeout: 15_000 });
  expect(JSON.parse((await kubectl(["get", "deployment", "web", "-n", "shop", "-o", "json"])).stdout).spec).toEqual(webBefore);
  await page.close();

  const pids = [...demo.output().matchAll(/"(helper|dashboard)":(\d+)/g)].map((m) => Number(m[2]));
  expect(pids).toHaveLength(2);
  expect(await demo.stop(15_000)).toBe(0);
  demo = undefined;
  for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
});
