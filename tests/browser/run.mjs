// End-to-end tests of the web client: the real `parley` binary, Debian's
// Chromium headless, several people in separate browser contexts acting
// through the UI. Screenshots of the main screens go to $SCREENSHOTS (default
// target/screenshots; `SCREENSHOTS=docs/screenshots` refreshes the README's).
// Usage: node run.mjs <path to parley binary>
// `ONLY=outage,places` runs only those suites (each registers its own people;
// `admin` starts servers of its own, invite-only and closed; `moderation` one
// whose first account is its admin).

import { mkdirSync } from "node:fs";
import { accessibility } from "./a11y.mjs";
import { community } from "./admin.mjs";
import { firstDay } from "./basics.mjs";
import { attention } from "./attention.mjs";
import { conversations } from "./conversations.mjs";
import { launch, person, register, Relay, Server } from "./lib.mjs";
import { moderation } from "./moderation.mjs";
import { offlineSpell, openedOffline, silentDrop } from "./outage.mjs";
import { places } from "./places.mjs";
import { polish } from "./polish.mjs";

const binary = process.argv[2];
const server = await Server.start(binary);
const browser = await launch();
const problems = [];
const shots = process.env.SCREENSHOTS ?? "target/screenshots";
mkdirSync(shots, { recursive: true });
const only = process.env.ONLY?.split(",");
const wanted = (suite) => !only || only.includes(suite);
let failed = false;
const pages = [];
const relays = [];

async function step(name, body) {
  const started = Date.now();
  try {
    await body();
    if (problems.length) throw new Error(problems.join("; "));
    console.log(`browser: ${name}: ok (${Date.now() - started} ms)`);
  } catch (error) {
    console.error(`browser: ${name}: FAILED: ${error.message}`);
    error.step = name;
    if (process.env.BROWSER_DEBUG) for (const page of pages) console.error(page.person, "sent", JSON.stringify(page.sent.slice(-20)), "received", JSON.stringify(page.received.slice(-20)));
    throw error;
  }
}

async function screenshots(page, name, { phone = false } = {}) {
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForTimeout(50);
    await page.screenshot({ path: `${shots}/${name}-${phone ? "phone" : "desktop"}-${scheme}.png` });
  }
  await page.emulateMedia({ colorScheme: "light" });
}

/** A new person in a browser of their own, signed up through the form. */
async function newcomer(name, options = {}) {
  const page = await person(browser, server, name, problems, options);
  pages.push(page);
  await register(page, name);
  return page;
}

const t = { step, binary, server, browser, shots, screenshots, newcomer, problems };

try {
  if (wanted("basics")) {
    const alice = await person(browser, server, "alice", problems);
    const bob = await person(browser, server, "bob", problems);
    pages.push(alice, bob);
    await firstDay({ ...t, alice, bob });
    // Once the server has an account: a fresh one opens on the first account's sign-up.
    const stranger = await person(browser, server, "stranger", problems);
    await stranger.getByRole("heading", { name: "Sign in" }).waitFor();
    await screenshots(stranger, "sign-in");
    await stranger.context().close();
  }
  if (wanted("outage")) {
    // The two spells overlap: each waits out a timeout of its own.
    const [dana, erin] = [await newcomer("dana"), await newcomer("erin")];
    const relay = await Relay.start(server);
    relays.push(relay);
    const carol = await newcomer("carol", { base: relay.base });
    const spells = await Promise.allSettled([offlineSpell({ ...t, alice: dana, bob: erin }), silentDrop({ ...t, bob: erin, carol, relay })]);
    const failure = spells.find((s) => s.status === "rejected");
    if (failure) throw failure.reason;
    await openedOffline(t);
  }
  if (wanted("places")) await places(t);
  if (wanted("polish")) await polish(t);
  if (wanted("conversations")) await conversations(t);
  if (wanted("attention")) await attention(t);
  if (wanted("admin")) await community(t);
  if (wanted("moderation")) await moderation(t);
  if (wanted("a11y")) await accessibility(t);
} catch (error) {
  failed = true;
  // A step says its own failure; anything else (setting up people) is said here.
  if (!error?.step) console.error(`browser: FAILED outside a step: ${error?.stack ?? error}`, problems.join("; "));
} finally {
  await browser.close();
  for (const relay of relays) await relay.stop();
  await server.stop();
}
if (!failed) console.log("browser: all passed");
process.exit(failed ? 1 : 0);
