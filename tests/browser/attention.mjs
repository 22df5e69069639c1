// Getting a person's attention, and not when they asked for quiet: each
// channel's notification preference and mute, set from its header, and a
// browser notification for a message that arrives while the tab is hidden,
// which opens the message when clicked.

import { audit } from "./a11y.mjs";
import { check, fetchJson, say, sees } from "./lib.mjs";

const sidebar = (page) => page.getByRole("navigation", { name: "Conversations" });

async function open(page, name) {
  await sidebar(page).getByRole("button", { name, exact: false }).first().click();
  await page.getByRole("heading", { name, level: 1 }).waitFor();
}

/** Records every notification the page makes, instead of showing it. */
function recordNotifications() {
  window.__notes = [];
  const Real = window.Notification;
  class Recorded {
    static get permission() {
      return Real.permission;
    }
    static requestPermission() {
      return Real.requestPermission();
    }
    constructor(title, options = {}) {
      Object.assign(this, { title, body: options.body, tag: options.tag, onclick: null });
      window.__notes.push(this);
    }
    close() {
      this.closed = true;
    }
  }
  window.Notification = Recorded;
}

/** As if the person switched to another tab or window. */
function lookAway() {
  Object.defineProperty(document, "visibilityState", { get: () => "hidden", configurable: true });
  document.hasFocus = () => false;
}

