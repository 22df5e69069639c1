// The sidebar: who I am (my account, the admin screen for a server admin,
// signing out), my favourites, channels and direct messages with unread
// badges and presence (channels by recent activity or by name; an archived
// one says so), and the ways to find or start a conversation.

import { avatar, dot, el, icon } from "./dom.js";
import { channelIcon, channelTitle, displayName } from "./format.js";

export class Sidebar {
  constructor({ store, actions }) {
    this.store = store;
    this.actions = actions;
    this.favouriteList = el("ul", { class: "list", "aria-label": "Favourites" });
    this.channelList = el("ul", { class: "list", "aria-label": "Channels" });
    this.directList = el("ul", { class: "list", "aria-label": "Direct messages" });
    this.items = new Map(); // channel id → {li, button}
    this.me = el("div", { class: "me" });
    this.meKey = "";
    this.sort = el("button", { class: "link", onclick: () => actions.setSort(actions.sortBy() === "recent" ? "name" : "recent") });
    this.favourites = el("div", { class: "section" },
      el("div", { class: "section-head" }, el("h2", {}, "Favourites")), this.favouriteList);
    this.node = el("nav", { class: "sidebar", "aria-label": "Conversations" },
      el("header", { class: "sidebar-head" },
        el("div", { class: "brand" }, el("span", { class: "logo", "aria-hidden": "true" }, "P"), "Parley"),
        el("button", { class: "icon", "aria-label": "New channel", title: "New channel", onclick: actions.createChannel }, icon("plus"))),
      el("button", { class: "jump-to", onclick: actions.switcher, "aria-keyshortcuts": "Control+K Meta+K", title: "Jump to a conversation, or search every message" },
        icon("search"), el("span", { class: "grow" }, "Search…"), el("kbd", {}, "Ctrl K")),
      el("button", { class: "jump-to", onclick: actions.mentions }, el("span", { class: "at", "aria-hidden": "true" }, "@"),
        el("span", { class: "grow" }, "Mentions")),
      this.favourites,
      el("div", { class: "section" },
        el("div", { class: "section-head" }, el("h2", {}, "Channels"),
          el("span", {}, this.sort, el("button", { class: "link", onclick: actions.browse }, "Browse"))),
        this.channelList),
      el("div", { class: "section" },
        el("div", { class: "section-head" }, el("h2", {}, "Direct messages"),
          el("button", { class: "link", "aria-label": "New message", onclick: actions.newDirect }, "New")),
        this.directList),
      el("footer", { class: "sidebar-foot" }, this.me));
  }

  render(current) {
    const store = this.store;
    const me = store.user;
    const byName = (a, b) => channelTitle(a, me).localeCompare(channelTitle(b, me));
    const byActivity = (a, b) => (store.activity.get(b.id) ?? 0) - (store.activity.get(a.id) ?? 0) || byName(a, b);
    const sortBy = this.actions.sortBy();
    this.sort.textContent = sortBy === "recent" ? "Recent" : "A–Z";
    this.sort.setAttribute("aria-label", `Channels sorted by ${sortBy === "recent" ? "recent activity" : "name"}; change`);
    const all = [...store.channels.values()];
    const favourite = (c) => this.actions.isFavourite(c.id);
    const favourites = all.filter(favourite).sort(byName);
    const rooms = all.filter((c) => c.kind !== "direct" && !favourite(c)).sort(sortBy === "recent" ? byActivity : byName);
    const directs = all.filter((c) => c.kind === "direct" && !favourite(c)).sort(byActivity);
    this.favourites.hidden = favourites.length === 0;
    this.fill(this.favouriteList, favourites, current, "");
    this.fill(this.channelList, rooms, current, "No channels yet.");
    this.fill(this.directList, directs, current, "No conversations yet.");
    for (const id of [...this.items.keys()]) if (!store.channels.has(id)) this.items.delete(id);
    // Built again only when it changes: a rebuilt button loses keyboard focus.
    const meKey = JSON.stringify([me.id, displayName(me), me.role]);
    if (meKey !== this.meKey) {
      this.meKey = meKey;
      this.me.replaceChildren(
        el("button", { class: "me-button", title: "Your account: password and signed-in devices", onclick: this.actions.account },
          avatar(me, me.id), el("span", { class: "name", dir: "auto" }, el("span", { class: "sr-only" }, "Account: "), displayName(me)), icon("settings")),
        el("span", { class: "me-links" },
          me.role === "admin" ? el("button", { class: "link", title: "People, channels, join links and the audit log", onclick: this.actions.admin }, "Admin") : null,
          el("button", { class: "link", onclick: this.actions.signOut }, "Sign out")));
    }
  }

  fill(list, channels, current, empty) {
    const nodes = channels.map((channel) => this.item(channel, current));
    if (nodes.length === 0 && empty) nodes.push(el("li", { class: "empty" }, empty));
    // Only move nodes when the order changed: a moved node loses keyboard focus.
    const same = nodes.length === list.children.length && nodes.every((n, i) => list.children[i] === n);
    if (!same) list.replaceChildren(...nodes);
  }

  item(channel, current) {
    const store = this.store;
    let item = this.items.get(channel.id);
    if (!item) {
      const button = el("button", { class: "channel-link", onclick: () => this.actions.open(channel.id) });
      item = { li: el("li", {}, button), button, key: "" };
      this.items.set(channel.id, item);
    }
    // The open channel's badge counts what I have not seen yet, scrolled up or in another window.
    const muted = Boolean(channel.preferences?.muted);
    const unread = muted ? 0 : channel.unread_count ?? 0;
    const mentions = muted ? 0 : channel.mention_count ?? 0;
    const others = (channel.members ?? []).filter((u) => u.id !== store.user.id);
    const online = channel.kind === "direct" && others.some((u) => store.online.has(u.id));
    const title = channelTitle(channel, store.user);
    const archived = Boolean(channel.archived);
    const key = JSON.stringify([title, unread, mentions, online, channel.id === current, channel.kind, muted, archived]);
    if (key !== item.key) {
      item.key = key;
      item.button.setAttribute("aria-current", channel.id === current ? "page" : "false");
      item.button.classList.toggle("unread", unread > 0);
      item.button.classList.toggle("muted", muted);
      item.button.classList.toggle("archived", archived);
      item.button.replaceChildren(...[
        channel.kind === "direct" ? dot(online) : el("span", { class: "prefix" }, icon(channelIcon(channel))),
        el("span", { class: "name", dir: "auto" }, title),
        archived ? el("small", { class: "archived-mark", title: "Archived: read-only" }, "archived") : null,
        muted ? el("span", { class: "muted-mark", role: "img", "aria-label": "muted", title: "Muted" }, icon("bell-off")) : null,
        badge(unread, mentions),
      ].filter(Boolean));
    }
    return item.li;
  }
}

/** Unread mentions as a red count, else unread messages as a grey one. */
function badge(unread, mentions) {
  const shown = (n) => (n > 99 ? "99+" : String(n));
  if (mentions > 0) {
    const label = `${mentions} ${mentions === 1 ? "mention" : "mentions"}, ${unread} unread`;
    return el("span", { class: "badge mention", "aria-label": label }, shown(mentions));
  }
  return unread > 0 ? el("span", { class: "badge", "aria-label": `${unread} unread` }, shown(unread)) : null;
}
