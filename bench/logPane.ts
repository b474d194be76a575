/**
 * The dashboard under a log flood, measured in Debian's Chromium: a session whose process
 * prints 10k lines/s (with ANSI colours) for 10 s, its page open — how many lines per second
 * the log pane takes in and renders, the frame rate and the longest frame meanwhile, and the
 * session page's time to interactive (navigation to the first log rows on screen).
 *
 * Runs `npm run demo` (test cluster, helper, dashboard) in its own processes; needs the
 * dashboard built (`npm run build`, which `npm test` does).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sendCommand } from "../helper/client/helperSocket.ts";
import { connectToHelper } from "../helper/cli/helperConnection.ts";
import { launchChromium } from "../test/support/browser.ts";
import { envFor, startEntry, waitForOutput } from "../test/support/kbridgeProcess.ts";
import { freePort } from "../test/support/ports.ts";

const LINES_PER_SECOND = 10_000;
const SECONDS = 10;

// Waits 3 s (the page opens), then prints LINES_PER_SECOND lines a second in 10 ms ticks for SECONDS.
const FLOOD = `
const perTick = ${LINES_PER_SECOND / 100};
let n = 0;
setTimeout(() => {
  const started = Date.now();
  const timer = setInterval(() => {
    let chunk = "";
    for (let i = 0; i < perTick; i++) { n++; chunk += (n % 10 === 0 ? "\\x1b[33mwarn\\x1b[0m " : "\\x1b[32minfo\\x1b[39m ") + "request " + n + " handled in " + (n % 97) + " ms\\n"; }
    process.stdout.write(chunk);
    if (Date.now() - started >= ${SECONDS * 1000}) { clearInterval(timer); console.log("flood done " + n); }
  }, 10);
}, 3000);
setInterval(() => {}, 1000);
`;

// Runs in the page (a string: the bench's TypeScript transform would add helpers the page lacks).
const SAMPLE = `(async () => {
  const log = document.querySelector('[role="log"]');
  const lines = () => Number(log.dataset.lines);
  let frames = 0, longest = 0, last = performance.now(), running = true;
  const tick = (now) => { frames++; longest = Math.max(longest, now - last); last = now; if (running) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  const startLines = lines();
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  running = false;
  const elapsed = (performance.now() - start) / 1000;
  return { linesPerSecond: (lines() - startLines) / elapsed, fps: frames / elapsed, longestFrameMs: longest, rowsInDom: log.querySelectorAll("div[data-seq]").length, held: lines() };
})()`;

export async function benchLogPane(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kbridge-bench-logpane-"));
  const env = envFor({ home: path.join(dir, "home"), kubeconfig: "/nonexistent", dashboardPort: await freePort(), helperPort: await freePort() });
  env.KBRIDGE_HOSTS_FILE = path.join(dir, "hosts");
  fs.writeFileSync(env.KBRIDGE_HOSTS_FILE, "127.0.0.1 localhost\n");
  const demo = startEntry("scripts/demo.ts", env);
  const browser = await launchChromium();
  try {
    const running = await waitForOutput(demo, /Dashboard:\s+open (\S+)[\s\S]*KUBECONFIG=(\S+) kubectl/, 120_000);
    const [, dashboardUrl, kubeconfig] = running as unknown as [string, string, string];
    const helper = await connectToHelper({ ...env, KUBECONFIG: kubeconfig });
    const started = await sendCommand(helper.socket, "session:start", {
      kubeContext: "kbridge-demo",
      namespace: "shop",
      targetKind: "service",
      targetName: "api",
      ports: [{ port: 80, workstationPort: await freePort() }],
      privilegeMode: "unprivileged",
      // One line, no single quotes: it goes to sh in single quotes.
      launch: { command: `node -e '${FLOOD.replace(/\n/g, " ")}'`, cwd: dir },
    });
    if (!started.ok) throw new Error(started.error.message);
    const sessionId = started.data.id;

    const page = await browser.newPage();
    const navigation = Date.now();
    await page.goto(new URL(`/sessions/${sessionId}`, dashboardUrl).toString());
    await page.locator('[role="log"] div[data-seq]').first().waitFor({ timeout: 60_000 });
    const interactive = Date.now() - navigation;
    const domInteractive = (await page.evaluate('performance.getEntriesByType("navigation")[0].domInteractive')) as number;

    // Frames and lines, sampled in the page while the flood runs.
    await page.waitForFunction(`Number(document.querySelector('[role="log"]')?.dataset.lines) > 1000`, undefined, { timeout: 60_000 });
    const result = (await page.evaluate(SAMPLE.replace("SECONDS", String(SECONDS - 1)))) as { linesPerSecond: number; fps: number; longestFrameMs: number; rowsInDom: number; held: number };
    await page.close();
    await sendCommand(helper.socket, "session:stop", { sessionId }, 90_000);
    helper.socket.close();

    console.log(`\nlog pane: a process printing ${LINES_PER_SECOND} lines/s for ${SECONDS} s, its session page open (Chromium)`);
    console.log(`  rendered ${result.linesPerSecond.toFixed(0)} lines/s against ${LINES_PER_SECOND} arriving (${(result.linesPerSecond / LINES_PER_SECOND).toFixed(2)}x)`);
    console.log(`  ${result.fps.toFixed(0)} frames/s, longest frame ${result.longestFrameMs.toFixed(0)} ms; ${result.held} lines held, ${result.rowsInDom} rows in the DOM`);
    console.log(`  session page: interactive (first log rows on screen) ${interactive} ms after navigation; domInteractive ${domInteractive.toFixed(0)} ms`);
  } finally {
    await browser.close();
    await demo.stop(15_000);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
