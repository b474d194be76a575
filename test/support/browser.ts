import fs from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { ROOT } from "./kbridgeProcess.ts";

/**
 * Debian's Chromium (installed by .ci/run), or KBRIDGE_CHROMIUM. Never a downloaded browser.
 * `args`: more flags (e.g. --host-resolver-rules, so test hosts resolve to loopback addresses).
 */
export async function launchChromium(args: string[] = []): Promise<Browser> {
  const executablePath = process.env.KBRIDGE_CHROMIUM ?? "/usr/bin/chromium";
  if (!fs.existsSync(executablePath)) {
    throw new Error(`No Chromium at ${executablePath}: install Debian's (apt-get install -y chromium) or set KBRIDGE_CHROMIUM.`);
  }
  return chromium.launch({
    executablePath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", ...args],
  });
}

/** Saves a full-page screenshot under artifacts/screenshots/ (looked at before an issue is resolved). */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = path.join(ROOT, "artifacts", "screenshots");
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}
