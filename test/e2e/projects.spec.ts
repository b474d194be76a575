/**
 * A new user's first minutes, in Debian's Chromium against `npm start`'s processes:
 * the helper shows as connected with the kubeconfig's contexts; a project and a profile
 * are created through the forms (with the inline errors a user meets on the way); they
 * survive a reload and a restart of kbridge; stopping kbridge leaves no process behind.
 */
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { launchChromium, screenshot } from "../support/browser.ts";
import { isAlive, startKbridge, type KbridgeEnv, type Started } from "../support/kbridgeProcess.ts";
import { freePort } from "../support/ports.ts";
import { tempDir, writeKubeconfig } from "../support/tempDir.ts";
import { until } from "../support/until.ts";

const dir = tempDir("e2e-projects");
const projectFolder = path.join(dir, "shop-src");
fs.mkdirSync(projectFolder);
let env: KbridgeEnv;
let browser: Browser;
let running: Started | undefined;

beforeAll(async () => {
  env = { home: path.join(dir, "home"), kubeconfig: writeKubeconfig(dir), dashboardPort: await freePort(), helperPort: await freePort() };
  browser = await launchChromium();
});

async function newPage(): Promise<Page> {
  const page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  return page;
}

afterAll(async () => {
  await browser?.close();
  await running?.stop();
});

async function helperConnected(page: Page): Promise<void> {
  await page.locator('[role="status"][aria-label="Helper connection"][data-state="connected"]').waitFor({ timeout: 20_000 });
}

