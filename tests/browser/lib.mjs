// What the browser tests share: the real `parley` binary on a free port
// (killed and restarted on the same data), Debian's Chromium headless, and
// helpers that act as a person would (through the UI) or read the server's
// log over REST to compare a view against it.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const PASSWORD = "correct horse battery";

function freePort() {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

export class Server {
  /** `registration`: who may sign up (`open`, `invite` or `closed`); the suites share an open one. */
  static async start(binary, { registration = "open" } = {}) {
    const server = new Server(binary, await freePort(), await freePort(), mkdtempSync(join(tmpdir(), "parley-browser-")));
    server.registration = registration;
    await server.run();
    return server;
  }

  // `relayPort`: where a Relay to this server listens. A page loaded through
  // the relay has its origin, which the server then allows for the session
  // cookie besides its own (http://127.0.0.1:<port>).
  constructor(binary, port, relayPort, dataDir) {
    Object.assign(this, { binary, port, relayPort, dataDir, base: `http://127.0.0.1:${port}` });
  }

  async run() {
    const args = ["serve", "--listen", `127.0.0.1:${this.port}`, "--data-dir", this.dataDir, "--send-rate", "0", "--registration", this.registration ?? "open",
      "--allowed-origin", `http://127.0.0.1:${this.relayPort}`];
    this.process = spawn(this.binary, args, { env: { ...process.env, PARLEY_LOG: "warn" }, stdio: ["ignore", "inherit", "inherit"] });
    const exited = new Promise((resolve) => this.process.once("exit", resolve));
    this.exited = exited;
    for (let i = 0; i < 200; i++) {
      if (await fetch(`${this.base}/healthz`).then((r) => r.ok, () => false)) return;
      await sleep(50);
    }
    throw new Error("parley did not answer /healthz within 10 s");
  }

  async kill(signal = "SIGKILL") {
    this.process.kill(signal);
    await this.exited;
  }

  async stop() {
    if (this.process.exitCode === null && this.process.signalCode === null) await this.kill("SIGTERM");
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/**
 * A person in a browser context of their own: a hooked `window.alert` and
 * any uncaught page error become `problems` (an injected script would raise
 * one). Console errors are not: a refused reconnect while the server is down
 * logs one by design.
 */
export async function person(browser, server, name, problems, { base = server.base, ...options } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  page.on("pageerror", (error) => problems.push(`${name}: page error: ${error.message}`));
  await page.exposeFunction("__alerted", (text) => problems.push(`${name}: alert(${text}) ran`));
  await page.exposeFunction("__blocked", (what) => problems.push(`${name}: the Content-Security-Policy blocked ${what}`));
  await page.addInitScript(() => {
    window.alert = (text) => window.__alerted(String(text));
    // The client must live within its own policy: no inline script or style.
    document.addEventListener("securitypolicyviolation", (e) => window.__blocked(`${e.violatedDirective} ${e.blockedURI}`));
  });
  page.sent = []; // client → server WebSocket frames, parsed
  page.received = []; // server → client
  const record = (into) => ({ payload }) => {
    try {
      into.push(JSON.parse(payload));
    } catch {
      // not JSON: nothing of ours
    }
  };
  page.on("websocket", (ws) => {
    ws.on("framesent", record(page.sent));
    ws.on("framereceived", record(page.received));
  });
  page.person = name;
  page.base = base;
  await page.goto(base);
  return page;
}

export async function register(page, name) {
  // A fresh server opens on the sign-up form (its first account is the admin); else it is a click away.
  await page.getByRole("button", { name: /^(Create account|Create an account)$/ }).first().waitFor();
  if (await page.getByRole("button", { name: "Create an account" }).count()) await page.getByRole("button", { name: "Create an account" }).click();
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

/** Types a message into the open conversation and presses Enter. */
export async function say(page, text) {
  const box = page.getByRole("textbox", { name: "Message", exact: true });
  await box.fill(text);
  await box.press("Enter");
}

/** Waits until `page` shows a message with exactly this body in its log. */
export async function sees(page, text, timeout = 10_000) {
  await page.locator(".log .msg .body").filter({ hasText: text }).first().waitFor({ timeout });
}

export async function fetchJson(page, method, path, body) {
  return page.evaluate(async ([method, path, body]) => {
    const init = { method, headers: { "content-type": "application/json" } };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await fetch(`/api/v1${path}`, init);
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return response.status === 204 ? null : response.json();
  }, [method, path, body]);
}

/** The whole log of a channel as the server has it. */
export async function serverLog(page, channelId) {
  const events = [];
  for (;;) {
    const after = events.length ? events.at(-1).seq : 0;
    const page_ = await fetchJson(page, "GET", `/channels/${channelId}/events?after=${after}&limit=500`);
    events.push(...page_.events);
    if (!page_.has_more) return events;
  }
}

/** What the open conversation shows: each event's seq, and a message's body. */
export async function shown(page) {
  return page.$$eval(".log [data-seq]", (nodes) => nodes.map((n) => ({ seq: Number(n.dataset.seq), body: n.querySelector(".body")?.textContent ?? null })));
}

/** The id of the conversation open in `page`, read from the server by name. */
export async function channelId(page, name) {
  const { channels } = await fetchJson(page, "GET", "/channels");
  const channel = channels.find((c) => c.name === name);
  if (!channel) throw new Error(`${page.person} is not in ${name}`);
  return channel.id;
}

/** Asserts the view shows exactly the server's log from seq 1: no gap, no duplicate, same order. */
export async function assertViewIsLog(page, id) {
  const log = await serverLog(page, id);
  const view = await shown(page);
  const expected = log.map((e) => ({ seq: e.seq, body: e.type === "message" ? e.body : null }));
  const a = JSON.stringify(view);
  const b = JSON.stringify(expected);
  if (a !== b) throw new Error(`${page.person}'s view differs from the server's log:\n view: ${a.slice(0, 600)}\n log:  ${b.slice(0, 600)}`);
  return log;
}

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

/**
 * A TCP relay between a browser and the server that can go silent: with
 * `drop()` it forwards nothing either way and closes nothing, as a pulled
 * cable or a dead Wi-Fi does, so neither end learns of it but by timing out.
 */
export class Relay {
  static async start(target) {
    const relay = new Relay(target);
    // The port the server allows as an origin (one relay per server at a time).
    await new Promise((resolve) => relay.listener.listen(target.relayPort ?? 0, "127.0.0.1", resolve));
    relay.base = `http://127.0.0.1:${relay.listener.address().port}`;
    return relay;
  }

  constructor(target) {
    this.target = target;
    this.silent = false;
    this.sockets = new Set();
    this.listener = createServer((client) => {
      const upstream = connect(target.port, "127.0.0.1");
      for (const [from, to] of [[client, upstream], [upstream, client]]) {
        this.sockets.add(from);
        from.on("data", (data) => { if (!this.silent) to.write(data); });
        from.on("end", () => { if (!this.silent) to.end(); });
        from.on("error", () => to.destroy());
        from.on("close", () => this.sockets.delete(from));
      }
    });
  }

  drop() {
    this.silent = true;
  }

  async stop() {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.listener.close(resolve));
  }
}
