// Moderating channels and blocking people, on a server of its own (its first
// account, root, is the server admin): the owner renames a channel, sets its
// topic and archives it in Channel settings, and a member on a phone sees
// each live (header, list, the read-only notice in the composer's place);
// unarchiving gives the composer back; a member removed is told and the
// channel leaves their list; a ban keeps them out of the directory and an
// invite until unbanned from the Bans list; the server admin deletes a
// channel by typing its name and its members' lists lose it; a block
// collapses someone's messages (one can be shown) and refuses their DM with
// the server's sentence shown. Every new dialog passes axe, desktop and phone.

import { audit } from "./a11y.mjs";
import { check, fetchJson, person, register, say, sees, Server } from "./lib.mjs";

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const ON_A_PHONE = { viewport: PHONE, userAgent: IPHONE, isMobile: true, hasTouch: true };

const sidebar = (page) => page.getByRole("navigation", { name: "Conversations" });
const heading = (page, name) => page.getByRole("heading", { name, level: 1 });
const composer = (page) => page.getByRole("textbox", { name: "Message", exact: true });
const told = (page, text) => page.locator(".toast").filter({ hasText: text }).waitFor();
const line = (page, text) => page.locator(".log .note").filter({ hasText: text }).first().waitFor();

async function openChannel(page, name) {
  if (await page.getByRole("button", { name: "Back to conversations" }).isVisible()) await page.getByRole("button", { name: "Back to conversations" }).click();
  await sidebar(page).getByRole("button", { name: new RegExp(name) }).click();
  await heading(page, name).waitFor();
}

async function members(page) {
  const panel = page.getByRole("complementary", { name: "Members" });
  if (!(await panel.isVisible())) await page.getByRole("button", { name: /^Members/ }).click();
  return panel;
}

async function closeMembers(page) {
  if (await page.getByRole("complementary", { name: "Members" }).isVisible()) await page.getByRole("button", { name: /^Members/ }).click();
}

/** Opens someone's dialog from the member list. */
async function about(page, name) {
  const panel = await members(page);
  await panel.getByRole("button", { name, exact: true }).click();
  const dialog = page.getByRole("dialog", { name });
  await dialog.waitFor();
  return dialog;
}

/** Runs axe on what a desktop person sees, at a phone's width. */
async function onAPhone(page, screen) {
  await page.setViewportSize(PHONE);
  await audit(page, `${screen} on a phone`);
  await page.setViewportSize(DESKTOP);
}

async function refused(page, method, path, body) {
  try {
    await fetchJson(page, method, path, body);
  } catch (error) {
    return error.message;
  }
  throw new Error(`${method} ${path} was not refused`);
}

export async function moderation({ step, binary, browser, problems, screenshots }) {
  const server = await Server.start(binary);
  const contexts = [];
  const open = async (name, options) => {
    const page = await person(browser, server, name, problems, options);
    contexts.push(page.context());
    await register(page, name);
    return page;
  };
  try {
    await steps({ step, screenshots, open });
  } finally {
    for (const context of contexts) await context.close().catch(() => {});
    await server.stop();
  }
}