function request(url: string, options: { method?: string; headers?: Record<string, string> }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? "GET", headers: options.headers }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("projects and profiles", () => {
  let url: string;
  let pids: { helper: number; dashboard: number };

  test("npm start serves the dashboard with the helper connected and the kubeconfig's contexts", async () => {
    const first = await startKbridge(env);
    running = first.started;
    url = first.url;
    pids = first.pids;
    expect(url).toBe(`http://localhost:${env.dashboardPort}`);

    const page = await newPage();
    await page.goto(url);
    await helperConnected(page);
    const contexts = page.getByRole("table", { name: "Kube contexts" });
    await contexts.getByRole("cell", { name: "prod", exact: true }).waitFor();
    expect(await contexts.getByRole("row").count()).toBe(3);
    expect(await contexts.getByRole("cell", { name: /^dev\s*current$/ }).count()).toBe(1);
    // The icons browsers ask for are there (no 404 on every page).
    for (const [file, type] of [["/favicon.ico", "image/x-icon"], ["/icon.svg", "image/svg+xml"]]) {
      const icon = await fetch(`${url}${file}`);
      expect([icon.status, icon.headers.get("content-type")], file).toEqual([200, type]);
    }
    expect(await page.locator('link[rel="icon"][href^="/icon.svg"]').count()).toBe(1);
    await screenshot(page, "overview");
    await page.close();
  });

  test("the dashboard refuses foreign Host and Origin headers", async () => {
    const evilHost = await request(`${url}/projects`, { headers: { host: "evil.example" } });
    expect(evilHost.status).toBe(403);
    expect(evilHost.body).toMatch(/refuses requests for host "evil\.example"/);
    const evilOrigin = await request(`${url}/projects`, { method: "POST", headers: { origin: "http://evil.example", "content-type": "text/plain" } });
    expect(evilOrigin.status).toBe(403);
    expect((await request(`${url}/projects`, {})).status).toBe(200);
    // Bound to 127.0.0.1 only: another loopback address of this machine gets no answer.
    await expect(request(`http://127.0.0.2:${env.dashboardPort}/`, {})).rejects.toThrow(/ECONNREFUSED/);
  });

  test("a project and a profile are created through the forms, with inline errors on the way", async () => {
    const page = await newPage();
    await page.goto(url);
    await page.getByRole("link", { name: "Projects & profiles" }).click();
    await page.getByRole("heading", { name: "Projects & profiles" }).waitFor();

    const projectForm = page.getByRole("form", { name: "New project" });
    await projectForm.getByRole("button", { name: "Create project" }).click();
    await projectForm.getByText("Name is required", { exact: true }).waitFor();
    await projectForm.getByLabel("Project name").fill("shop");
    await projectForm.getByLabel("Folder").fill(path.join(dir, "no-such-folder"));
    await projectForm.getByRole("button", { name: "Create project" }).click();
    await projectForm.getByText(/does not exist/).waitFor();
    await projectForm.getByLabel("Folder").fill(projectFolder);
    await projectForm.getByRole("button", { name: "Create project" }).click();
    await page.getByRole("heading", { name: "shop", level: 1 }).waitFor();

    await page.getByRole("link", { name: "New profile" }).click();
    const profileForm = page.getByRole("form", { name: "New profile" });
    await profileForm.waitFor();
    await helperConnected(page);
    // The kubeconfig's current context is chosen already, with its namespace.
    const contextPicker = profileForm.getByRole("combobox", { name: "Kube context" });
    await until(async () => (await contextPicker.inputValue()) === "dev", "the current context pre-selected");
    expect(await profileForm.getByLabel("Namespace").inputValue()).toBe("shop");
    await contextPicker.selectOption("");
    await profileForm.getByRole("button", { name: "Create profile" }).click();
    for (const message of ["Name is required", "Kube context is required", "Target name is required", "Service port is required", "Workstation port is required"]) {
      await profileForm.getByText(message, { exact: true }).waitFor();
    }
    await screenshot(page, "profile-errors");

    await profileForm.getByLabel("Profile name").fill("api");
    // The context picker lists the kubeconfig's contexts from the helper.
    await profileForm.getByRole("combobox", { name: "Kube context" }).selectOption("dev");
    // The dev context's namespace (shop) is filled in for the user.
    expect(await profileForm.getByLabel("Namespace").inputValue()).toBe("shop");
    // Its cluster does not answer: the wizard's live lists say so where they would be, with what to check.
    await profileForm.getByText(/^Cannot reach the cluster of context "dev" \(https:\/\/127\.0\.0\.1:6443\) to list namespaces: ECONNREFUSED\. Check your network or VPN/).waitFor();
    await profileForm.getByRole("alert").filter({ hasText: /Cannot list the services of shop: Cannot reach the cluster of context "dev"/ }).waitFor();
    await screenshot(page, "wizard-unreachable");
    await profileForm.getByLabel("Target name").fill("orders");
    await profileForm.getByLabel("Service port 1").fill("80");
    await profileForm.getByLabel("Workstation port 1").fill("70000");
    await profileForm.getByRole("button", { name: "Create profile" }).click();
    await profileForm.getByText("Workstation port must be between 1 and 65535", { exact: true }).waitFor();
    await profileForm.getByLabel("Workstation port 1").fill("3000");
    await profileForm.getByRole("button", { name: "Add port mapping" }).click();
    await profileForm.getByLabel("Service port 2").fill("9090");
    await profileForm.getByLabel("Workstation port 2").fill("9091");
    await profileForm.getByLabel("Launch command").fill("npm run dev");
    await profileForm.getByLabel("Environment overrides").fill("LOG_LEVEL=debug");
    await profileForm.getByRole("button", { name: "Create profile" }).click();
    // The new profile opens; its project lists it.
    await page.getByRole("heading", { name: "api", level: 1 }).waitFor();
    await page.getByRole("button", { name: "Connect" }).waitFor();
    await page.getByRole("link", { name: "shop" }).click();
    const profiles = page.getByRole("table", { name: "Profiles" });
    await profiles.getByRole("link", { name: "api", exact: true }).waitFor();
    expect(await profiles.getByRole("cell", { name: "80→3000, 9090→9091" }).count()).toBe(1);
    await screenshot(page, "project");

    // The same name again in this project: refused inline by the server.
    await page.getByRole("link", { name: "New profile" }).click();
    const again = page.getByRole("form", { name: "New profile" });
    await again.getByLabel("Profile name").fill("api");
    await again.getByRole("combobox", { name: "Kube context" }).selectOption("dev");
    await again.getByLabel("Target name").fill("payments");
    await again.getByLabel("Service port 1").fill("80");
    await again.getByLabel("Workstation port 1").fill("3001");
    await again.getByRole("button", { name: "Create profile" }).click();
    await again.getByText('A profile named "api" already exists in this project').first().waitFor();
    await page.close();
  });

  test("the profile survives a reload, and editing it keeps every field", async () => {
    const page = await newPage();
    await page.goto(`${url}/projects`);
    await page.getByRole("link", { name: "shop" }).click();
    await page.getByRole("heading", { name: "shop", level: 1 }).waitFor();
    await page.reload();
    await page.getByRole("table", { name: "Profiles" }).getByRole("link", { name: "api", exact: true }).click();
    const form = page.getByRole("form", { name: "Edit profile" });
    await form.waitFor();
    expect(await form.getByLabel("Launch command").inputValue()).toBe("npm run dev");
    expect(await form.getByLabel("Service port 2").inputValue()).toBe("9090");
    expect(await form.getByLabel("Environment overrides").inputValue()).toBe("LOG_LEVEL=debug");
    // A config file gets a preview of what it will do, read by the helper as a connect reads it; a broken one names its line.
    fs.writeFileSync(path.join(projectFolder, "KubernetesLocalProcessConfig.yaml"), "version: 0.1\nenv:\n  - name: STORE_URL\n    value: http://$(services:store)/api\n");
    await form.getByLabel("Config file (optional)").fill("KubernetesLocalProcessConfig.yaml");
    const preview = form.getByLabel("Config file preview");
    await preview.getByText("set STORE_URL = http://‹service store, as reached from this workstation›/api").waitFor();
    fs.writeFileSync(path.join(projectFolder, "broken.yaml"), "version: 0.1\nenv:\n  - name: X\n    value: $(services:)\n");
    await form.getByLabel("Config file (optional)").fill("broken.yaml");
    await form.getByRole("alert").filter({ hasText: /broken\.yaml line 3: X: \$\(services:\) is not a token/ }).waitFor();
    await form.getByLabel("Config file (optional)").fill("KubernetesLocalProcessConfig.yaml");
    await preview.waitFor();
    await screenshot(page, "profile-edit");
    await page.close();
  });

  test("a profile exports to a file and imports back; Bridge to Kubernetes tasks.json imports as a draft to complete", async () => {
    const page = await newPage();
    await page.goto(`${url}/projects`);
    await page.getByRole("link", { name: "shop" }).click();
    await page.getByRole("table", { name: "Profiles" }).getByRole("link", { name: "api", exact: true }).click();
    // The author isolates with a key of their own: the export must not hand it to whoever imports it.
    const edit = page.getByRole("form", { name: "Edit profile" });
    await edit.getByLabel(/^Isolated: only requests carrying my routing key/).check();
    await edit.getByLabel("Routing key (optional)").fill("carol-7e7e");
    await edit.getByRole("button", { name: "Save profile" }).click();
    await page.getByRole("table", { name: "Profiles" }).getByRole("cell", { name: "isolated" }).waitFor();
    await page.getByRole("table", { name: "Profiles" }).getByRole("link", { name: "api", exact: true }).click();
    await page.getByRole("form", { name: "Edit profile" }).waitFor();
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export" }).click()]);
    expect(download.suggestedFilename()).toBe("api.kbridge.yaml");
    const exported = fs.readFileSync(await download.path(), "utf8");
    expect(exported).toMatch(/\napiVersion: kbridge\.dev\/v1\nkind: Profile\nname: api\ntarget:\n {2}context: dev\n {2}namespace: shop\n {2}kind: service\n {2}name: orders\n/);

    // Pasted as it is (no file name to give): recognised as a kbridge profile by what it holds.
    await page.getByRole("link", { name: "shop" }).click();
    await page.getByText("…or paste it").click();
    await page.getByLabel("Pasted file").fill(exported);
    await page.getByRole("button", { name: "Read it" }).click();
    await page.getByRole("list", { name: "Imported drafts" }).getByText("profile \"api\" from The pasted text").waitFor();
    expect(await page.getByLabel("Pasted file name").count()).toBe(0);
    expect(exported).not.toContain("carol-7e7e");
    // Saved under another name, it gets a routing key of its own, not the author's.
    await page.getByRole("list", { name: "Imported drafts" }).getByRole("listitem").filter({ hasText: "The pasted text" }).getByRole("link", { name: "Continue in the form" }).click();
    const pasted = page.getByRole("form", { name: "New profile" });
    await pasted.waitFor();
    expect([await pasted.getByLabel(/^Isolated/).isChecked(), await pasted.getByLabel("Routing key (optional)").inputValue()]).toEqual([true, ""]);
    await pasted.getByLabel("Profile name").fill("api-pasted");
    await pasted.getByRole("button", { name: "Create profile" }).click();
    await page.getByRole("heading", { name: "api-pasted", level: 1 }).waitFor();
    const ownKey = await page.getByRole("form", { name: "Edit profile" }).getByLabel("Routing key (optional)").inputValue();
    expect(ownKey).toMatch(/^[a-z0-9-]+-[0-9a-f]{4}$/);
    expect(ownKey).not.toBe("carol-7e7e");
    await page.getByRole("link", { name: "shop" }).click();

    // The exported file, imported on the project page: the form comes back filled in with every field.
    await page.getByLabel("Profile file").setInputFiles({ name: "api.kbridge.yaml", mimeType: "application/yaml", buffer: Buffer.from(exported.replace("name: api\n", "name: api-copy\n")) });
    await page.getByRole("list", { name: "Imported drafts" }).getByRole("link", { name: "Continue in the form" }).click();
    const copy = page.getByRole("form", { name: "New profile" });
    await copy.waitFor();
    expect(await copy.getByLabel("Profile name").inputValue()).toBe("api-copy");
    expect(await copy.getByLabel("Target name").inputValue()).toBe("orders");
    expect(await copy.getByLabel("Service port 2").inputValue()).toBe("9090");
    expect(await copy.getByLabel("Workstation port 2").inputValue()).toBe("9091");
    expect(await copy.getByLabel("Launch command").inputValue()).toBe("npm run dev");
    expect(await copy.getByLabel("Environment overrides").inputValue()).toBe("LOG_LEVEL=debug");

    // Bridge to Kubernetes' tasks.json (comments, trailing commas): target, local ports, mode and routing key come over.
    await page.goto(`${url}/projects`);
    await page.getByRole("link", { name: "shop" }).click();
    const tasks = `{
  // written by Bridge to Kubernetes
  "version": "2.0.0",
  "tasks": [
    { "label": "bridge-to-kubernetes.resource", "type": "bridge-to-kubernetes.resource", "resource": "payments", "resourceType": "service",
      "ports": [5000], "targetCluster": "dev", "targetNamespace": "shop", "useKubernetesServiceEnvironmentVariables": true, "isolateAs": "alice-3f9c", },
  ],
}`;
    await page.getByLabel("Profile file").setInputFiles({ name: "tasks.json", mimeType: "application/json", buffer: Buffer.from(tasks) });
    const drafts = page.getByRole("list", { name: "Imported drafts" });
    await drafts.getByText('task "bridge-to-kubernetes.resource" in tasks.json').waitFor();
    await screenshot(page, "import");
    await drafts.getByRole("link", { name: "Continue in the form" }).click();
    const imported = page.getByRole("form", { name: "New profile" });
    await imported.waitFor();
    expect(await imported.getByLabel("Target name").inputValue()).toBe("payments");
    expect(await imported.getByLabel("Kube context").inputValue()).toBe("dev");
    expect(await imported.getByLabel("Workstation port 1").inputValue()).toBe("5000");
    expect(await imported.getByLabel("Service port 1").inputValue()).toBe("");
    expect(await imported.getByLabel("Privilege mode").inputValue()).toBe("unprivileged");
    expect(await imported.getByLabel("Routing key (optional)").inputValue()).toBe("alice-3f9c");
    // What the file could not say is asked for before anything is saved.
    await imported.getByRole("button", { name: "Create profile" }).click();
    await imported.getByText("Service port is required", { exact: true }).waitFor();
    await imported.getByLabel("Service port 1").fill("80");
    await imported.getByRole("button", { name: "Create profile" }).click();
    await page.getByRole("heading", { name: "bridge-to-kubernetes-resource", level: 1 }).waitFor();
    await page.getByRole("link", { name: "shop" }).click();

    // A file that is none of these says so.
    await page.getByLabel("Profile file").setInputFiles({ name: "notes.yaml", mimeType: "application/yaml", buffer: Buffer.from("shopping: [milk]\n") });
    await page.getByRole("alert").filter({ hasText: "notes.yaml is neither a kbridge profile" }).waitFor();
    await page.close();
  });

  test("a project is deleted through the UI after confirming, its profiles with it", async () => {
    const page = await newPage();
    await page.goto(`${url}/projects`);
    const form = page.getByRole("form", { name: "New project" });
    await form.getByLabel("Project name").fill("scratch");
    await form.getByLabel("Folder").fill(projectFolder);
    await form.getByRole("button", { name: "Create project" }).click();
    await page.getByRole("heading", { name: "scratch", level: 1 }).waitFor();
    page.once("dialog", (dialog) => void dialog.accept());
    await page.getByRole("button", { name: "Delete project" }).click();
    await page.getByRole("heading", { name: "Projects & profiles" }).waitFor();
    const projects = page.getByRole("list", { name: "Projects" });
    await projects.getByRole("link", { name: "shop" }).waitFor();
    expect(await projects.getByRole("link", { name: "scratch" }).count()).toBe(0);
    await page.close();
  });

  test("Ctrl-C/SIGTERM stops helper and dashboard; after a restart the profile is still there", async () => {
    expect(isAlive(pids.helper) && isAlive(pids.dashboard)).toBe(true);
    expect(await running?.stop()).toBe(0);
    running = undefined;
    await expect.poll(() => isAlive(pids.helper) || isAlive(pids.dashboard), { timeout: 5000 }).toBe(false);

    const second = await startKbridge(env);
    running = second.started;
    const page = await newPage();
    await page.goto(`${second.url}/projects`);
    await helperConnected(page);
    await page.getByRole("link", { name: "shop" }).click();
    await page.getByRole("table", { name: "Profiles" }).getByRole("link", { name: "api", exact: true }).waitFor();
    await page.close();
  });
});
