// Running a community, on servers of its own: an invite-only server's first
// account is its admin, who makes a join link in the Admin screen that lets
// the next person in (and a channel's invite lets a third in, into the
// channel); a deactivated person is thrown out at once and cannot sign in;
// a device signed out from the account dialog, or a new password, ends the
// other session; a reset link made by the admin sets a new password; the
// audit log names who did what; a closed server says so. Every new screen
// passes axe, desktop and phone.

import { audit } from "./a11y.mjs";
import { check, fetchJson, PASSWORD, person, Server } from "./lib.mjs";

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const SIGNED_OUT = /You have been signed out of this browser/;
const NEW_PASSWORD = "pavel's new secret";
const RESET_PASSWORD = "a password from the link";

const signedIn = (page) => page.getByRole("button", { name: "Sign out", exact: true }).waitFor();

async function signInAs(page, name, password) {
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

async function openAdmin(page, tab) {
  await page.getByRole("button", { name: "Admin", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: "Admin" });
  await dialog.getByRole("tab", { name: tab }).click();
  return dialog;
}

export async function community({ step, binary, browser, problems, screenshots }) {
  const server = await Server.start(binary, { registration: "invite" });
  const contexts = [];
  const open = async (name, options) => {
    const page = await person(browser, server, name, problems, options);
    contexts.push(page.context());
    return page;
  };
  try {
    await steps({ step, binary, browser, problems, screenshots, server, open });
  } finally {
    for (const context of contexts) await context.close().catch(() => {});
    await server.stop();
  }
}

async function steps({ step, binary, browser, problems, screenshots, server, open }) {
  let olga;
  let pavel;
  let link;

  await step("on a fresh invite-only server, the first person is told their account becomes the admin", async () => {
    olga = await open("olga");
    await olga.getByText("this account becomes the server's admin").waitFor();
    await audit(olga, "first-account sign-up");
    await olga.getByLabel("Username").fill("olga");
    await olga.getByLabel("Password").fill(PASSWORD);
    await olga.getByRole("button", { name: "Create account" }).click();
    await signedIn(olga);
    const { user } = await fetchJson(olga, "GET", "/me");
    check(user.role === "admin", `the first account is the admin (${user.role})`);
  });

  await step("without a link, sign-up says it needs an invite and still offers sign-in", async () => {
    pavel = await open("pavel");
    await pavel.getByRole("heading", { name: "Sign in" }).waitFor();
    await pavel.getByRole("button", { name: "Create an account" }).click();
    await pavel.getByRole("heading", { name: "Sign-up needs an invite" }).waitFor();
    await pavel.getByText("Sign-up on this server needs an invite link").waitFor();
    check(await pavel.getByLabel("Username").count() === 0, "no form that the server would refuse");
    await audit(pavel, "invite-only sign-up");
    await screenshots(pavel, "sign-up-invite");
    await pavel.setViewportSize(PHONE);
    await audit(pavel, "invite-only sign-up on a phone");
    await pavel.setViewportSize(DESKTOP);
    await pavel.getByRole("button", { name: "Sign in" }).click();
    await pavel.getByRole("heading", { name: "Sign in" }).waitFor();
  });

  await step("the admin makes a join link in the Admin screen, its tabs moved by the arrow keys", async () => {
    const admin = await openAdmin(olga, "Join links");
    await audit(olga, "admin: join links");
    await admin.getByLabel("Can be used").selectOption({ label: "10 uses" });
    await admin.getByRole("button", { name: "Create join link" }).click();
    link = await admin.getByLabel(/New join link/).inputValue();
    check(new RegExp(`^${server.base}/invite/[A-Za-z0-9_-]+$`).test(link), `a join link: ${link}`);
    await admin.getByRole("list", { name: "Join links" }).getByText("0 of 10 uses").waitFor();
    await admin.getByRole("tab", { name: "Join links" }).focus();
    await olga.keyboard.press("ArrowRight");
    await admin.getByRole("tab", { name: "Audit log", selected: true }).waitFor();
    check(await olga.evaluate(() => document.activeElement?.textContent) === "Audit log", "the focus moved with the selection");
    await admin.getByText("olga made a join link").waitFor();
    await olga.keyboard.press("Home");
    await admin.getByRole("tab", { name: "People", selected: true }).waitFor();
    await olga.keyboard.press("Escape");
    await admin.waitFor({ state: "detached" });
  });

  await step("with the link, the second person sees where it leads, signs up and is in", async () => {
    await pavel.goto(link);
    await pavel.getByText("You are invited to join this server").waitFor();
    await pavel.getByLabel("Username").fill("pavel");
    await pavel.getByLabel("Password").fill(PASSWORD);
    await pavel.getByRole("button", { name: "Create account" }).click();
    await signedIn(pavel);
    check(new URL(pavel.url()).pathname === "/", `the link's address is spent: ${pavel.url()}`);
    const { user } = await fetchJson(pavel, "GET", "/me");
    check(user.role === "member", `a member (${user.role})`);
    check(await pavel.getByRole("button", { name: "Admin", exact: true }).count() === 0, "no Admin screen for a member");
    const admin = await openAdmin(olga, "Join links");
    await admin.getByRole("list", { name: "Join links" }).getByText("1 of 10 uses").waitFor();
    await olga.keyboard.press("Escape");
    // Signed in, a join link has nothing to offer: it says so.
    await olga.goto(link);
    await olga.getByText("This link is for joining this server, and you are already in.").waitFor();
    await olga.getByRole("button", { name: "OK" }).click();
  });

  await step("a channel's invite lets someone sign up on an invite-only server, into the channel", async () => {
    const { channel } = await fetchJson(olga, "POST", "/channels", { name: "lobby", kind: "private" });
    const { invite } = await fetchJson(olga, "POST", `/channels/${channel.id}/invites`, {});
    const quinn = await open("quinn");
    await quinn.goto(`${server.base}/invite/${invite.code}`);
    await quinn.getByText("You are invited to").filter({ hasText: "lobby" }).waitFor();
    await quinn.getByLabel("Username").fill("quinn");
    await quinn.getByLabel("Password").fill(PASSWORD);
    await quinn.getByRole("button", { name: "Create account" }).click();
    await quinn.getByRole("heading", { name: "lobby", level: 1 }).waitFor();
    check(await quinn.getByRole("dialog").count() === 0, "no second Join to click");
  });

  await step("the admin deactivates pavel: his open session goes to the sign-in screen, saying why, and he cannot sign in", async () => {
    const admin = await openAdmin(olga, "People");
    await admin.getByRole("searchbox", { name: "Search people" }).fill("pav");
    const row = admin.getByRole("listitem").filter({ hasText: "@pavel" });
    await admin.getByRole("listitem").filter({ hasText: "@olga" }).waitFor({ state: "detached" }); // the search narrowed the list
    check(await admin.getByRole("listitem").count() === 1, "only pavel is listed");
    await row.getByRole("button", { name: "Deactivate pavel" }).click();
    const sure = olga.getByRole("dialog", { name: "Deactivate pavel?" });
    await sure.waitFor();
    await audit(olga, "deactivate confirmation");
    await sure.getByRole("button", { name: "Deactivate", exact: true }).click();
    await row.getByText("Deactivated", { exact: true }).waitFor();
    await pavel.getByText(SIGNED_OUT).waitFor({ timeout: 5_000 });
    await pavel.getByRole("heading", { name: "Sign in" }).waitFor();
    await signInAs(pavel, "pavel", PASSWORD);
    await pavel.getByRole("alert").filter({ hasText: "This account has been deactivated by an admin." }).waitFor();
    await row.getByRole("button", { name: "Reactivate pavel" }).click();
    await row.getByText("Deactivated", { exact: true }).waitFor({ state: "detached" });
    await olga.keyboard.press("Escape");
  });

  let phone;
  await step("the account dialog lists both devices; signing the phone out from the desktop signs it out", async () => {
    await signInAs(pavel, "pavel", PASSWORD);
    await signedIn(pavel);
    phone = await open("pavel's phone", { viewport: PHONE, userAgent: IPHONE, isMobile: true, hasTouch: true });
    await signInAs(phone, "pavel", PASSWORD);
    await signedIn(phone);
    await pavel.getByRole("button", { name: /^Account/ }).click();
    const account = pavel.getByRole("dialog", { name: "Your account" });
    const devices = account.getByRole("list", { name: "Signed-in devices" });
    await devices.getByRole("listitem").filter({ hasText: "Safari on iPhone" }).waitFor();
    check(await devices.getByRole("listitem").count() === 2, "two devices");
    await devices.getByRole("listitem").filter({ hasText: "This device" }).waitFor();
    await audit(pavel, "account dialog");
    await screenshots(pavel, "account");
    await devices.getByRole("listitem").filter({ hasText: "Safari on iPhone" }).getByRole("button", { name: "Sign out" }).click();
    await phone.getByText(SIGNED_OUT).waitFor({ timeout: 5_000 });
    await account.getByText("Safari on iPhone is signed out.").waitFor();
    check(await devices.getByRole("listitem").count() === 1, "one device left");
  });

  await step("a new password ends the other device's session; the old one no longer works", async () => {
    await signInAs(phone, "pavel", PASSWORD);
    await signedIn(phone);
    await phone.getByRole("button", { name: /^Account/ }).click();
    await phone.getByRole("dialog", { name: "Your account" }).getByText("This device").waitFor();
    await audit(phone, "account dialog on a phone");
    await phone.keyboard.press("Escape");
    const account = pavel.getByRole("dialog", { name: "Your account" });
    await account.getByLabel("Current password").fill("not my password");
    await account.getByLabel("New password").fill(NEW_PASSWORD);
    await account.getByRole("button", { name: "Change password" }).click();
    await account.getByRole("alert").filter({ hasText: "The current password is wrong." }).waitFor();
    await account.getByLabel("Current password").fill(PASSWORD);
    await account.getByRole("button", { name: "Change password" }).click();
    await account.getByText("Password changed. Your other devices have been signed out.").waitFor();
    await phone.getByText(SIGNED_OUT).waitFor({ timeout: 5_000 });
    await signInAs(phone, "pavel", PASSWORD);
    await phone.getByRole("alert").filter({ hasText: "Wrong username or password." }).waitFor();
    await signInAs(phone, "pavel", NEW_PASSWORD);
    await signedIn(phone);
    await pavel.keyboard.press("Escape");
    await signedIn(pavel); // this device stays signed in
  });

  await step("a reset link made by the admin sets pavel's password and signs him in; his other sessions end", async () => {
    const admin = await openAdmin(olga, "People");
    await admin.getByRole("searchbox", { name: "Search people" }).fill("pavel");
    await admin.getByRole("listitem").filter({ hasText: "@pavel" }).getByRole("button", { name: "Reset link pavel" }).click();
    const made = olga.getByRole("dialog", { name: "Reset link for pavel" });
    const url = await made.getByLabel("Reset link").inputValue();
    check(new RegExp(`^${server.base}/reset/[A-Za-z0-9_-]+$`).test(url), `a reset link: ${url}`);
    await audit(olga, "reset link dialog");
    await made.getByRole("button", { name: "Done" }).click();
    await olga.keyboard.press("Escape");

    await phone.goto(url);
    await phone.getByRole("heading", { name: "Set a new password" }).waitFor();
    await audit(phone, "reset page on a phone");
    await phone.getByLabel("New password", { exact: true }).fill(RESET_PASSWORD);
    await phone.getByLabel("New password again").fill("something else entirely");
    await phone.getByRole("button", { name: "Set password and sign in" }).click();
    await phone.getByRole("alert").filter({ hasText: "The two passwords differ." }).waitFor();
    await phone.getByLabel("New password again").fill(RESET_PASSWORD);
    await phone.getByRole("button", { name: "Set password and sign in" }).click();
    await signedIn(phone);
    check(new URL(phone.url()).pathname === "/", `the link's address is gone: ${phone.url()}`);
    await pavel.getByText(SIGNED_OUT).waitFor({ timeout: 5_000 });
    // Used once: the same link now says it is spent.
    const other = await open("someone with the link");
    await other.goto(url);
    await other.getByLabel("New password", { exact: true }).fill("yet another secret");
    await other.getByLabel("New password again").fill("yet another secret");
    await other.getByRole("button", { name: "Set password and sign in" }).click();
    await other.getByRole("alert").filter({ hasText: /unknown, used or expired/ }).waitFor();
  });

  await step("the audit log names who did what, newest first, and loads older entries", async () => {
    for (let i = 0; i < 50; i++) await fetchJson(olga, "POST", "/admin/join-links", { max_uses: 1 });
    const admin = await openAdmin(olga, "Audit log");
    const log = admin.getByRole("list", { name: "Audit log, newest first" });
    await log.getByRole("listitem").first().filter({ hasText: "olga made a join link" }).waitFor();
    check(await log.getByRole("listitem").count() === 50, "a page of 50");
    await audit(olga, "admin: audit log");
    await admin.getByRole("button", { name: "Load more" }).click();
    await log.getByText("olga made a password reset link for pavel").waitFor();
    const sentences = await log.getByRole("listitem").allTextContents();
    const order = ["made a password reset link for pavel", "reactivated pavel", "deactivated pavel"]
      .map((text) => sentences.findIndex((s) => s.includes(`olga ${text}`)));
    check(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1])), `newest first: ${order} in ${sentences.slice(48).join(" | ")}`);
    await admin.getByRole("button", { name: "Load more" }).waitFor({ state: "hidden" });

    await admin.getByRole("tab", { name: "People" }).click();
    await admin.getByRole("listitem").filter({ hasText: "@quinn" }).waitFor();
    await audit(olga, "admin: people");
    await screenshots(olga, "admin");
    await olga.setViewportSize(PHONE);
    await audit(olga, "admin: people on a phone");
    await screenshots(olga, "admin", { phone: true });
    await olga.setViewportSize(DESKTOP);
    await olga.keyboard.press("Escape");
  });

  await step("a closed server says sign-up is closed, and to ask its admin", async () => {
    const closed = await Server.start(binary, { registration: "closed" });
    try {
      const rita = await person(browser, closed, "rita", problems);
      await rita.getByText("Sign-up is closed on this server: ask its admin for an account.").waitFor();
      check(await rita.getByRole("button", { name: "Create an account" }).count() === 0, "no sign-up offered");
      await audit(rita, "sign-in, sign-up closed");
      await rita.context().close();
    } finally {
      await closed.stop();
    }
  });
}
