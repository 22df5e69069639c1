// Boots the client: who am I, then the live connection and the views.

import { api } from "./api.js";
import { Connection } from "./connection.js";
import { Store } from "./store.js";
import { authView, shellView } from "./views.js";

const root = document.getElementById("app");
const inviteCode = location.pathname.match(/^\/invite\/([A-Za-z0-9]+)$/)?.[1] ?? null;

async function main() {
  let me = null;
  try {
    me = (await api("GET", "/me")).user;
  } catch {
    return showAuth("login");
  }
  start(me);
}

async function showAuth(mode, error) {
  const invite = inviteCode ? await api("GET", `/invites/${inviteCode}`).catch(() => null) : null;
  root.replaceChildren(authView({
    mode, error, invite,
    onSwitch: () => showAuth(mode === "login" ? "register" : "login"),
    onSubmit: async (username, password) => {
      try {
        const { user } = await api("POST", mode === "login" ? "/auth/login" : "/auth/register", { username, password });
        start(user);
      } catch (e) {
        showAuth(mode, e.message);
      }
    },
  }));
}

async function start(me) {
  const store = new Store();
  store.user = me;
  const connection = new Connection(store);
  let current = null;
  if (inviteCode) {
    try {
      const { channel } = await api("POST", `/invites/${inviteCode}/accept`);
      store.upsertChannel(channel);
      current = channel.id;
      history.replaceState(null, "", "/");
    } catch (e) {
      alertText(`This invite cannot be used: ${e.message}`);
    }
  }
  const actions = {
    open: async (id) => {
      current = id;
      render();
      if (id && !store.loaded.has(id)) {
        const page = await api("GET", `/channels/${id}/events?limit=100`);
        for (const event of page.events) store.addEvent(event);
        store.loaded.add(id);
      }
      const last = id ? store.channels.get(id)?.last_seq : null;
      if (last) {
        store.channels.get(id).unread_count = 0;
        api("POST", `/channels/${id}/read`, { seq: last }).catch(() => {});
      }
      render();
    },
    send: (channelId, body) => connection.send(channelId, body),
    retry: (clientMsgId) => connection.transmit(clientMsgId),
    signOut: async () => {
      await api("POST", "/auth/logout").catch(() => {});
      location.assign("/");
    },
    createChannel: async () => {
      const name = prompt("Channel name");
      if (!name) return;
      const kind = confirm("Make it private? (Cancel for public)") ? "private" : "public";
      const { channel } = await api("POST", "/channels", { name, kind });
      store.upsertChannel(channel);
      actions.open(channel.id);
    },
    browse: async () => {
      const { channels } = await api("GET", "/channels/public");
      const names = channels.filter((c) => !store.channels.has(c.id)).map((c) => c.name);
      const pick = prompt(`Join which channel?\n${names.join("\n")}`);
      const channel = channels.find((c) => c.name === pick);
      if (channel) {
        const joined = await api("POST", `/channels/${channel.id}/join`);
        store.upsertChannel(joined.channel);
        actions.open(channel.id);
      }
    },
    invite: async (channelId) => {
      const { invite } = await api("POST", `/channels/${channelId}/invites`, {});
      const link = `${location.origin}/invite/${invite.code}`;
      await navigator.clipboard?.writeText(link).catch(() => {});
      alertText(`Invite link (copied): ${link}`);
    },
  };
  function render() {
    root.replaceChildren(shellView({ store, current, status: connection.status, actions }));
  }
  store.onChange(render);
  connection.start();
  render();
}

function alertText(text) {
  // A plain dialog: the text is never interpreted as HTML.
  window.alert(text);
}

main();
