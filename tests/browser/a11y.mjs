// Every main screen through axe-core, in light and dark, on a desktop and a
// phone: no serious or critical violation of WCAG 2.1 A and AA.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fetchJson, person, say, sees } from "./lib.mjs";

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** Runs axe on what `page` shows now, in both schemes; throws on what a person would trip over. */
export async function audit(page, screen) {
  const found = [];
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForTimeout(50);
    // Evaluated as the page's own code would not be: the CSP stays as it is.
    if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(AXE);
    const violations = await page.evaluate(async () => {
      const result = await window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"], resultTypes: ["violations"] });
      return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
    });
    for (const v of violations) found.push(`${screen}, ${scheme}: ${v}`);
  }
  await page.emulateMedia({ colorScheme: "light" });
  if (found.length) throw new Error(`accessibility:\n  ${found.join("\n  ")}`);
}

export async function accessibility({ step, newcomer, server, browser, problems }) {
  // First: on a server with no account yet, the stranger would see the first account's sign-up.
  const kim = await newcomer("kim");
  const lea = await newcomer("lea");
  await step("sign-in and sign-up pass axe, desktop and phone", async () => {
    const stranger = await person(browser, server, "stranger", problems);
    await audit(stranger, "sign-in");
    await stranger.getByRole("button", { name: "Create an account" }).click();
    await audit(stranger, "sign-up");
    await stranger.setViewportSize({ width: 390, height: 844 });
    await audit(stranger, "sign-up on a phone");
    await stranger.context().close();
  });

  await step("the conversation, its members and every dialog pass axe", async () => {
    const { channel } = await fetchJson(kim, "POST", "/channels", { name: "checked", kind: "public", topic: "every screen, audited" });
    await fetchJson(lea, "POST", `/channels/${channel.id}/join`);
    await audit(kim, "welcome");
    await kim.getByRole("navigation", { name: "Conversations" }).getByRole("button", { name: /checked/ }).click();
    await say(kim, "hello, auditors: https://example.test/page");
    await fetchJson(lea, "POST", `/channels/${channel.id}/messages`, { body: "a reply from lea", client_msg_id: "a11y-1" });
    await sees(kim, "a reply from lea");
    await audit(kim, "conversation");
    await kim.getByRole("button", { name: /Members/ }).click();
    await kim.locator(".members .member").first().waitFor();
    await audit(kim, "members");
    await kim.getByRole("button", { name: /Members/ }).click();
    const dialogs = [
      ["new channel", () => kim.getByRole("button", { name: "New channel" }).click()],
      ["browse", () => kim.getByRole("button", { name: "Browse" }).click()],
      ["invite", () => kim.getByRole("button", { name: "Invite" }).click()],
      ["new message", () => kim.getByRole("button", { name: "New message" }).click()],
      ["quick switcher", () => kim.keyboard.press("Control+k")],
      ["leave", () => kim.getByRole("button", { name: "Leave" }).click()],
      ["channel settings", () => kim.getByRole("button", { name: "Channel settings" }).click()],
      ["account", () => kim.getByRole("button", { name: /^Account/ }).click()],
    ];
    for (const [name, openIt] of dialogs) {
      await openIt();
      await kim.getByRole("dialog").waitFor();
      await audit(kim, `${name} dialog`);
      await kim.keyboard.press("Escape");
      await kim.getByRole("dialog").waitFor({ state: "detached" });
    }
  });

  await step("offline, with a message waiting and the banner up, and scrolled up with new messages, it passes axe", async () => {
    await kim.context().setOffline(true);
    await kim.locator(".banner").filter({ hasText: "offline" }).waitFor();
    await say(kim, "written offline");
    await kim.locator(".msg.pending").filter({ hasText: "Waiting for connection" }).waitFor();
    await audit(kim, "offline");
    await kim.context().setOffline(false);
    await kim.locator(".msg.pending").waitFor({ state: "detached", timeout: 20_000 });
    const id = new URL(kim.url()).pathname.split("/")[2];
    for (let i = 1; i <= 40; i++) await fetchJson(lea, "POST", `/channels/${id}/messages`, { body: `line ${i}`, client_msg_id: `a11y-l${i}` });
    await sees(kim, "line 40");
    await kim.locator(".log").evaluate((log) => { log.scrollTop = 0; });
    await fetchJson(lea, "POST", `/channels/${id}/messages`, { body: "below the fold", client_msg_id: "a11y-fold" });
    await kim.locator(".jump.down").filter({ hasText: "1 new message" }).waitFor();
    await audit(kim, "scrolled up");
  });

  await step("the phone's list and conversation pass axe", async () => {
    await kim.setViewportSize({ width: 390, height: 844 });
    await audit(kim, "conversation on a phone");
    await kim.getByRole("button", { name: "Back to conversations" }).click();
    await audit(kim, "list on a phone");
    await kim.setViewportSize({ width: 1280, height: 800 });
  });
}
