// Boots the client: who am I (or the sign-in screen), then the store, the
// live connection and the views, re-rendered at most once per frame. Every
// place has an address (`/c/<channel>`, `/c/<channel>/<seq>` for a message),
// so reload, Back and Forward and a shared link all land where they should.
// An invite link (`/invite/<code>`) and a reset link (`/reset/<token>`) are
// addresses too, read before anything else. A channel that leaves my list
// because I was removed or banned, or it was deleted, says so in a notice.

import * as account from "./account.js";
import * as admin from "./admin.js";
import { api } from "./api.js";
import { resetPassword, sentence, signIn } from "./auth.js";
import { ChannelView } from "./channel.js";
import { Connection } from "./connection.js";
import * as dialogs from "./dialogs.js";
import { el, icon } from "./dom.js";
import * as moderation from "./moderation.js";
import { Sidebar } from "./sidebar.js";
import { channelTitle } from "./format.js";
import { load as read, save as write, Store } from "./store.js";
import { notifyOf } from "./notify.js";
import { quickSwitcher } from "./switcher.js";

const root = document.getElementById("app");

/** What an address points at. */
function route(path = location.pathname) {
  const invite = path.match(/^\/invite\/([A-Za-z0-9_-]+)$/);
  if (invite) return { invite: invite[1] };
  const reset = path.match(/^\/reset\/([A-Za-z0-9_-]+)$/);
  if (reset) return { reset: reset[1] };
  const place = path.match(/^\/c\/([0-9A-Za-z-]+)(?:\/(\d+))?$/);
  if (place) return { channel: place[1], seq: place[2] ? Number(place[2]) : null };
  return {};
}

let inviteCode = route().invite ?? null;

// Who was signed in here last, so that the client opens without a network
// (the service worker keeps its files) and its outbox waits for one.
const ME = "parley.me";

/** Said on the sign-in screen when the server ended this browser's session. */
const SIGNED_OUT = "You have been signed out of this browser: your password was changed, this device was signed out "
  + "from another one, or an admin changed your account. Sign in again to go on.";

const NOTICE_SHOWN = 20_000; // ms a notice stays, unless the keyboard is on it

async function main() {
  // Installable, and opens offline; a browser without workers just goes on.
  navigator.serviceWorker?.register("/sw.js").catch(() => {});
  const reset = route().reset;
  if (reset) {
    // A reset link is for whoever holds it, signed in here or not: it ends in a new session.
    const user = await resetPassword(root, reset);
    history.replaceState(null, "", "/");
    if (user) return start(user);
  }
  let me;
  try {
    me = (await api("GET", "/me")).user;
  } catch (error) {
    if (error.status === 0) me = read(ME, null); // no network: as whoever was here last
    if (!me && error.code !== "unauthenticated") return fatal(error);
  }
  start(me ?? (await askToSignIn()));
}

/**
 * Signs in or up, as the server's sign-up policy allows. From an invite
 * link, signing up carries its code (a channel's invite joins its channel
 * there and then); signing in says yes to a channel's invite afterwards.
 */
async function askToSignIn(notice = "") {
  const code = inviteCode;
  const [server, invite] = await Promise.all([
    api("GET", "/server").catch(() => null),
    code ? api("GET", `/invites/${encodeURIComponent(code)}`).catch((e) => (e.code === "not_found" ? "invalid" : null)) : null,
  ]);
  const { user, registered } = await signIn(root, { server, invite, code, notice });
  if (code) {
    inviteCode = null;
    const channel = invite && invite !== "invalid" ? invite.channel : null;
    if (!channel || registered) {
      history.replaceState(null, "", channel && registered ? `/c/${channel.id}` : "/");
    } else {
      const joined = await api("POST", `/invites/${encodeURIComponent(code)}/accept`).catch(() => null);
      history.replaceState(null, "", joined ? `/c/${joined.channel.id}` : "/");
      if (!joined) inviteCode = code; // shown again in the dialog, with why it failed
    }
  }
  return user;
}

function fatal(error) {
  root.replaceChildren(el("main", { class: "auth" }, el("div", { class: "card" }, el("h1", {}, "Parley cannot start"),
    el("p", { class: "error" }, error.message), el("button", { class: "primary", onclick: () => location.reload() }, "Try again"))));
}

