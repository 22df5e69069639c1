// Keeping a person's place: addresses for channels and messages, reload,
// Back and Forward, drafts, where unread begins, what counts as read, read
// state shared by my tabs, and a conversation opened during an outage.

import { check, fetchJson, sees, say, sleep } from "./lib.mjs";

const sidebar = (page) => page.getByRole("navigation", { name: "Conversations" });
const heading = (page, name) => page.getByRole("heading", { name, level: 1 });
const path = (page) => new URL(page.url()).pathname;

async function open(page, name) {
  await sidebar(page).getByRole("button", { name, exact: false }).first().click();
  await heading(page, name).waitFor();
}

async function post(page, id, body) {
  return (await fetchJson(page, "POST", `/channels/${id}/messages`, { body, client_msg_id: `${body}-${Math.random()}` })).event;
}

async function myChannel(page, id) {
  return (await fetchJson(page, "GET", "/channels")).channels.find((c) => c.id === id);
}

export async function places({ step, newcomer, browser, screenshots }) {
  const frank = await newcomer("frank");
  const gina = await newcomer("gina");
  const made = {};
  for (const name of ["alpha", "beta", "busy"]) {
    made[name] = (await fetchJson(frank, "POST", "/channels", { name, kind: "public" })).channel.id;
    await fetchJson(gina, "POST", `/channels/${made[name]}/join`);
  }

  await step("every channel has an address; a reload lands on it with the unsent draft", async () => {
    await open(frank, "alpha");
    check(path(frank) === `/c/${made.alpha}`, `the address names the channel: ${path(frank)}`);
    await frank.getByRole("textbox", { name: "Message", exact: true }).fill("half a thought, not sent");
    await open(frank, "beta");
    await frank.getByRole("textbox", { name: "Message", exact: true }).fill("another draft");
    await frank.reload();
    await heading(frank, "beta").waitFor();
    check(await frank.getByRole("textbox", { name: "Message", exact: true }).inputValue() === "another draft", "beta's draft survived the reload");
    await open(frank, "alpha");
    check(await frank.getByRole("textbox", { name: "Message", exact: true }).inputValue() === "half a thought, not sent", "alpha's draft too");
  });

  await step("Back and Forward move between channels; on a phone Back returns to the list", async () => {
    await frank.goBack();
    await heading(frank, "beta").waitFor();
    await frank.goForward();
    await heading(frank, "alpha").waitFor();
    await frank.setViewportSize({ width: 390, height: 844 });
    await frank.getByRole("button", { name: "Back to conversations" }).click();
    await sidebar(frank).waitFor();
    check(path(frank) === "/", `the list is at /: ${path(frank)}`);
    await open(frank, "beta");
    await frank.goBack();
    await sidebar(frank).getByRole("button", { name: /alpha/ }).waitFor();
    check(path(frank) === "/" && await heading(frank, "beta").isHidden(), "Back from a channel shows the list, in the app");
    await frank.setViewportSize({ width: 1280, height: 800 });
  });

  let old;
  await step("a link to a message opens the channel at that message", async () => {
    for (let i = 1; i <= 120; i++) {
      const event = await post(frank, made.busy, `busy ${i}`);
      if (i === 7) old = event.seq;
    }
    await frank.goto(`${frank.base}/c/${made.busy}/${old}`);
    const target = frank.locator(`.log [data-seq="${old}"]`);
    await target.filter({ hasText: "busy 7" }).waitFor();
    await frank.locator(".msg.highlight").waitFor();
    check(await target.isVisible() && await inView(frank, old), "the linked message is on screen");
  });

  await step("scrolled up, a new message shows a count and a badge, and is not marked read until seen", async () => {
    await open(gina, "busy");
    await sees(gina, "busy 120");
    await until(async () => (await myChannel(gina, made.busy)).unread_count === 0, "gina read busy");
    await gina.locator(".log").evaluate((log) => { log.scrollTop = 0; });
    await sleep(300);
    const fresh = await post(frank, made.busy, "while you were scrolled up");
    const jump = gina.locator(".jump.down");
    await jump.filter({ hasText: "1 new message" }).waitFor();
    await sidebar(gina).getByRole("button", { name: /busy/ }).locator(".badge").filter({ hasText: "1" }).waitFor();
    await sleep(800);
    const marker = (await myChannel(gina, made.busy)).last_read_seq;
    check(marker < fresh.seq, `the read marker stayed before the unseen message (${marker} < ${fresh.seq})`);
    await screenshots(gina, "scrolled-up");
    await jump.click();
    await until(async () => (await myChannel(gina, made.busy)).last_read_seq === fresh.seq, "read once seen");
    await sidebar(gina).getByRole("button", { name: /busy/ }).locator(".badge").waitFor({ state: "detached" });
  });

  await step("opening a channel shows a New messages line at the first unread, with the newest below", async () => {
    await open(gina, "alpha");
    const first = await post(frank, made.busy, "unread one");
    await post(frank, made.busy, "unread two");
    await sidebar(gina).getByRole("button", { name: /busy/ }).locator(".badge").filter({ hasText: "2" }).waitFor();
    await open(gina, "busy");
    const line = gina.locator(".log .new-line");
    await line.waitFor();
    const after = await line.evaluate((node) => node.nextElementSibling?.dataset.seq);
    check(Number(after) === first.seq, `the line sits right above the first unread (${after} vs ${first.seq})`);
    await screenshots(gina, "new-messages");
  });

  await step("reading in one tab clears the badge in my other tab within a second, and on my other device", async () => {
    await open(gina, "alpha");
    const other = await gina.context().newPage();
    await other.goto(gina.base);
    await heading(other, "alpha").waitFor(); // my last place
    // My other computer: another browser, told by the server rather than by its tabs.
    const device = await browser.newContext({ storageState: await gina.context().storageState(), viewport: { width: 1280, height: 800 } });
    const away = await device.newPage();
    await away.goto(gina.base);
    await post(frank, made.beta, "for both tabs");
    const badge = (page) => sidebar(page).getByRole("button", { name: /beta/ }).locator(".badge");
    await badge(gina).waitFor();
    await badge(other).waitFor();
    await badge(away).waitFor();
    await other.bringToFront();
    await open(other, "beta");
    const read = Date.now();
    // The hidden tab's title (in the tab strip) drops its unread mark while hidden;
    // its badge, painted when the tab is shown, is gone by then.
    await gina.waitForFunction(() => !/^(\(\d+\)|•) /.test(document.title), null, { timeout: 3_000 });
    const took = Date.now() - read;
    check(took <= 1_000, `the count left the hidden tab's title in ${took} ms`);
    await gina.bringToFront();
    await badge(gina).waitFor({ state: "detached", timeout: 1_000 });
    await badge(away).waitFor({ state: "detached" });
    console.log(`browser: a read cleared my other tab's count in ${took} ms, my other device's badge in ${Date.now() - read} ms`);
    const marker = await myChannel(away, made.beta);
    check(marker.unread_count === 0, `the server has it read: ${JSON.stringify(marker)}`);
    await other.close();
    await device.close();
  });

  await step("a link to a public channel I am not in offers to join it", async () => {
    const { channel } = await fetchJson(frank, "POST", "/channels", { name: "lobby", kind: "public" });
    await gina.goto(`${gina.base}/c/${channel.id}`);
    await gina.getByText("You are not in #lobby.").waitFor();
    await gina.getByRole("button", { name: "Join #lobby" }).click();
    await heading(gina, "lobby").waitFor();
    check(path(gina) === `/c/${channel.id}`, `at the channel's address: ${path(gina)}`);
  });

  await step("a conversation opened during an outage loads by itself when the connection is back", async () => {
    const { channel } = await fetchJson(frank, "POST", "/channels", { name: "gamma", kind: "public" });
    await post(frank, channel.id, "gamma's first words");
    await fetchJson(gina, "POST", `/channels/${channel.id}/join`);
    await sidebar(gina).getByRole("button", { name: /gamma/ }).waitFor();
    await gina.context().setOffline(true);
    await gina.locator(".banner").filter({ hasText: "offline" }).waitFor();
    await sidebar(gina).getByRole("button", { name: /gamma/ }).click();
    await gina.locator(".log-top .error").waitFor();
    check(!(await gina.locator(".log-top").textContent()).includes("Loading…"), "not loading and failed at once");
    await gina.locator(".log-top").getByRole("button", { name: "Retry" }).waitFor();
    await gina.context().setOffline(false);
    await sees(gina, "gamma's first words", 20_000);
    await gina.locator(".log-top .error").waitFor({ state: "detached" });
  });
}

async function inView(page, seq) {
  return page.evaluate((seq) => {
    const log = document.querySelector(".log").getBoundingClientRect();
    const node = document.querySelector(`.log [data-seq="${seq}"]`).getBoundingClientRect();
    return node.top >= log.top && node.bottom <= log.bottom;
  }, seq);
}

async function until(condition, what, timeout = 5_000) {
  const end = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`not within ${timeout} ms: ${what}`);
    await sleep(100);
  }
}
