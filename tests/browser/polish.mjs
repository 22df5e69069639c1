// The rough edges a person notices within the hour: spacing, dialog focus,
// finding people, names, the composer's limit, the phone's header, sign-up
// from an invite, the favicon, contrast, the quick switcher, favourites.

import { check, fetchJson, person, say, sees, sleep } from "./lib.mjs";

const sidebar = (page) => page.getByRole("navigation", { name: "Conversations" });
const heading = (page, name) => page.getByRole("heading", { name, level: 1 });

export async function polish({ step, newcomer, server, browser, problems, screenshots }) {
  const hana = await newcomer("hana");
  const ivan = await newcomer("ivan");
  await fetchJson(ivan, "PATCH", "/me", { display_name: "Ivan Petrovich Sidorov" });
  let general;

  await step("a new channel's dialog takes typing at once, and Enter creates it; its creator is told so", async () => {
    await hana.getByRole("button", { name: "New channel" }).click();
    const focused = await hana.evaluate(() => document.activeElement?.id);
    check(focused === "channel-name", `the name field has focus (${focused})`);
    await hana.keyboard.type("general");
    await hana.keyboard.press("Enter");
    await heading(hana, "general").waitFor();
    await hana.locator(".log .note").filter({ hasText: "hana created this channel." }).waitFor();
    general = new URL(hana.url()).pathname.split("/")[2];
    await fetchJson(ivan, "POST", `/channels/${general}/join`);
  });

  await step("a second channel of the same name is refused with a clear reason", async () => {
    await hana.getByRole("button", { name: "New channel" }).click();
    await hana.getByLabel("Name").fill("General");
    await hana.getByRole("button", { name: "Create channel" }).click();
    await hana.getByRole("dialog").getByRole("alert").filter({ hasText: /already/ }).waitFor();
    await hana.keyboard.press("Escape");
  });

  await step("consecutive one-line messages are single-spaced, and my stored ones carry no mark", async () => {
    for (const text of ["one", "two", "three"]) await say(hana, text);
    await hana.locator(".log .msg.grouped").filter({ hasText: "three" }).waitFor();
    await hana.locator(".log .msg.pending").first().waitFor({ state: "detached" });
    const height = await hana.locator(".log .msg.grouped").filter({ hasText: "two" }).evaluate((n) => n.getBoundingClientRect().height);
    const line = await hana.locator(".log .msg.grouped .body").first().evaluate((n) => parseFloat(getComputedStyle(n).lineHeight));
    check(height < line * 1.6, `a grouped one-line message is ${height}px for a ${line}px line`);
    check(await hana.locator(".log .msg.mine[data-seq] .state").count() === 0, "no state mark on stored messages");
  });

  await step("people are found by any word of their display name or username", async () => {
    await hana.getByRole("button", { name: "New message" }).click();
    await hana.getByLabel("Search people").fill("sidor");
    await hana.getByRole("button", { name: "Add ivan" }).waitFor();
    await hana.getByLabel("Search people").fill("petro");
    await hana.getByRole("button", { name: "Add ivan" }).waitFor();
    await hana.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
    await hana.getByRole("dialog").waitFor({ state: "detached" });
  });

  await step("a message over the limit says so on Enter and keeps every character, pasted ones too", async () => {
    const long = "x".repeat(6000);
    const box = hana.getByRole("textbox", { name: "Message", exact: true });
    await box.focus();
    await box.fill(long); // as a paste: nothing is cut
    check((await box.inputValue()).length === 6000, `6,000 characters kept (${(await box.inputValue()).length})`);
    await box.press("Enter");
    await hana.locator(".compose-error").filter({ hasText: "limit is 4,000" }).waitFor();
    check((await box.inputValue()).length === 6000, "the text stays for shortening");
    await box.fill("");
  });

  await step("opening Members keeps the newest message in view", async () => {
    for (let i = 1; i <= 40; i++) await fetchJson(ivan, "POST", `/channels/${general}/messages`, { body: `filler ${i} `.repeat(12), client_msg_id: `f${i}` });
    await sees(hana, "filler 40");
    await hana.getByRole("button", { name: /Members/ }).click();
    await hana.locator(".members .member").first().waitFor();
    await sleep(200);
    const visible = await hana.evaluate(() => {
      const log = document.querySelector(".log").getBoundingClientRect();
      const last = [...document.querySelectorAll(".log [data-seq]")].at(-1).getBoundingClientRect();
      return last.bottom <= log.bottom + 2;
    });
    check(visible, "the newest message is still on screen");
    await hana.getByRole("button", { name: /Members/ }).click();
  });

  await step("the quick switcher finds a channel or a person by a few letters", async () => {
    await fetchJson(hana, "POST", "/channels", { name: "design-reviews", kind: "public" });
    await hana.keyboard.press("Control+k");
    const input = hana.getByRole("combobox", { name: "Conversation, person or words to search for" });
    await input.waitFor();
    check(await hana.evaluate(() => document.activeElement?.getAttribute("role")) === "combobox", "typing goes to the switcher");
    await hana.keyboard.type("dsgn");
    await hana.getByRole("option", { name: /design-reviews/ }).waitFor();
    await screenshots(hana, "switcher");
    await hana.keyboard.press("Enter");
    await heading(hana, "design-reviews").waitFor();
    await hana.keyboard.press("Control+k");
    await hana.keyboard.type("sidorov");
    await hana.getByRole("option", { name: /Ivan Petrovich Sidorov/ }).waitFor();
    await hana.keyboard.press("ArrowDown");
    await hana.keyboard.press("ArrowUp");
    await hana.keyboard.press("Enter");
    await heading(hana, "Ivan Petrovich Sidorov").waitFor();
  });

  await step("a favourite goes to the top; channels sort by name or by activity", async () => {
    await sidebar(hana).getByRole("button", { name: /general/ }).click();
    await hana.getByRole("button", { name: "Favourite" }).click();
    await sidebar(hana).getByRole("list", { name: "Favourites" }).getByRole("button", { name: /general/ }).waitFor();
    const channels = sidebar(hana).getByRole("list", { name: "Channels" }).locator(".channel-link .name");
    const names = async () => (await channels.allTextContents()).map((t) => t.trim());
    await sidebar(hana).getByRole("button", { name: /sorted by recent activity/ }).click();
    await sidebar(hana).getByRole("button", { name: /sorted by name/ }).waitFor();
    const byName = await names();
    check(JSON.stringify(byName) === JSON.stringify([...byName].sort()), `by name: ${byName}`);
    await hana.getByRole("button", { name: "Favourite" }).click();
    await sidebar(hana).getByRole("list", { name: "Favourites" }).waitFor({ state: "hidden" });
    await sidebar(hana).getByRole("button", { name: /sorted by name/ }).click();
    await fetchJson(hana, "POST", "/channels", { name: "zebra", kind: "public" });
    await sidebar(hana).getByRole("button", { name: /zebra/ }).waitFor();
    check((await names())[0] === "zebra", `a channel just made leads by activity: ${await names()}`);
    const design = (await fetchJson(hana, "GET", "/channels")).channels.find((c) => c.name === "design-reviews");
    await fetchJson(ivan, "POST", `/channels/${design.id}/join`);
    await fetchJson(ivan, "POST", `/channels/${design.id}/messages`, { body: "fresh activity", client_msg_id: "act-1" });
    for (let i = 0; i < 50 && (await names())[0] !== "design-reviews"; i++) await sleep(100);
    check((await names())[0] === "design-reviews", `a channel with a new message leads: ${await names()}`);

  });

  await step("on a phone the channel's name is not squeezed by its tools", async () => {
    await hana.setViewportSize({ width: 390, height: 844 });
    const title = hana.locator(".channel-head .title");
    const cut = await title.evaluate((n) => n.scrollWidth > n.clientWidth);
    check(!cut, `"${await title.textContent()}" fits`);
    await hana.setViewportSize({ width: 1280, height: 800 });
  });

  await step("fields have borders of 3:1 contrast, light and dark; the app has an icon", async () => {
    for (const scheme of ["light", "dark"]) {
      await hana.emulateMedia({ colorScheme: scheme });
      const ratio = await hana.getByRole("textbox", { name: "Message", exact: true }).evaluate((n) => {
        const rgb = (c) => c.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number);
        const lum = ([r, g, b]) => [r, g, b].map((v) => v / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
          .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
        const style = getComputedStyle(n);
        const [a, b] = [lum(rgb(style.borderTopColor)), lum(rgb(style.backgroundColor))];
        return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      });
      check(ratio >= 3, `${scheme}: the message field's border contrast is ${ratio.toFixed(2)}`);
    }
    await hana.emulateMedia({ colorScheme: "light" });
    const href = await hana.locator("link[rel=icon]").getAttribute("href");
    const response = await hana.request.get(new URL(href, hana.url()).href);
    check(response.ok() && response.headers()["content-type"].startsWith("image/svg+xml"), "the favicon is served");
  });

  await step("the welcome screen knows I am in conversations", async () => {
    await hana.evaluate(() => { for (const key of Object.keys(localStorage)) if (key.startsWith("parley.current.")) localStorage.removeItem(key); });
    await hana.goto(hana.base);
    await hana.getByRole("heading", { name: "Welcome to Parley" }).waitFor();
    await hana.getByText("Pick a conversation, or start a new one.").waitFor();
  });

  await step("signing up from an invite link joins at once; a refusal reads as a sentence", async () => {
    await sidebar(hana).getByRole("button", { name: /general/ }).click();
    const { invite } = await fetchJson(hana, "POST", `/channels/${general}/invites`, {});
    const jack = await person(browser, server, "jack", problems);
    await jack.goto(`${jack.base}/invite/${invite.code}`);
    await jack.getByText("You are invited to").waitFor();
    await jack.getByLabel("Username").fill("hana");
    await jack.getByLabel("Password").fill("correct horse battery");
    await jack.getByRole("button", { name: "Create account" }).click();
    await jack.getByRole("alert").filter({ hasText: "The username “hana” is taken." }).waitFor();
    await jack.getByLabel("Username").fill("jack");
    await jack.getByRole("button", { name: "Create account" }).click();
    await heading(jack, "general").waitFor();
    check(await jack.getByRole("dialog").count() === 0, "no second Join to click");
    await jack.context().close();
  });
}
