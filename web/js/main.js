// Boots the client: who am I (or the sign-in screen), then the store, the
// live connection and the views, re-rendered at most once per frame.

import { api } from "./api.js";
import { signIn } from "./auth.js";
import { ChannelView } from "./channel.js";
import { Connection } from "./connection.js";
import * as dialogs from "./dialogs.js";
import { el } from "./dom.js";
import { Sidebar } from "./sidebar.js";
import { Store } from "./store.js";

const root = document.getElementById("app");
let inviteCode = location.pathname.match(/^\/invite\/([A-Za-z0-9_-]+)$/)?.[1] ?? null;

async function main() {
  let me;
  try {
    me = (await api("GET", "/me")).user;
  } catch (error) {
    if (error.code !== "unauthenticated") return fatal(error);
  }
  start(me ?? (await askToSignIn()));
}

async function askToSignIn() {
  const invite = inviteCode ? await api("GET", `/invites/${encodeURIComponent(inviteCode)}`).catch(() => null) : null;
  return signIn(root, { invite, mode: invite ? "register" : "login" });
}

function fatal(error) {
  root.replaceChildren(el("main", { class: "auth" }, el("div", { class: "card" }, el("h1", {}, "Parley cannot start"),
    el("p", { class: "error" }, error.message), el("button", { class: "primary", onclick: () => location.reload() }, "Try again"))));
}

function start(me) {
  const store = new Store(me);
  const connection = new Connection(store, {
    onSignedOut: async () => {
      dispose();
      start(await askToSignIn());
    },
  });
  const drafts = new Map(); // channel id → unsent text in its composer
  const lastKey = `parley.current.${me.id}`;
  let current = null;
  let view = null;
  let frame = 0;

  const actions = {
    open(id) {
      current = id && store.channels.has(id) ? id : null;
      view = current ? new ChannelView({ store, connection, actions, channelId: current, drafts }) : null;
      if (current) localStorage.setItem(lastKey, current);
      else localStorage.removeItem(lastKey);
      pane.replaceChildren(view ? view.node : placeholder());
      shell.classList.toggle("open-channel", Boolean(view));
      render();
      view?.focus();
    },
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
    invite: (id) => dialogs.invite(store.channels.get(id)),
    async leave(id) {
      if (!(await dialogs.confirmLeave(store.channels.get(id)))) return;
      await api("POST", `/channels/${id}/leave`).catch(() => {});
      store.removeChannel(id);
      actions.open(null);
    },
    async signOut() {
      await api("POST", "/auth/logout").catch(() => {});
      dispose();
      start(await signIn(root, {}));
    },
    unreadChanged: () => schedule(),
  };

  /** A channel I just made, joined or opened a DM in: known now, open now. */
  function adopt(channel) {
    store.upsertChannel(channel);
    actions.open(channel.id);
  }

  const sidebar = new Sidebar({ store, actions });
  const banner = el("div", { class: "banner", role: "status" });
  const pane = el("div", { class: "pane" });
  const shell = el("div", { class: "shell" }, sidebar.node, pane, banner);
  root.replaceChildren(shell);

  function placeholder() {
    return el("section", { class: "channel empty-state" }, el("div", {},
      el("h2", {}, "Welcome to Parley"),
      el("p", {}, store.channels.size ? "Pick a conversation on the left, or start a new one." : "You are in no conversation yet."),
      el("div", { class: "buttons" },
        el("button", { class: "primary", onclick: actions.createChannel }, "Create a channel"),
        el("button", { onclick: actions.browse }, "Browse channels"),
        el("button", { onclick: actions.newDirect }, "Message someone"))));
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(render);
  }

  function render() {
    cancelAnimationFrame(frame);
    frame = 0;
    if (current && !store.channels.has(current)) return actions.open(null); // removed elsewhere
    sidebar.render(current);
    view?.render();
    const offline = { connecting: "Connecting…", reconnecting: "Reconnecting… Messages you send now go out when the connection is back." }[store.status];
    banner.textContent = offline ?? "";
    banner.hidden = !offline;
    const unread = store.unreadTotal();
    document.title = unread ? `(${unread}) Parley` : "Parley";
  }

  const visible = () => schedule();
  document.addEventListener("visibilitychange", visible);
  let firstReady = true;
  store.onChange(() => {
    schedule();
    if (firstReady && store.status === "online") {
      firstReady = false;
      const last = localStorage.getItem(lastKey);
      if (!current && last && store.channels.has(last)) actions.open(last);
      if (inviteCode) openInvite();
    }
  });

  async function openInvite() {
    const code = inviteCode;
    inviteCode = null;
    history.replaceState(null, "", "/");
    const channel = await dialogs.acceptInvite(code);
    if (channel) adopt(channel);
  }

  function dispose() {
    connection.stop();
    document.removeEventListener("visibilitychange", visible);
    cancelAnimationFrame(frame);
    for (const dialog of document.querySelectorAll("dialog")) dialog.close();
  }

  actions.open(null);
  connection.start();
}

main();