async function steps({ step, screenshots, open }) {
  const root = await open("root"); // the first account: the server admin
  const olive = await open("olive");
  const bob = await open("bob", ON_A_PHONE);
  const carol = await open("carol");
  const { channel } = await fetchJson(olive, "POST", "/channels", { name: "plans", kind: "public" });
  for (const page of [bob, carol]) await fetchJson(page, "POST", `/channels/${channel.id}/join`);

  await step("the owner renames the channel and sets its topic in Channel settings; members see both live", async () => {
    await openChannel(olive, "plans");
    await openChannel(bob, "plans");
    await openChannel(carol, "plans");
    await say(bob, "bob was here first");
    await sees(olive, "bob was here first");
    check(await bob.getByRole("button", { name: "Channel settings" }).isHidden(), "a plain member has no settings");
    await olive.getByRole("button", { name: "Channel settings" }).click();
    const settings = olive.getByRole("dialog", { name: "Channel settings" });
    await settings.waitFor();
    check(await olive.evaluate(() => document.activeElement?.id) === "settings-name", "the name field has the focus");
    await audit(olive, "channel settings");
    await settings.getByLabel("Name").fill("roadmap");
    await settings.getByRole("button", { name: "Rename" }).click();
    await settings.getByText("Renamed to #roadmap.").waitFor();
    await settings.getByLabel("Topic").fill("What ships this quarter");
    await settings.getByRole("button", { name: "Save topic" }).click();
    await settings.getByText("Topic saved.").waitFor();
    await screenshots(olive, "channel-settings");

    await heading(bob, "roadmap").waitFor();
    await bob.locator(".channel-head .topic").filter({ hasText: "What ships this quarter" }).waitFor();
    await line(bob, "olive renamed the channel to #roadmap.");
    await line(bob, "olive set the topic: What ships this quarter");
    await bob.locator(".beginning h2").filter({ hasText: "roadmap" }).waitFor();
    check((await composer(bob).getAttribute("placeholder")) === "Message #roadmap", "the composer says the new name");
    await sidebar(carol).getByRole("button", { name: /roadmap/ }).waitFor();
    check(await sidebar(carol).getByRole("button", { name: /plans/ }).count() === 0, "the old name is gone from the list");
    check((await carol.title()).includes("roadmap"), `the tab's title follows: ${await carol.title()}`);

    await onAPhone(olive, "channel settings");
    await settings.getByRole("button", { name: "Done" }).click();
    await settings.waitFor({ state: "detached" });
  });

  await step("archiving asks first; members then see a read-only notice instead of the composer, and a note in the list", async () => {
    await olive.getByRole("button", { name: "Channel settings" }).click();
    const settings = olive.getByRole("dialog", { name: "Channel settings" });
    await settings.getByRole("button", { name: "Archive channel" }).click();
    const sure = olive.getByRole("dialog", { name: "Archive #roadmap?" });
    await sure.waitFor();
    check(await olive.evaluate(() => document.activeElement?.textContent) === "Cancel", "Cancel has the focus");
    await audit(olive, "archive confirmation");
    await onAPhone(olive, "archive confirmation");
    await sure.getByRole("button", { name: "Archive", exact: true }).click();
    await settings.getByRole("button", { name: "Unarchive channel" }).waitFor();
    await olive.keyboard.press("Escape");
    await settings.waitFor({ state: "detached" });

    await bob.getByText("This channel is archived: it is read-only.").waitFor();
    await composer(bob).waitFor({ state: "hidden" });
    await line(bob, "olive archived the channel");
    check(await bob.locator(".channel-head .title .tag").textContent() === "Archived", "the header says so");
    check(await bob.getByRole("button", { name: "Unarchive" }).isHidden(), "only moderators may unarchive");
    await composer(carol).waitFor({ state: "hidden" });
    await sidebar(carol).getByRole("button", { name: /roadmap/ }).getByText("archived").waitFor();
    const answer = await refused(bob, "POST", `/channels/${channel.id}/messages`, { body: "still here?", client_msg_id: "archived-1" });
    check(answer.includes("403") && answer.includes("archived"), `a message is refused: ${answer}`);
    // The message toolbar offers only its link.
    const tools = carol.locator(".log .msg").filter({ hasText: "bob was here first" }).locator(".msg-tools button");
    check(await tools.count() === 1 && (await tools.getAttribute("aria-label")) === "Copy link", "nothing to react or edit with");
    await audit(bob, "archived channel on a phone");
    await audit(carol, "archived channel");
    await bob.evaluate(() => document.activeElement?.blur()); // the log took the composer's focus: no ring in the picture
    await screenshots(bob, "archived", { phone: true });
    await screenshots(carol, "archived");
  });

  await step("unarchiving from the notice gives every member the composer back", async () => {
    await olive.locator(".read-only").getByRole("button", { name: "Unarchive" }).click();
    await olive.getByRole("dialog", { name: "Unarchive #roadmap?" }).getByRole("button", { name: "Unarchive", exact: true }).click();
    await composer(bob).waitFor();
    await line(bob, "olive unarchived the channel.");
    await sidebar(carol).getByRole("button", { name: /roadmap/ }).getByText("archived").waitFor({ state: "detached" });
    await say(bob, "back in business");
    await sees(olive, "back in business");
  });

  await step("a member removed is told, and the channel leaves their list", async () => {
    const dialog = await about(olive, "carol");
    await audit(olive, "a member's dialog");
    await dialog.getByRole("button", { name: "Remove from #roadmap" }).click();
    const sure = olive.getByRole("dialog", { name: "Remove carol from #roadmap?" });
    await sure.getByRole("button", { name: "Remove", exact: true }).click();
    await told(carol, "You were removed from #roadmap by olive.");
    await sidebar(carol).getByRole("button", { name: /roadmap/ }).waitFor({ state: "detached" });
    await carol.getByRole("heading", { name: "Welcome to Parley" }).waitFor();
    await line(olive, "olive removed carol.");
    await line(bob, "olive removed carol.");
    await (await members(olive)).getByRole("button", { name: "carol", exact: true }).waitFor({ state: "detached" });
  });

  let code;
  await step("a ban keeps them out of the directory and an invite until unbanned from the Bans list", async () => {
    // Removed, not banned: the directory lets carol back.
    await carol.getByRole("button", { name: "Browse", exact: true }).click();
    await carol.getByRole("dialog", { name: "Browse channels" }).getByRole("button", { name: "Join roadmap" }).click();
    await heading(carol, "roadmap").waitFor();
    const dialog = await about(olive, "carol");
    await dialog.getByRole("button", { name: "Ban from #roadmap" }).click();
    const sure = olive.getByRole("dialog", { name: "Ban carol from #roadmap?" });
    await audit(olive, "ban confirmation");
    await sure.getByRole("button", { name: "Ban", exact: true }).click();
    await told(carol, "You were banned from #roadmap by olive.");
    await sidebar(carol).getByRole("button", { name: /roadmap/ }).waitFor({ state: "detached" });
    await line(bob, "olive banned carol.");
    const panel = await members(olive);
    const bans = panel.getByRole("list", { name: /^Banned/ });
    await bans.getByRole("listitem").filter({ hasText: "carol" }).waitFor();
    await audit(olive, "members with the bans list");

    await carol.getByRole("button", { name: "Browse", exact: true }).click();
    const browse = carol.getByRole("dialog", { name: "Browse channels" });
    await browse.getByRole("button", { name: "Join roadmap" }).click();
    await browse.getByRole("alert").filter({ hasText: "You are banned from this channel." }).waitFor();
    await carol.keyboard.press("Escape");
    ({ invite: { code } } = await fetchJson(olive, "POST", `/channels/${channel.id}/invites`, {}));
    await carol.goto(`${carol.base}/invite/${code}`);
    const invitation = carol.getByRole("dialog", { name: "Invitation" });
    await invitation.getByRole("button", { name: "Join" }).click();
    await invitation.getByRole("alert").filter({ hasText: "You are banned from this channel." }).waitFor();
    await carol.keyboard.press("Escape");
    check(await sidebar(carol).getByRole("button", { name: /roadmap/ }).count() === 0, "still out");

    await bans.getByRole("button", { name: "Unban carol" }).click();
    await panel.getByText("Nobody is banned.").waitFor();
    await line(olive, "olive unbanned carol.");
    await carol.goto(`${carol.base}/invite/${code}`);
    await carol.getByRole("dialog", { name: "Invitation" }).getByRole("button", { name: "Join" }).click();
    await heading(carol, "roadmap").waitFor();
    await onAPhone(olive, "members with the bans list");
    await closeMembers(olive);
  });

  await step("the server admin archives a private channel they are not in from Admin, and deletes a channel by typing its name; its members' lists lose it", async () => {
    const { channel: doomed } = await fetchJson(olive, "POST", "/channels", { name: "doomed", kind: "public" });
    const { channel: hush } = await fetchJson(olive, "POST", "/channels", { name: "hush", kind: "private" });
    for (const page of [bob, carol]) await fetchJson(page, "POST", `/channels/${doomed.id}/join`);
    await sidebar(carol).getByRole("button", { name: /doomed/ }).waitFor();
    await openChannel(carol, "doomed");
    check(await olive.getByRole("button", { name: "Channel settings" }).isVisible(), "the owner has settings");

    await root.getByRole("button", { name: "Admin", exact: true }).click();
    const admin = root.getByRole("dialog", { name: "Admin" });
    await admin.getByRole("tab", { name: "Channels" }).click();
    const list = admin.getByRole("list", { name: "Channels" });
    await list.getByRole("listitem").filter({ hasText: "doomed" }).waitFor();
    await list.getByRole("listitem").filter({ hasText: "hush" }).getByText("Private").waitFor();
    await audit(root, "admin: channels");
    await list.getByRole("button", { name: "Archive hush" }).click();
    await root.getByRole("dialog", { name: "Archive #hush?" }).getByRole("button", { name: "Archive" }).click();
    await admin.getByText("#hush was archived.").waitFor();
    await list.getByRole("button", { name: "Unarchive hush" }).waitFor();
    check((await fetchJson(olive, "GET", `/channels/${hush.id}`)).channel.archived === true, "archived for its owner too");
    await list.getByRole("button", { name: "Delete doomed" }).click();
    const sure = root.getByRole("dialog", { name: "Delete #doomed?" });
    await sure.waitFor();
    const typed = sure.getByLabel("Type doomed to confirm");
    await typed.fill("Doomed");
    check(await sure.getByRole("button", { name: "Delete channel" }).isDisabled(), "not its name: nothing to press");
    await audit(root, "delete a channel");
    await onAPhone(root, "delete a channel");
    await typed.fill("doomed");
    await typed.press("Enter");
    await sure.waitFor({ state: "detached" });
    await admin.getByText("#doomed was deleted.").waitFor();
    for (const page of [olive, carol]) {
      await told(page, "#doomed was deleted by root.");
      await sidebar(page).getByRole("button", { name: /doomed/ }).waitFor({ state: "detached" });
    }
    await carol.getByRole("heading", { name: "Welcome to Parley" }).waitFor();
    await openChannel(bob, "roadmap");
    await told(bob, "#doomed was deleted by root.");
    await root.keyboard.press("Escape");
    // A server admin in a channel has Delete in its settings too.
    await fetchJson(root, "POST", `/channels/${channel.id}/join`);
    await openChannel(root, "roadmap");
    await root.getByRole("button", { name: "Channel settings" }).click();
    await root.getByRole("dialog", { name: "Channel settings" }).getByRole("button", { name: "Delete channel…" }).waitFor();
    await root.keyboard.press("Escape");
  });

  await step("a block collapses someone's messages (one can be shown), in her other tab too, and refuses their DM with the sentence shown", async () => {
    await openChannel(olive, "roadmap");
    // Her other tab, on the same channel: told of the block with no reload.
    const otherTab = await olive.context().newPage();
    await otherTab.goto(olive.url());
    await otherTab.locator(".log .msg .body").filter({ hasText: "back in business" }).waitFor();
    await olive.bringToFront(); // the tab she works in; the other one is in the background
    const dialog = await about(olive, "bob");
    await dialog.getByRole("button", { name: "Block", exact: true }).click();
    const sure = olive.getByRole("dialog", { name: "Block bob?" });
    await audit(olive, "block confirmation");
    await onAPhone(olive, "block confirmation");
    await sure.getByRole("button", { name: "Block", exact: true }).click();
    await told(olive, "You blocked bob.");
    await closeMembers(olive);
    const collapsed = olive.locator(".log .msg.collapsed");
    await collapsed.first().waitFor();
    check(await collapsed.count() === 2, `bob's two messages are collapsed (${await collapsed.count()})`);
    check(await olive.locator(".log .msg .body").filter({ hasText: "back in business" }).count() === 0, "their text is not shown");
    await otherTab.waitForFunction(() => document.querySelectorAll(".log .msg.collapsed").length === 2);
    await say(bob, "one more from bob");
    await olive.waitForFunction(() => document.querySelectorAll(".log .msg.collapsed").length === 3);
    await openChannel(carol, "roadmap");
    await sees(carol, "one more from bob"); // others see it as ever
    await collapsed.last().getByRole("button", { name: "Show message from someone you blocked" }).click();
    await sees(olive, "one more from bob");
    check(await olive.evaluate(() => document.activeElement?.textContent) === "Hide it", "the keyboard stays on it");
    await audit(olive, "a collapsed and a shown message");
    await olive.keyboard.press("Enter");
    await olive.locator(".log .msg .body").filter({ hasText: "one more from bob" }).waitFor({ state: "detached" });

    await olive.getByRole("button", { name: /^Account/ }).click();
    const account = olive.getByRole("dialog", { name: "Your account" });
    await account.getByRole("list", { name: "Blocked people" }).getByRole("listitem").filter({ hasText: "bob" }).waitFor();
    await audit(olive, "account dialog with blocked people");
    await onAPhone(olive, "account dialog with blocked people");
    await olive.keyboard.press("Escape");

    // bob, on his phone, writes to olive from her name in the member list.
    const her = await about(bob, "olive");
    await audit(bob, "a member's dialog on a phone");
    await her.getByRole("button", { name: "Send a message" }).click();
    await heading(bob, "olive").waitFor();
    await say(bob, "hello olive");
    const failed = bob.locator('.log .msg[data-state="failed"]');
    await failed.getByText("Not sent: You cannot send messages in this conversation.").waitFor();
    await audit(bob, "a refused DM on a phone");

    await olive.getByRole("button", { name: /^Account/ }).click();
    await account.getByRole("button", { name: "Unblock bob" }).click();
    await account.getByText("You unblocked bob.").waitFor();
    await account.getByText("You block nobody.").waitFor();
    await olive.keyboard.press("Escape");
    await sees(olive, "back in business");
    check(await olive.locator(".log .msg.collapsed").count() === 0, "nothing collapsed once unblocked");
    await otherTab.locator(".log .msg .body").filter({ hasText: "back in business" }).waitFor();
    await otherTab.close();
    await failed.getByRole("button", { name: "Retry" }).click();
    await sidebar(olive).getByRole("button", { name: /bob/ }).click();
    await sees(olive, "hello olive");
  });
}