function start(me) {
  write(ME, me);
  const store = new Store(me);
  const connection = new Connection(store, {
    onLive: (event) => notifyOf(store, event, (id, seq) => actions.open(id, { seq })),
    onRemoved: async (channel, why) => {
      // Who did it, by name, even when this client has not met them yet.
      if (why && !store.users.has(why.by)) await api("GET", `/users/${why.by}`).then(({ user }) => store.users.set(user.id, user), () => {});
      const text = moderation.farewell(store, channel, why);
      if (text) tell(text);
    },
    // The server ended this session (a password change, a device signed
    // out from elsewhere, a deactivation): the sign-in screen says so.
    onSignedOut: async () => {
      dispose();
      forget();
      start(await askToSignIn(SIGNED_OUT));
    },
  });
  const keys = { last: `parley.current.${me.id}`, favourites: `parley.favourites.${me.id}`, sort: `parley.sort.${me.id}`, recent: `parley.recent.${me.id}` };
  const favourites = new Set(read(keys.favourites, []));
  let recent = read(keys.recent, []); // channel ids, most recently opened first
  let current = null;
  let view = null;
  let notice = "";
  let frame = 0;

  const actions = {
    /** Opens a channel (or the list, with null), at a message when `seq` is given. */
    open(id, { seq = null, replace = false, fromHistory = false } = {}) {
      const known = id && store.channels.has(id) ? id : null;
      if (id && !known) return missing(id);
      notice = "";
      welcome.refused = "";
      if (!fromHistory) {
        const path = known ? `/c/${known}${seq ? `/${seq}` : ""}` : "/";
        // A channel opened from the list knows that Back returns to it.
        if (path !== location.pathname) history[replace ? "replaceState" : "pushState"]({ fromList: location.pathname === "/" }, "", path);
      }
      if (known && known === current && view) {
        if (seq) view.jumpTo(seq);
        return;
      }
      current = known;
      view = current ? new ChannelView({ store, connection, actions, channelId: current, seq }) : null;
      if (current) {
        localStorage.setItem(keys.last, current);
        recent = [current, ...recent.filter((r) => r !== current)].slice(0, 50);
        write(keys.recent, recent);
      }
      pane.replaceChildren(view ? view.node : welcome.node);
      shell.classList.toggle("open-channel", Boolean(view));
      render();
      view?.focus();
    },
    home: () => (history.state?.fromList ? history.back() : actions.open(null)),
    link: (id, seq) => `/c/${id}/${seq}`,
    async createChannel() {
      const channel = await dialogs.createChannel();
      if (channel) adopt(channel);
    },
    async browse() {
      const channel = await dialogs.browse(store);
      if (channel) adopt(channel);
    },
    async newDirect() {
      const channel = await dialogs.newDirect(store);
      if (channel) adopt(channel);
    },
    async switcher() {
      const chosen = await quickSwitcher(store, recent);
      if (chosen?.search) actions.search(chosen.search);
      else if (chosen) adopt(chosen);
    },
    async search(q) {
      const picked = await dialogs.search(store, q);
      if (!picked) return;
      if (!store.channels.has(picked.channel.id)) store.upsertChannel(picked.channel);
      actions.open(picked.channel.id, { seq: picked.seq });
    },
    async mentions() {
      const picked = await dialogs.mentions(store);
      if (!picked) return;
      if (!store.channels.has(picked.channel.id)) store.upsertChannel(picked.channel);
      actions.open(picked.channel.id, { seq: picked.seq });
    },
    invite: (id) => dialogs.invite(store.channels.get(id)),
    async settings(id) {
      // A deleted channel leaves the list by its own frames; the notice says so.
      await moderation.settings(store, id);
      schedule();
    },
    /** Opens the DM with one person, made on first use. */
    async message(user) {
      try {
        adopt((await api("POST", "/dms", { user_ids: [user.id] })).channel);
      } catch (failure) {
        tell(sentence(failure.message));
      }
    },
    tell: (text) => tell(text),
    async preferences(id) {
      const channel = store.channels.get(id);
      const saved = channel && (await dialogs.preferences(channel, channelTitle(channel, store.user)));
      // At once here; my other tabs and devices by the server's `preferences` frame.
      if (saved && store.setPreferences(id, saved)) schedule();
    },
    async leave(id) {
      if (!(await dialogs.confirmLeave(store.channels.get(id)))) return;
      await api("POST", `/channels/${id}/leave`).catch(() => {});
      store.removeChannel(id);
      actions.open(null, { replace: true });
    },
    async signOut() {
      // The connection first: the logout closes its socket, which is no news here.
      dispose();
      await api("POST", "/auth/logout").catch(() => {});
      forget();
      history.replaceState(null, "", "/");
      start(await askToSignIn());
    },
    account: () => account.open(store),
    admin: () => admin.open(store),
    isFavourite: (id) => favourites.has(id),
    toggleFavourite(id) {
      if (!favourites.delete(id)) favourites.add(id);
      write(keys.favourites, [...favourites]);
      schedule();
    },
    sortBy: () => read(keys.sort, "recent"),
    setSort(by) {
      write(keys.sort, by);
      schedule();
    },
    unreadChanged: () => schedule(),
  };

  /** A link to a conversation I am not in: say so, and offer to join when it is public. */
  async function missing(id) {
    actions.open(null, { replace: true });
    notice = "That conversation is not open to you: you may have left it, or the link is wrong.";
    welcome.offer = null;
    welcome.refused = "";
    const channel = await api("GET", `/channels/${id}`).then((r) => r.channel, () => null);
    if (channel?.kind === "public") {
      notice = `You are not in #${channel.name}.`;
      welcome.offer = channel;
    }
    schedule();
  }

  /** A channel I just made, joined or opened a DM in: known now, open now. */
  function adopt(channel) {
    store.upsertChannel(channel);
    actions.open(channel.id);
  }

  const sidebar = new Sidebar({ store, actions });
  const welcome = new Welcome(store, actions, () => notice);
  const banner = el("div", { class: "banner", role: "status" });
  const pane = el("div", { class: "pane" });
  const toast = el("div", { class: "toast", role: "status" });
  const shell = el("div", { class: "shell" }, sidebar.node, pane, banner, toast);
  let toastTimer = 0;

  /** A short notice at the foot of the screen, until dismissed or for a while. */
  function tell(text) {
    clearTimeout(toastTimer);
    toast.replaceChildren(...(text ? [el("span", { class: "grow" }, text),
      el("button", { type: "button", class: "icon", "aria-label": "Dismiss", onclick: () => tell("") }, icon("close"))] : []));
    const fade = () => {
      if (toast.contains(document.activeElement)) toastTimer = setTimeout(fade, NOTICE_SHOWN);
      else tell("");
    };
    if (text) toastTimer = setTimeout(fade, NOTICE_SHOWN);
  }
  root.replaceChildren(shell);

  function schedule() {
    // A hidden tab paints nothing until shown, but its title is in the tab strip.
    if (document.visibilityState === "hidden") retitle();
    if (!frame) frame = requestAnimationFrame(render);
  }

  /**
   * The tab's title: how many unread messages mention me, `(3)`, or a dot
   * while only others are unread; then the open conversation. The favicon
   * carries the mention count too.
   */
  function retitle() {
    const { unread, mentions } = store.unreadTotal();
    const mark = mentions ? `(${mentions}) ` : unread ? "• " : "";
    document.title = `${mark}${view ? `${channelTitle(store.channels.get(current), store.user)} · ` : ""}Parley`;
    const icon = mentions ? `/favicon/${Math.min(mentions, 10)}.svg` : "/favicon.svg";
    const link = document.querySelector("link[rel=icon]");
    if (link && link.getAttribute("href") !== icon) link.setAttribute("href", icon);
  }

  function render() {
    cancelAnimationFrame(frame);
    frame = 0;
    if (current && !store.channels.has(current)) return actions.open(null, { replace: true }); // removed elsewhere
    // The view first: what it marks read is not shown unread in the sidebar.
    if (view) view.render();
    else welcome.render();
    sidebar.render(current);
    const offline = {
      connecting: "Connecting…",
      reconnecting: "Reconnecting… Messages you send now go out when the connection is back.",
      offline: "You are offline. Messages you send now go out when the connection is back.",
    }[store.status];
    banner.textContent = offline ?? "";
    banner.hidden = !offline;
    retitle();
  }

  const onPop = () => {
    const place = route();
    actions.open(place.channel ?? null, { seq: place.seq, fromHistory: true });
  };
  const onKey = (e) => {
    if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "k") {
      e.preventDefault();
      if (!document.querySelector("dialog[open]")) actions.switcher();
    }
  };
  const listeners = [[window, "popstate", onPop], [document, "keydown", onKey],
    [document, "visibilitychange", schedule], [window, "focus", schedule], [window, "pagehide", () => store.saveNow()]];
  for (const [target, type, fn] of listeners) target.addEventListener(type, fn);

  let arrived = false; // the address, or where I was, is open
  let firstReady = true;
  /**
   * Opens the address, or where I was (the list stays behind it in the
   * history, for Back). Before `ready`, with my channels as saved last time,
   * only a channel they hold: one they do not is known once `ready` lists it.
   */
  function arrive() {
    const place = route();
    const last = localStorage.getItem(keys.last);
    const where = place.channel ?? (!current && last && store.channels.has(last) ? last : null);
    if (store.status !== "online" && !(where && store.channels.has(where))) return;
    arrived = true;
    if (place.channel) actions.open(place.channel, { seq: place.seq, replace: true });
    else if (where) actions.open(where);
  }
  store.onChange(() => {
    schedule();
    if (firstReady && store.status === "online") {
      firstReady = false;
      if (!arrived) arrive();
      if (inviteCode) openInvite();
    }
  });

  async function openInvite() {
    const code = inviteCode;
    inviteCode = null;
    const channel = await dialogs.acceptInvite(code);
    // The invite's address is spent: Back should not offer it again.
    if (channel) store.upsertChannel(channel);
    if (channel || !current) actions.open(channel?.id ?? null, { replace: true });
  }

  /** Signed out: this browser no longer opens as me, nor shows my channels. */
  function forget() {
    localStorage.removeItem(ME);
    localStorage.removeItem(store.channelsKey);
    localStorage.removeItem(store.blocksKey);
  }

  function dispose() {
    connection.stop();
    store.saveNow();
    for (const [target, type, fn] of listeners) target.removeEventListener(type, fn);
    cancelAnimationFrame(frame);
    for (const dialog of document.querySelectorAll("dialog")) dialog.close();
  }

  if (!route().channel && !route().invite) history.replaceState(null, "", "/");
  pane.replaceChildren(welcome.node);
  render();
  arrive();
  connection.start();
  // Whom I block is mine alone, not an event: read once here (kept from last time without a network).
  api("GET", "/me/blocks").then(({ users }) => {
    store.setBlocks(users);
    store.changed();
  }, () => {});
}

