// End-to-end tests of the web client: the real `parley` binary on a free
// port, Debian's Chromium headless, two separate browser contexts.
// Usage: node run.mjs <path to parley binary>

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const binary = process.argv[2];
const port = await new Promise((resolve) => {
  const probe = createServer().listen(0, "127.0.0.1", () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
});
const dataDir = mkdtempSync(join(tmpdir(), "parley-browser-"));
const server = spawn(binary, ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", dataDir, "--send-rate", "0"], {
  env: { ...process.env, PARLEY_LOG: "warn" },
  stdio: ["ignore", "inherit", "inherit"],
});
const base = `http://127.0.0.1:${port}`;
for (let i = 0; i < 100; i++) {
  if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) break;
  await new Promise((r) => setTimeout(r, 100));
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const problems = [];

async function signUp(name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (error) => problems.push(`${name}: ${error.message}`));
  // Any alert the page raises by itself (not an invite-link notice) would be an injected script.
  await page.exposeFunction("__alerted", (text) => problems.push(`${name}: alert(${text})`));
  await page.addInitScript(() => {
    window.alert = (text) => window.__alerted(String(text));
  });
  await page.goto(base);
  await page.getByRole("button", { name: "Create an account" }).click();
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  return page;
}

async function post(page, path, body) {
  return page.evaluate(
    async ([path, body]) => {
      const response = await fetch(`/api/v1${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return response.json();
    },
    [path, body],
  );
}

async function say(page, text) {
  const box = page.getByRole("textbox", { name: "Message" });
  await box.fill(text);
  await box.press("Enter");
}

let failed = false;
try {
  // Alice opens a private channel and an invite; Bob follows the link and joins.
  const alice = await signUp("alice");
  const { channel } = await post(alice, "/channels", { name: "secret", kind: "private" });
  const { invite } = await post(alice, `/channels/${channel.id}/invites`, {});
  await alice.getByRole("button", { name: /secret/ }).click();
  const bob = await signUp("bob");
  await bob.goto(`${base}/invite/${invite.code}`);
  await bob.getByRole("button", { name: /secret/ }).click();

  // Both ways, live; an XSS corpus is shown as text and runs nothing.
  const xss = `<script>alert(1)</script> <img src=x onerror=alert(2)> <svg onload=alert(3)></svg> <a href="javascript:alert(4)">x</a>`;
  await say(alice, xss);
  await bob.getByText(xss).waitFor({ timeout: 10_000 });
  await say(bob, "hi alice");
  await alice.getByText("hi alice").waitFor({ timeout: 10_000 });
  if ((await bob.locator(".log img, .log svg, .log script, .log a").count()) !== 0) problems.push("markup from a message reached the DOM");
  if (problems.length) throw new Error(problems.join("; "));
  console.log("browser: invite, live exchange both ways, XSS corpus shown as text: ok");
} catch (error) {
  failed = true;
  console.error("browser: FAILED:", error.message);
} finally {
  await browser.close();
  server.kill("SIGTERM");
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
