// Shaping a conversation, two people in their own browsers: edit (and the
// Up arrow), react and take it back, reply in a thread, pin, delete with a
// confirm, and Markdown that renders as elements and runs nothing. Each
// change is made by one person and seen live by the other.

import { audit } from "./a11y.mjs";
import { check, fetchJson, say, sees, sleep } from "./lib.mjs";

const message = (page, text) => page.locator(".log .msg[data-seq]").filter({ hasText: text }).first();

/** Shows a message's toolbar (hover on a desktop) and presses one of its buttons. */
async function act(page, text, action) {
  const node = message(page, text);
  await node.hover();
  await node.getByRole("toolbar", { name: "Message actions" }).getByRole("button", { name: action }).click();
}

export async function conversations({ step, newcomer, screenshots }) {
  const kim = await newcomer("kimiko");
  const lee = await newcomer("leandro");
  let id;

  await step("conversations: two people in a channel", async () => {
    await kim.getByRole("button", { name: "New channel" }).click();
    await kim.keyboard.type("shaping");
    await kim.keyboard.press("Enter");
    await kim.getByRole("heading", { name: "shaping", level: 1 }).waitFor();
    id = new URL(kim.url()).pathname.split("/")[2];
    await fetchJson(lee, "POST", `/channels/${id}/join`);
    await lee.getByRole("navigation", { name: "Conversations" }).getByRole("button", { name: /shaping/ }).click();
    await lee.getByRole("heading", { name: "shaping", level: 1 }).waitFor();
  });

  await step("an edit shows in place on both sides, marked (edited); Up edits my last message", async () => {
    await say(kim, "helo wrold");
    await sees(lee, "helo wrold");
    await act(kim, "helo wrold", "Edit");
    const box = kim.getByRole("textbox", { name: "Edit message" });
    await box.fill("hello world");
    await box.press("Enter");
    await lee.locator(".log .msg .body").filter({ hasText: "hello world" }).filter({ hasText: "(edited)" }).waitFor();
    await kim.getByRole("textbox", { name: "Message", exact: true }).focus();
    await kim.keyboard.press("ArrowUp");
    await box.waitFor();
    check(await box.inputValue() === "hello world", "the Up arrow opens my last message for editing");
    await kim.keyboard.press("Escape");
    await box.waitFor({ state: "detached" });
  });

  await step("a reaction from the picker shows on both sides with who reacted, and a click on it takes it back", async () => {
    await act(lee, "hello world", "Add a reaction");
    const picker = lee.getByRole("dialog", { name: "Add a reaction" });
    await lee.getByRole("searchbox", { name: "Search emoji" }).fill("tada");
    await screenshots(lee, "emoji-picker");
    await audit(lee, "the emoji picker");
    await lee.keyboard.press("Enter");
    await picker.waitFor({ state: "detached" });
    const chip = (page) => message(page, "hello world").getByRole("button", { name: /^🎉 1/ });
    await chip(kim).waitFor();
    check(await chip(lee).getAttribute("aria-pressed") === "true", "my reaction is marked mine");
    check(await chip(kim).getAttribute("aria-pressed") === "false", "another's is not");
    check(await chip(lee).getAttribute("title") === "You reacted with 🎉", `mine says so: ${await chip(lee).getAttribute("title")}`);
    const named = async () => (await chip(kim).getAttribute("title")) === "leandro reacted with 🎉";
    check(await named(), `the other side names who: ${await chip(kim).getAttribute("title")}`);
    await kim.reload();
    await chip(kim).waitFor();
    // The reactor's name is fetched after the page: the chip is named once it comes.
    await kim.locator('.msg button.reaction[title="leandro reacted with 🎉"]').waitFor({ timeout: 5_000 }).catch(() => {});
    check(await named(), `and after a reload, from the server: ${await chip(kim).getAttribute("title")}`);
    await chip(lee).click();
    await chip(kim).waitFor({ state: "detached" });
    await act(lee, "hello world", "Add a reaction");
    await lee.getByRole("dialog", { name: "Add a reaction" }).getByText("Recent").waitFor();
    await lee.keyboard.press("Escape");
    await picker.waitFor({ state: "detached" });
  });

  await step("a reply in a thread is seen live on the other side, and opens there", async () => {
    await act(kim, "hello world", "Reply in thread");
    const thread = kim.getByRole("complementary", { name: "Thread" });
    await thread.getByRole("textbox", { name: "Reply in thread" }).fill("a reply in the thread");
    await thread.getByRole("textbox", { name: "Reply in thread" }).press("Enter");
    await thread.locator(".msg[data-seq]").filter({ hasText: "a reply in the thread" }).waitFor();
    await message(lee, "a reply in the thread").getByRole("button", { name: "Replied in a thread" }).waitFor();
    await message(lee, "hello world").getByRole("button", { name: "1 reply" }).click();
    await lee.getByRole("complementary", { name: "Thread" }).locator(".msg").filter({ hasText: "a reply in the thread" }).waitFor();
    await screenshots(lee, "thread");
    await audit(lee, "a thread");
    await lee.setViewportSize({ width: 390, height: 844 });
    await screenshots(lee, "thread", { phone: true });
    await lee.getByRole("button", { name: "Close thread" }).click();
    await lee.setViewportSize({ width: 1280, height: 800 });
    await kim.getByRole("textbox", { name: "Reply in thread" }).press("Escape");
    await kim.getByRole("complementary", { name: "Thread" }).waitFor({ state: "hidden" });
  });

  await step("the toolbar is reached from the keyboard", async () => {
    await kim.getByRole("textbox", { name: "Message", exact: true }).focus();
    await kim.keyboard.press("Shift+Tab");
    for (let i = 0; i < 12 && !(await kim.evaluate(() => document.activeElement?.closest(".msg-tools"))); i += 1) await kim.keyboard.press("Shift+Tab");
    const label = await kim.evaluate(() => document.activeElement?.getAttribute("aria-label"));
    check(label === "Copy link", `Shift+Tab from the composer reaches the last message's toolbar (${label})`);
    const shown = await kim.evaluate(() => getComputedStyle(document.activeElement.closest(".msg-tools")).opacity);
    check(shown === "1", `a focused toolbar shows (opacity ${shown})`);
  });

  await step("a pin shows on both sides", async () => {
    await act(lee, "hello world", "Pin");
    await message(kim, "hello world").locator(".about .pinned").filter({ hasText: "Pinned" }).waitFor();
    const { pins } = await fetchJson(kim, "GET", `/channels/${id}/pins`);
    check(pins.length === 1 && pins[0].body === "hello world", `the channel's pins: ${JSON.stringify(pins)}`);
  });

  await step("Markdown renders as elements, code as text, and runs nothing", async () => {
    const text = "**bold** _slanted_ `a <b>` ~~gone~~\n> quoted\n- one\n- two\n```\n<img src=x onerror=alert(9)>\n```";
    await say(kim, text);
    const body = message(lee, "quoted").locator(".body");
    await body.waitFor();
    for (const [selector, want] of [["strong", "bold"], ["em", "slanted"], ["code", "a <b>"], ["del", "gone"], ["blockquote", "quoted"], ["li:last-child", "two"], ["pre code", "<img src=x onerror=alert(9)>"]]) {
      const got = await body.locator(selector).first().textContent();
      check(got === want, `${selector}: ${got}`);
    }
    check(await lee.locator(".log .body :is(img, script, b)").count() === 0, "no element came from a message's text");
    await sleep(300); // an onerror would have fired by now
  });

  await step("a delete asks first, then leaves a tombstone on both sides", async () => {
    await say(kim, "a message to take back");
    await sees(lee, "a message to take back");
    await act(kim, "a message to take back", "Delete");
    await kim.getByRole("dialog", { name: "Delete this message?" }).getByRole("button", { name: "Delete" }).click();
    for (const page of [kim, lee]) {
      await message(page, "a message to take back").waitFor({ state: "detached" });
      await page.locator(".log .msg .body.deleted").filter({ hasText: "This message was deleted" }).waitFor();
    }
    await act(kim, "hello world", "Delete");
    await kim.getByRole("dialog", { name: "Delete this message?" }).getByRole("button", { name: "Cancel" }).click();
    await sees(lee, "hello world");
  });

  await step("a message deleted before I read it leaves no unread badge", async () => {
    await fetchJson(lee, "POST", "/channels", { name: "elsewhere", kind: "public" });
    const list = lee.getByRole("navigation", { name: "Conversations" });
    await list.getByRole("button", { name: /elsewhere/ }).click();
    await lee.getByRole("heading", { name: "elsewhere", level: 1 }).waitFor();
    await say(kim, "oops, wrong channel");
    const badge = list.getByRole("button", { name: /shaping/ }).locator(".badge");
    await badge.filter({ hasText: "1" }).waitFor();
    await act(kim, "oops, wrong channel", "Delete");
    await kim.getByRole("dialog", { name: "Delete this message?" }).getByRole("button", { name: "Delete" }).click();
    await badge.waitFor({ state: "detached" });
    await lee.reload();
    await list.getByRole("button", { name: /shaping/ }).waitFor();
    check(await badge.count() === 0, "nor after a reload, from the server's count");
  });
}