/** What the pane shows with no conversation open. */
class Welcome {
  constructor(store, actions, notice) {
    Object.assign(this, { store, actions, notice, offer: null, refused: "" });
    this.text = el("p", {});
    this.noticeNode = el("p", { class: "notice", role: "status" });
    this.join = el("button", { class: "primary", hidden: true, onclick: () => this.accept() }, "Join");
    this.node = el("section", { class: "channel empty-state", "aria-label": "Welcome" }, el("div", {},
      el("h2", {}, "Welcome to Parley"), this.noticeNode, this.join, this.text,
      el("div", { class: "buttons" },
        el("button", { class: "primary", onclick: actions.createChannel }, "Create a channel"),
        el("button", { onclick: actions.browse }, "Browse channels"),
        el("button", { onclick: actions.newDirect }, "Message someone")),
      el("p", { class: "hint" }, "Press Ctrl+K (⌘K on a Mac) to jump to any conversation or search every message.")));
  }

  async accept() {
    let channel;
    try {
      ({ channel } = await api("POST", `/channels/${this.offer.id}/join`));
    } catch (failure) {
      // Archived, or I am banned: said where the offer was.
      this.refused = sentence(failure.message);
      this.offer = null;
      this.render();
      return;
    }
    this.offer = null;
    this.store.upsertChannel(channel);
    this.actions.open(channel.id);
  }

  render() {
    const count = this.store.channels.size;
    this.text.textContent = this.store.status === "connecting" ? "Loading your conversations…"
      : count ? "Pick a conversation, or start a new one." : "You are in no conversation yet.";
    this.noticeNode.textContent = this.refused || this.notice();
    this.noticeNode.hidden = !this.noticeNode.textContent;
    this.join.hidden = !this.offer;
    if (this.offer) this.join.textContent = `Join #${this.offer.name}`;
  }
}

main();