export async function attention({ step, newcomer, browser, screenshots }) {
  const hiro = await newcomer("hiro", { permissions: ["notifications"] });
  const ivo = await newcomer("ivo");
  const { channel } = await fetchJson(hiro, "POST", "/channels", { name: "standup", kind: "public" });
  await fetchJson(ivo, "POST", `/channels/${channel.id}/join`);
  await fetchJson(hiro, "POST", "/channels", { name: "back-office", kind: "public" });
  const { channel: news } = await fetchJson(hiro, "POST", "/channels", { name: "newsroom", kind: "public" });
  await fetchJson(ivo, "POST", `/channels/${news.id}/join`);

  await step("a channel's notifications are chosen from its header, and a muted channel shows no badge, on my other device too", async () => {
    const device = await browser.newContext({ storageState: await hiro.context().storageState() });
    const laptop = await device.newPage();
    await laptop.goto(hiro.base);
    await sidebar(laptop).getByRole("button", { name: /standup/ }).waitFor();
    await open(hiro, "standup");
    await hiro.getByRole("button", { name: "Notifications" }).click();
    const dialog = hiro.getByRole("dialog", { name: "Notifications for standup" });
    check(await dialog.getByRole("radio", { name: /Mentions of me/ }).isChecked(), "a channel starts at mentions");
    await dialog.getByText("This browser shows Parley's notifications.").waitFor();
    await screenshots(hiro, "notifications");
    await audit(hiro, "the notifications dialog");
    await dialog.getByRole("checkbox", { name: /Mute/ }).check();
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "detached" });
    const listed = (await fetchJson(hiro, "GET", "/channels")).channels.find((c) => c.id === channel.id);
    check(JSON.stringify(listed.preferences) === JSON.stringify({ notify: "mentions", muted: true }), `saved: ${JSON.stringify(listed.preferences)}`);
    await open(hiro, "back-office");
    await fetchJson(ivo, "POST", `/channels/${channel.id}/messages`, { body: "quiet please", client_msg_id: "q1" });
    const item = sidebar(hiro).getByRole("button", { name: /standup/ });
    await item.getByRole("img", { name: "muted" }).waitFor();
    await sidebar(laptop).getByRole("button", { name: /standup/ }).getByRole("img", { name: "muted" }).waitFor();
    await device.close();
    // Sent after it: once this one shows unread, the muted one has arrived too.
    await fetchJson(ivo, "POST", `/channels/${news.id}/messages`, { body: "@hiro loud news", client_msg_id: "n1" });
    await sidebar(hiro).getByRole("button", { name: /newsroom/ }).locator(".badge.mention").filter({ hasText: "1" }).waitFor();
    check(await item.locator(".badge").count() === 0, "no badge on a muted channel");
    check(/^\(1\) /.test(await hiro.title()), `the title counts only the unmuted mention: ${await hiro.title()}`);
  });

  await step("a message in a hidden tab raises a browser notification, which opens it", async () => {
    const asked = ivo.getByRole("button", { name: "Notifications" });
    await open(ivo, "standup");
    await asked.click();
    await ivo.getByRole("button", { name: "Allow notifications in this browser" }).waitFor();
    await ivo.keyboard.press("Escape");

    const { channel: dm } = await fetchJson(ivo, "POST", "/dms", { user_ids: [(await fetchJson(hiro, "GET", "/me")).user.id] });
    await hiro.addInitScript(recordNotifications);
    await hiro.reload();
    await sidebar(hiro).getByRole("button", { name: /ivo/ }).waitFor();
    await hiro.evaluate(lookAway);
    await fetchJson(ivo, "POST", `/channels/${channel.id}/messages`, { body: "muted, so not shown", client_msg_id: "q2" });
    const sent = await fetchJson(ivo, "POST", `/channels/${dm.id}/messages`, { body: "are you there?", client_msg_id: "d1" });
    await hiro.waitForFunction(() => window.__notes.length > 0);
    const notes = await hiro.evaluate(() => window.__notes.map(({ title, body, tag }) => ({ title, body, tag })));
    check(notes.length === 1 && notes[0].title === "ivo" && notes[0].body === "are you there?" && notes[0].tag === dm.id,
      `one notification, for the DM: ${JSON.stringify(notes)}`);
    // At "mentions" (a channel's default), a message in it is not told; one that names me is.
    await fetchJson(ivo, "POST", `/channels/${news.id}/messages`, { body: "plain news", client_msg_id: "n2" });
    await fetchJson(ivo, "POST", `/channels/${news.id}/messages`, { body: "@hiro your turn", client_msg_id: "n3" });
    await hiro.waitForFunction(() => window.__notes.length > 1);
    const told = await hiro.evaluate(() => window.__notes.map(({ title, body }) => ({ title, body })));
    check(told.length === 2 && told[1].title === "ivo in newsroom" && told[1].body === "@hiro your turn",
      `the mention is told, the plain message not: ${JSON.stringify(told)}`);
    await sidebar(hiro).getByRole("button", { name: /newsroom/ }).locator(".badge.mention").filter({ hasText: "2" }).waitFor();
    check(/^\(\d+\) /.test(await hiro.title()), `the hidden tab's title counts mentions: ${await hiro.title()}`);
    await hiro.evaluate(() => window.__notes[0].onclick());
    await hiro.waitForURL(`**/c/${dm.id}/${sent.event.seq}`);
    await sees(hiro, "are you there?");
    await say(hiro, "here, reading it");
    await open(ivo, "hiro");
    await sees(ivo, "here, reading it");
  });

  await step("@ in the composer picks a member by keyboard; the mention is a red badge, a chip, and in Mentions", async () => {
    await open(ivo, "newsroom");
    const box = ivo.getByRole("textbox", { name: "Message", exact: true });
    await box.pressSequentially("figures for @hi");
    const options = ivo.getByRole("listbox", { name: "People to mention" });
    await options.getByRole("option", { name: /@hiro/ }).waitFor();
    await screenshots(ivo, "mention-autocomplete");
    await audit(ivo, "the mention autocomplete");
    await box.press("Enter");
    check(await box.inputValue() === "figures for @hiro ", `picked, not sent: ${await box.inputValue()}`);
    check(await options.isHidden(), "the list closed");
    await box.pressSequentially("are in");
    await box.press("Enter");
    await sees(ivo, "figures for @hiro are in");

    const badge = sidebar(hiro).getByRole("button", { name: /newsroom/ }).locator(".badge.mention");
    await badge.filter({ hasText: "3" }).waitFor();
    await hiro.getByRole("button", { name: "Mentions", exact: true }).click();
    const dialog = hiro.getByRole("dialog", { name: "Mentions" });
    const newest = dialog.getByRole("button", { name: /figures for @hiro are in/ });
    await newest.waitFor();
    await screenshots(hiro, "mentions");
    await audit(hiro, "the mentions dialog");
    await newest.click();
    await hiro.waitForURL(`**/c/${news.id}/**`);
    await hiro.locator(".msg.for-me .mention.me", { hasText: "@hiro" }).first().waitFor();
  });

  await step("Ctrl+K searches every message; a result, marked where it matches, opens its place among 2,000 messages", async () => {
    const sent = await fetchJson(ivo, "POST", `/channels/${channel.id}/messages`, { body: "The Zürich offsite is booked", client_msg_id: "z1" });
    await ivo.evaluate(async (id) => {
      for (let batch = 0; batch < 40; batch += 1) {
        await Promise.all(Array.from({ length: 50 }, (_, i) => fetch(`/api/v1/channels/${id}/messages`, {
          method: "POST", headers: { "content-type": "application/json" },
          body: JSON.stringify({ body: `filler ${batch * 50 + i}`, client_msg_id: `f${batch * 50 + i}` }),
        })));
      }
    }, channel.id);
    await ivo.keyboard.press("Control+k");
    const input = ivo.getByRole("combobox", { name: "Conversation, person or words to search for" });
    await input.fill("zurich off");
    await ivo.getByRole("option", { name: "Search messages for “zurich off”" }).click();
    const dialog = ivo.getByRole("dialog", { name: "Search messages" });
    const result = dialog.getByRole("button", { name: /The Zürich offsite is booked/ });
    await result.waitFor();
    const marks = await result.locator("mark").allTextContents();
    check(JSON.stringify(marks) === JSON.stringify(["Zürich", "offsite"]), `the matches are marked: ${JSON.stringify(marks)}`);
    await screenshots(ivo, "search");
    await audit(ivo, "the search dialog");
    await result.click();
    await ivo.waitForURL(`**/c/${channel.id}/${sent.event.seq}`);
    await ivo.locator(`.log [data-seq="${sent.event.seq}"]`).waitFor();
    await sees(ivo, "The Zürich offsite is booked");
  });
}
