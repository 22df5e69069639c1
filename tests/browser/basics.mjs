// The first day of two people: sign-up, a private channel and its invite
// link, messages both ways, an XSS corpus, typing and presence, a failed
// message retried, a DM, history paging, a server killed mid-conversation,
// sign-out and sign-in.

import {
  assertViewIsLog, channelId, check, fetchJson, register, say, sees, shown, sleep,
} from "./lib.mjs";

export async function firstDay({ step, server, alice, bob, shots, screenshots }) {
  await step("both register through the form", async () => {
    await register(alice, "alice");
    await register(bob, "bob");
  });

  let invite;
  await step("alice creates a private channel and an invite link", async () => {
    await alice.getByRole("button", { name: "New channel" }).click();
    await alice.getByLabel("Name").fill("secret");
    await alice.getByLabel("Topic").fill("plans nobody else may read");
    await alice.getByText("Private", { exact: true }).click();
    await alice.getByRole("button", { name: "Create channel" }).click();
    await alice.getByRole("heading", { name: "secret", level: 1 }).waitFor();
    await alice.getByRole("button", { name: "Invite" }).click();
    await alice.getByRole("button", { name: "Create link" }).click();
    const link = alice.getByLabel("Invite link");
    await link.waitFor();
    invite = await link.inputValue();
    check(/\/invite\/[A-Za-z0-9_-]+$/.test(invite), `not an invite link: ${invite}`);
    await alice.screenshot({ path: `${shots}/invite-desktop-light.png` });
    await alice.getByRole("button", { name: "Close" }).click();
  });

  await step("bob opens the link and joins", async () => {
    await bob.goto(invite);
    await bob.getByRole("dialog").getByRole("heading", { name: /secret/ }).waitFor();
    await bob.getByRole("button", { name: "Join" }).click();
    await bob.getByRole("heading", { name: "secret", level: 1 }).waitFor();
    check(/^\/c\/[0-9a-f-]+$/.test(new URL(bob.url()).pathname), `the address is the channel's, not the invite's: ${bob.url()}`);
  });

  await step("messages both ways, each seen live by the other", async () => {
    await say(alice, "hello bob");
    await sees(bob, "hello bob");
    await say(bob, "hi alice\nsecond line");
    await sees(alice, "second line");
    await say(alice, "see https://example.test/a?b=1 for the plan");
    await sees(bob, "for the plan");
    check(await bob.locator('.log a[href="https://example.test/a?b=1"]').count() === 1, "a web address became a link");
    // My own message ends stored: in the log, with its seq, no longer pending.
    await alice.locator(".log .msg.mine[data-seq]").filter({ hasText: "hello bob" }).waitFor();
  });

  await step("an XSS corpus is shown as text and runs nothing", async () => {
    const corpus = [
      `<script>alert(1)</script>`,
      `<img src=x onerror=alert(2)>`,
      `<svg onload=alert(3)><circle r=1 /></svg>`,
      `<a href="javascript:alert(4)">click</a>`,
      `<iframe src="javascript:alert(5)"></iframe>`,
      `"><img src=x onerror=alert(6)>`,
      `javascript:alert(7)`,
      `<style>*{display:none}</style>`,
    ].join(" ");
    await say(alice, corpus);
    await sees(bob, `<script>alert(1)</script>`);
    const text = await bob.locator(".log .msg .body").filter({ hasText: "<script>" }).textContent();
    check(text === corpus, `the body was not shown verbatim: ${text}`);
    for (const page of [alice, bob]) {
      // Message bodies hold text, and links made from http(s) addresses: nothing else.
      const markup = await page.locator(".log .body *:not(a[href^='http'])").count();
      check(markup === 0, `${page.person}: markup from a message reached the DOM`);
      check(await page.locator("script:not([src]), iframe, .log .body a[href^='javascript']").count() === 0, `${page.person}: a script or frame appeared`);
    }
    await sleep(300); // an onerror or onload would have fired by now
  });

  await step("typing and presence cross over", async () => {
    await alice.getByRole("textbox", { name: "Message", exact: true }).pressSequentially("thinking…", { delay: 100 });
    await bob.getByText("alice is typing…").waitFor();
    await alice.getByRole("textbox", { name: "Message", exact: true }).fill("");
    await bob.getByRole("button", { name: /Members/ }).click();
    const row = bob.locator(".members .member").filter({ hasText: "alice" });
    await row.locator(".dot.online").waitFor();
    check(await bob.locator(".members .member").count() === 2, "two members listed");
  });

  await step("a failed message shows Retry, which resends the same client_msg_id", async () => {
    await say(bob, "bell \u0007 rings"); // control characters are refused by the server
    const failedMsg = bob.locator('.log .msg[data-state="failed"]');
    await failedMsg.waitFor();
    const id = await failedMsg.getAttribute("data-client-msg-id");
    await failedMsg.getByRole("button", { name: "Retry" }).click();
    await bob.waitForFunction((id) => document.querySelector(`[data-client-msg-id="${id}"]`)?.dataset.state === "failed", id);
    const sends = bob.sent.filter((f) => f.type === "send" && f.client_msg_id === id);
    check(sends.length === 2, `the retry went out with the same client_msg_id (${sends.length} sends)`);
    await failedMsg.getByRole("button", { name: "Discard" }).click();
    await failedMsg.waitFor({ state: "detached" });
  });

  await step("a DM, started by searching for a user", async () => {
    await bob.getByRole("button", { name: "New message" }).click();
    await bob.getByLabel("Search people").fill("ali");
    await bob.getByRole("button", { name: "Add alice" }).click();
    await bob.getByRole("button", { name: "Start conversation" }).click();
    await bob.getByRole("heading", { name: "alice", level: 1 }).waitFor();
    await say(bob, "psst, just us");
    const dm = alice.getByRole("navigation", { name: "Conversations" }).getByRole("button", { name: /bob/ });
    await dm.getByText("1", { exact: true }).waitFor(); // the unread badge
    await dm.click();
    await sees(alice, "psst, just us");
    await say(alice, "just us");
    await sees(bob, "just us");
  });

  await step("history pages in on scroll up after 200 messages", async () => {
    const { channel } = await fetchJson(alice, "POST", "/channels", { name: "history", kind: "public" });
    for (let i = 1; i <= 200; i++) {
      await fetchJson(alice, "POST", `/channels/${channel.id}/messages`, { body: `history ${i}`, client_msg_id: `h${i}` });
    }
    await bob.getByRole("button", { name: "Browse" }).click();
    await bob.getByRole("button", { name: "Join history" }).click();
    await sees(bob, "history 200");
    check((await shown(bob)).length < 150, "the whole history was loaded at once");
    for (let i = 0; i < 40 && !(await bob.locator(".log .beginning").count()); i++) {
      await bob.locator(".log").evaluate((log) => { log.scrollTop = 0; });
      await sleep(100);
    }
    const log = await assertViewIsLog(bob, channel.id);
    check(log.length === 202, `201 + bob's join: ${log.length}`);
  });

  await step("screenshots of the main screens", async () => {
    await alice.getByRole("button", { name: /secret/ }).click();
    await sees(alice, "hello bob");
    await screenshots(alice, "channel");
    await alice.getByRole("button", { name: /Members/ }).click();
    await screenshots(alice, "members");
    await alice.getByRole("button", { name: /Members/ }).click();
    await alice.setViewportSize({ width: 390, height: 844 });
    await screenshots(alice, "channel", { phone: true });
    await alice.getByRole("button", { name: "Back to conversations" }).click();
    await screenshots(alice, "sidebar", { phone: true });
    await alice.getByRole("button", { name: /secret/ }).click();
    await alice.setViewportSize({ width: 1280, height: 800 });
    await bob.getByRole("button", { name: /secret/ }).click();
  });

  await step("the server is killed and restarted while alice keeps typing", async () => {
    const id = await channelId(alice, "secret");
    await say(alice, "before the crash");
    await sees(bob, "before the crash");
    await server.kill("SIGKILL");
    await alice.locator(".banner").filter({ hasText: "Reconnecting" }).waitFor();
    for (let i = 1; i <= 5; i++) {
      await say(alice, `while down ${i}`);
      await sleep(150);
    }
    const waiting = await alice.locator('.log .msg.pending[data-state="sending"]').count();
    check(waiting === 5, `five messages wait for the connection (${waiting})`);
    await server.run();
    for (let i = 1; i <= 3; i++) await say(alice, `after restart ${i}`);
    await say(bob, "bob is back");
    for (const page of [alice, bob]) {
      await sees(page, "after restart 3", 30_000);
      await sees(page, "bob is back", 30_000);
      await page.locator(".log .msg.pending").first().waitFor({ state: "detached", timeout: 30_000 });
      await page.locator(".banner").waitFor({ state: "hidden" });
    }
    const log = await assertViewIsLog(alice, id);
    await assertViewIsLog(bob, id);
    const order = log.filter((e) => e.type === "message" && /^(while down|after restart)/.test(e.body)).map((e) => e.body);
    check(JSON.stringify(order) === JSON.stringify([1, 2, 3, 4, 5].map((i) => `while down ${i}`).concat([1, 2, 3].map((i) => `after restart ${i}`))),
      `alice's messages are stored once each, in the order typed: ${order}`);
    for (let i = 1; i <= 5; i++) {
      const ids = new Set(alice.sent.filter((f) => f.type === "send" && f.body === `while down ${i}`).map((f) => f.client_msg_id));
      const stored = log.find((e) => e.body === `while down ${i}`).client_msg_id;
      check(ids.size === 1 && ids.has(stored), `"while down ${i}" kept its client_msg_id`);
    }
  });

  await step("sign out; a wrong password is refused clearly; sign in again", async () => {
    await bob.getByRole("button", { name: "Sign out" }).click();
    await bob.getByRole("button", { name: "Sign in" }).waitFor();
    await bob.getByLabel("Username").fill("bob");
    await bob.getByLabel("Password").fill("not the password");
    await bob.getByRole("button", { name: "Sign in" }).click();
    await bob.getByRole("alert").filter({ hasText: "Wrong username or password." }).waitFor();
    await bob.getByRole("button", { name: "Create an account" }).click();
    await bob.getByLabel("Username").fill("alice");
    await bob.getByLabel("Password").fill("correct horse battery");
    await bob.getByRole("button", { name: "Create account" }).click();
    await bob.getByRole("alert").filter({ hasText: /taken/ }).waitFor();
    await bob.getByRole("button", { name: "Sign in" }).click();
    await bob.getByLabel("Username").fill("bob");
    await bob.getByLabel("Password").fill("correct horse battery");
    await bob.getByRole("button", { name: "Sign in" }).click();
    await bob.getByRole("button", { name: /secret/ }).waitFor();
  });
}
