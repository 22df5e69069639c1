// Outages as people meet them: the browser goes offline for longer than a
// heartbeat, a network drops without a word, the server is killed. What was
// typed is stored once, in order, and the channel keeps sending; what others
// see of a vanished person follows within a minute. The installed app opens
// with no network at all.

import { assertViewIsLog, channelId, check, fetchJson, sees, say, sleep } from "./lib.mjs";

/** Sends and receives in `name`, made by `owner` and joined by the others. */
export async function sharedChannel(owner, others, name) {
  const { channel } = await fetchJson(owner, "POST", "/channels", { name, kind: "public" });
  for (const page of others) await fetchJson(page, "POST", `/channels/${channel.id}/join`);
  for (const page of [owner, ...others]) {
    await page.getByRole("navigation", { name: "Conversations" }).getByRole("button", { name }).click();
    await page.getByRole("heading", { name, level: 1 }).waitFor();
  }
  return channel.id;
}

/** The message bodies of `id` stored by `sender`, in log order. */
async function storedBodies(page, id, pattern) {
  const { events } = await fetchJson(page, "GET", `/channels/${id}/events?limit=500`);
  return events.filter((e) => e.type === "message" && pattern.test(e.body)).map((e) => e.body);
}

export async function offlineSpell({ step, alice, bob }) {
  let id;
  await step("alice is offline for 40 s with three messages queued; all go out once, in order, and the channel keeps sending", async () => {
    id = await sharedChannel(alice, [bob], "ops");
    await say(alice, "online before");
    await sees(bob, "online before");
    await alice.context().setOffline(true);
    await alice.locator(".banner").filter({ hasText: "offline" }).waitFor({ timeout: 5_000 });
    for (let i = 1; i <= 3; i++) await say(alice, `queued ${i}`);
    await say(bob, "bob meanwhile");
    const waiting = alice.locator('.log .msg.pending[data-state="sending"]');
    check(await waiting.count() === 3, `three messages wait (${await waiting.count()})`);
    await waiting.first().filter({ hasText: "Waiting for connection" }).waitFor();
    await sleep(40_000);
    await alice.context().setOffline(false);
    await sees(alice, "bob meanwhile", 20_000);
    await alice.locator(".log .msg.pending").first().waitFor({ state: "detached", timeout: 20_000 });
    await say(alice, "after the spell");
    await sees(bob, "after the spell");
    await alice.locator(".log .msg.pending").first().waitFor({ state: "detached" });
    const order = await storedBodies(alice, id, /^(queued \d|after the spell)$/);
    check(JSON.stringify(order) === JSON.stringify(["queued 1", "queued 2", "queued 3", "after the spell"]),
      `stored once each, in the order typed: ${order}`);
    await alice.locator(".banner").waitFor({ state: "hidden" });
    await assertViewIsLog(alice, id);
    await assertViewIsLog(bob, id);
  });
  return id;
}

/** `carol` reaches the server through `relay`; her network dies without a word. */
export async function silentDrop({ step, bob, carol, relay }) {
  await step("a person whose network silently dropped shows offline to others within 60 s", async () => {
    // Carol opens the DM: a DM shows the presence of who opened it or wrote in it.
    const { channel } = await fetchJson(carol, "POST", "/dms", { user_ids: [await userId(bob)] });
    const dm = bob.getByRole("navigation", { name: "Conversations" }).getByRole("button", { name: /carol/ });
    await dm.locator(".dot.online").waitFor();
    const dropped = Date.now();
    relay.drop();
    await carol.context().setOffline(true);
    await dm.locator(".dot:not(.online)").waitFor({ timeout: 65_000 });
    const after = (Date.now() - dropped) / 1000;
    check(after <= 60, `offline after ${after} s`);
    console.log(`browser: carol shown offline ${after.toFixed(1)} s after her network dropped`);
    check(channel.kind === "direct", "a DM");
  });
}

async function userId(page) {
  return (await fetchJson(page, "GET", "/me")).user.id;
}

export { channelId };

/** The installed app: opened with no network at all, it still works as far as it can. */
export async function openedOffline({ step, newcomer }) {
  const fay = await newcomer("fay");
  const gus = await newcomer("gus");
  await step("the app is installable: a manifest with its icons, and a worker that keeps the client", async () => {
    const manifest = await fay.evaluate(async () => (await fetch(document.querySelector('link[rel="manifest"]').href)).json());
    const sizes = manifest.icons.map((icon) => icon.sizes);
    check(manifest.display === "standalone" && manifest.start_url === "/", `standalone from /: ${JSON.stringify(manifest)}`);
    check(sizes.includes("192x192") && sizes.includes("512x512"), `icons of 192 and 512: ${sizes}`);
    for (const icon of manifest.icons) {
      const type = await fay.evaluate(async (src) => (await fetch(src)).headers.get("content-type"), icon.src);
      check(type === icon.type, `${icon.src} is served as ${icon.type}: ${type}`);
    }
    await fay.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 10_000 });
  });

  await step("opened without a network, the client shows my channels and keeps what I type until the network is back", async () => {
    const id = await sharedChannel(fay, [gus], "tunnel");
    await say(fay, "before the tunnel");
    await sees(gus, "before the tunnel");
    await fay.context().setOffline(true);
    await fay.reload();
    await fay.locator(".banner").filter({ hasText: "offline" }).waitFor();
    await fay.getByRole("navigation", { name: "Conversations" }).getByRole("button", { name: /tunnel/ }).waitFor();
    await fay.getByRole("heading", { name: "tunnel", level: 1 }).waitFor();
    await say(fay, "typed in the tunnel");
    await fay.locator(".log .msg.pending").filter({ hasText: "typed in the tunnel" }).waitFor();
    await fay.context().setOffline(false);
    await sees(gus, "typed in the tunnel", 20_000);
    await fay.locator(".log .msg.pending").first().waitFor({ state: "detached", timeout: 20_000 });
    await assertViewIsLog(fay, id);
  });
}
