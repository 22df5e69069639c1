// Dialogs: create a channel, browse public ones, invite with a link, start a
// direct message, accept an invite, leave, a channel's notifications, my
// mentions, a search of every message. Each resolves with what it made or
// picked.

import { api } from "./api.js";
import { sentence } from "./auth.js";
import { avatar, el, icon, modal } from "./dom.js";
import { channelIcon, channelTitle, displayName, fullTime, time } from "./format.js";
import { rendered } from "./markdown.js";

/** A form whose submit runs `action`; its error is shown in the dialog. */
function form(action, ...children) {
  const error = el("p", { class: "error", role: "alert" });
  const node = el("form", {
    class: "dialog-body",
    onsubmit: async (e) => {
      e.preventDefault();
      const submit = node.querySelector("button[type=submit]");
      if (submit) submit.disabled = true;
      error.textContent = "";
      try {
        await action();
      } catch (failure) {
        error.textContent = failure.message;
      } finally {
        if (submit) submit.disabled = false;
      }
    },
  }, ...children, error);
  return node;
}

export function createChannel() {
  return modal("New channel", (close) => {
    const name = el("input", { id: "channel-name", required: true, maxlength: "80", autocomplete: "off", placeholder: "e.g. design-team" });
    const topic = el("input", { id: "channel-topic", maxlength: "250", autocomplete: "off" });
    const kind = (value, label, hint, checked) => el("label", { class: "choice" },
      el("input", { type: "radio", name: "kind", value, checked }), el("span", {}, el("strong", {}, label), el("small", {}, hint)));
    return form(async () => {
      const chosen = document.querySelector("dialog input[name=kind]:checked").value;
      const body = { name: name.value.trim(), kind: chosen };
      if (topic.value.trim()) body.topic = topic.value.trim();
      close((await api("POST", "/channels", body)).channel);
    },
    el("label", { for: "channel-name" }, "Name"), name,
    el("label", { for: "channel-topic" }, "Topic ", el("span", { class: "hint" }, "(optional)")), topic,
    el("fieldset", {}, el("legend", {}, "Who can join"),
      kind("public", "Public", "Anyone can find and join it.", true),
      kind("private", "Private", "Only people with an invite link.", false)),
    el("div", { class: "buttons" }, el("button", { type: "button", onclick: () => close() }, "Cancel"),
      el("button", { class: "primary", type: "submit" }, "Create channel")));
  });
}

/** Lists public channels; resolves with the one joined or opened. */
export function browse(store) {
  return modal("Browse channels", (close) => {
    const filter = el("input", { type: "search", "aria-label": "Filter channels", placeholder: "Filter", autocomplete: "off" });
    const list = el("ul", { class: "list pick" }, el("li", { class: "empty" }, "Loading…"));
    const error = el("p", { class: "error", role: "alert" });
    let channels = [];
    const show = () => {
      const q = filter.value.trim().toLowerCase();
      const shown = channels.filter((c) => c.name.toLowerCase().includes(q));
      list.replaceChildren(...shown.map((c) => {
        const member = store.channels.has(c.id);
        return el("li", {}, el("span", { class: "prefix" }, icon(channelIcon(c))),
          el("span", { class: "grow" }, el("strong", {}, c.name), c.topic ? el("small", {}, c.topic) : null),
          el("small", { class: "hint" }, `${c.member_count} ${c.member_count === 1 ? "member" : "members"}`),
          el("button", {
            class: member ? "" : "primary",
            "aria-label": `${member ? "Open" : "Join"} ${c.name}`,
            onclick: async () => {
              try {
                close(member ? store.channels.get(c.id) : (await api("POST", `/channels/${c.id}/join`)).channel);
              } catch (failure) {
                error.textContent = sentence(failure.message); // banned, say
              }
            },
          }, member ? "Open" : "Join"));
      }));
      if (shown.length === 0) list.append(el("li", { class: "empty" }, channels.length ? "No channel matches." : "No public channels yet."));
    };
    filter.addEventListener("input", show);
    api("GET", "/channels/public").then(({ channels: all }) => {
      channels = all.sort((a, b) => b.member_count - a.member_count || a.name.localeCompare(b.name));
      show();
    }, (failure) => { error.textContent = failure.message; });
    return el("div", { class: "dialog-body" }, filter, list, error);
  });
}

export const EXPIRY = [["1 hour", 3600], ["1 day", 86400], ["7 days", 604800], ["Never", null]];
export const USES = [["No limit", null], ["1 use", 1], ["10 uses", 10], ["100 uses", 100]];

/** Makes an invite link for a channel and offers to copy it. */
export function invite(channel) {
  return modal(`Invite people to ${channel.name}`, () => {
    const select = (id, label, options, chosen) => [el("label", { for: id }, label),
      el("select", { id }, options.map(([text, value]) => el("option", { value: value ?? "", selected: value === chosen }, text)))];
    const link = el("input", { id: "invite-link", readonly: true, "aria-label": "Invite link", onfocus: (e) => e.target.select() });
    const copied = el("span", { class: "hint", "aria-live": "polite" });
    const result = el("div", { class: "invite-result", hidden: true }, el("label", { for: "invite-link" }, "Anyone with this link can join:"),
      el("div", { class: "row" }, link, el("button", {
        type: "button", class: "primary",
        onclick: async () => copied.textContent = (await copy(link)) ? "Copied." : "Select the link and copy it.",
      }, "Copy link")), copied);
    return form(async () => {
      const body = {};
      const expires = document.getElementById("invite-expiry").value;
      const uses = document.getElementById("invite-uses").value;
      if (expires) body.expires_in_seconds = Number(expires);
      if (uses) body.max_uses = Number(uses);
      const created = (await api("POST", `/channels/${channel.id}/invites`, body)).invite;
      link.value = `${location.origin}/invite/${created.code}`;
      result.hidden = false;
      copied.textContent = "";
      link.focus();
    },
    el("div", { class: "grid2" }, el("div", {}, ...select("invite-expiry", "Expires after", EXPIRY, 604800)),
      el("div", {}, ...select("invite-uses", "Can be used", USES, null))),
    el("div", { class: "buttons" }, el("button", { class: "primary", type: "submit" }, "Create link")),
    result);
  });
}

/** Copies an input's text; false when the browser would not (then it is selected, for the person to copy). */
export async function copy(input) {
  try {
    await navigator.clipboard.writeText(input.value);
    return true;
  } catch {
    // The Clipboard API needs a secure context: fall back to the selection.
    input.select();
    return document.execCommand?.("copy") ?? false;
  }
}

/** Finds people by name; resolves with the direct channel of them and me. */
export function newDirect(store) {
  return modal("New message", (close) => {
    const chosen = new Map(); // id → user
    const query = el("input", { type: "search", id: "people-search", "aria-label": "Search people", placeholder: "Search by username", autocomplete: "off" });
    const chips = el("div", { class: "chips", role: "group", "aria-label": "Chosen people" });
    const results = el("ul", { class: "list pick", "aria-label": "People" });
    const start = el("button", { class: "primary", type: "submit", disabled: true }, "Start conversation");
    const show = (users) => {
      results.replaceChildren(...users.filter((u) => u.id !== store.user.id).map((u) => el("li", {}, avatar(u, u.id),
        el("span", { class: "grow" }, el("strong", { dir: "auto" }, displayName(u)), el("small", {}, ` @${u.username}${u.deactivated ? " (deactivated)" : ""}`)),
        el("button", {
          type: "button", "aria-pressed": String(chosen.has(u.id)), "aria-label": `${chosen.has(u.id) ? "Remove" : "Add"} ${u.username}`,
          onclick: () => {
            if (chosen.has(u.id)) chosen.delete(u.id);
            else if (chosen.size < 8) chosen.set(u.id, u);
            show(users);
          },
        }, chosen.has(u.id) ? "Added" : "Add"))));
      if (results.children.length === 0) results.append(el("li", { class: "empty" }, query.value.trim() ? "Nobody by that name." : "Type a name."));
      chips.replaceChildren(...[...chosen.values()].map((u) => el("span", { class: "chip" }, displayName(u))));
      start.disabled = chosen.size === 0;
    };
    let timer = null;
    let asked = 0;
    query.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const q = query.value.trim();
        const ticket = ++asked;
        if (!q) return show([]);
        const { users } = await api("GET", `/users?q=${encodeURIComponent(q)}`).catch(() => ({ users: [] }));
        if (ticket === asked) show(users);
      }, 150);
    });
    show([]);
    return form(async () => {
      close((await api("POST", "/dms", { user_ids: [...chosen.keys()] })).channel);
    }, query, el("small", { class: "hint" }, "Up to 8 people; more than one makes a group."), chips, results,
    el("div", { class: "buttons" }, el("button", { type: "button", onclick: () => close() }, "Cancel"), start));
  });
}

/** Shows where an invite leads; resolves with the channel once joined. */
export function acceptInvite(code) {
  return modal("Invitation", (close) => {
    const body = el("div", { class: "dialog-body" }, el("p", {}, "Loading…"));
    api("GET", `/invites/${encodeURIComponent(code)}`).then(({ channel }) => {
      if (!channel) {
        // A join link is for signing up, and I have an account.
        body.replaceChildren(el("p", {}, "This link is for joining this server, and you are already in."),
          el("div", { class: "buttons" }, el("button", { type: "button", class: "primary", onclick: () => close() }, "OK")));
        body.querySelector("button.primary").focus();
        return;
      }
      const error = el("p", { class: "error", role: "alert" });
      body.replaceChildren(
        el("p", {}, "You are invited to join"),
        el("h3", { class: "invite-name" }, icon(channelIcon(channel)), channel.name || "a conversation"),
        el("p", { class: "hint" }, `${channel.member_count} ${channel.member_count === 1 ? "member" : "members"}`),
        error,
        el("div", { class: "buttons" }, el("button", { type: "button", onclick: () => close() }, "Not now"),
          el("button", {
            class: "primary", type: "button",
            onclick: async () => {
              try {
                close((await api("POST", `/invites/${encodeURIComponent(code)}/accept`)).channel);
              } catch (failure) {
                error.textContent = failure.code === "not_found" ? "This invite has expired or been used up." : sentence(failure.message);
              }
            },
          }, "Join")));
      body.querySelector("button.primary").focus();
    }, () => body.replaceChildren(el("p", { class: "error" }, "This invite link is not valid: it may have expired or been used up."),
      el("div", { class: "buttons" }, el("button", { type: "button", onclick: () => close() }, "Close"))));
    return body;
  });
}

export function confirmLeave(channel) {
  return modal(`Leave ${channel.name}?`, (close) => el("div", { class: "dialog-body" },
    el("p", {}, channel.kind === "private" ? "You will need a new invite to come back." : "You can join again at any time."),
    el("div", { class: "buttons" }, el("button", { type: "button", onclick: () => close(false) }, "Stay"),
      el("button", { class: "danger", type: "button", onclick: () => close(true) }, "Leave"))));
}

/**
 * What to be told of in a channel, and whether it is muted; and, while this
 * browser has not been asked, a button that asks it to show notifications
 * (asked only here, when a person chooses to, never on page load).
 */
export function preferences(channel, title) {
  return modal(`Notifications for ${title}`, (close) => {
    const current = channel.preferences ?? { notify: channel.kind === "direct" ? "all" : "mentions", muted: false };
    const choice = (value, label, hint) => el("label", { class: "choice" },
      el("input", { type: "radio", name: "notify", value, checked: current.notify === value }),
      el("span", {}, el("strong", {}, label), hint ? el("small", {}, hint) : null));
    const muted = el("input", { type: "checkbox", name: "muted", checked: current.muted });
    const body = form(async () => {
      const notify = body.querySelector("input[name=notify]:checked")?.value ?? current.notify;
      const { preferences: saved } = await api("PUT", `/channels/${channel.id}/preferences`, { notify, muted: muted.checked });
      close(saved);
    },
    el("fieldset", {}, el("legend", {}, "Tell me when I am not looking about"),
      choice("all", "Every new message", ""),
      choice("mentions", "Mentions of me", channel.kind === "direct" ? "In a direct message, every message is one." : ""),
      choice("none", "Nothing", "")),
    el("label", { class: "choice" }, muted, el("span", {}, el("strong", {}, "Mute"), el("small", {}, "No unread badge and no notifications."))),
    browserPermission(),
    el("div", { class: "buttons" }, el("button", { type: "button", onclick: () => close() }, "Cancel"),
      el("button", { class: "primary", type: "submit" }, "Save")));
    return body;
  });
}

/** Whether this browser shows Parley's notifications, and a way to allow it while it has not been asked. */
function browserPermission() {
  const note = el("p", { class: "hint permission", role: "status" });
  const ask = el("button", { type: "button" }, "Allow notifications in this browser");
  const show = () => {
    const state = typeof Notification === "function" ? Notification.permission : "unsupported";
    ask.hidden = state !== "default";
    note.textContent = {
      granted: "This browser shows Parley's notifications.",
      denied: "This browser blocks Parley's notifications: allow them in its site settings.",
      unsupported: "This browser cannot show notifications.",
      default: "",
    }[state];
  };
  ask.addEventListener("click", async () => {
    await Notification.requestPermission().catch(() => {});
    show();
  });
  show();
  return el("div", { class: "permission-row" }, ask, note);
}

/**
 * My mentions, newest first, a page at a time: each with its channel, who
 * wrote it and when, and its text (chips and all). Picking one closes the
 * dialog with `{channel, seq}`, to open the channel at that message.
 */
export function mentions(store) {
  return modal("Mentions", (close) => {
    const list = el("ul", { class: "list mentions-list" }, el("li", { class: "empty" }, "Loading…"));
    const more = el("button", { type: "button", hidden: true, onclick: () => page() }, "Older mentions");
    const error = el("p", { class: "error", role: "alert" });
    let before = null;
    let shown = 0;
    async function page() {
      more.disabled = true;
      try {
        const { mentions: found, has_more: hasMore } = await api("GET", `/mentions?limit=30${before ? `&before=${before}` : ""}`);
        if (!before) list.replaceChildren();
        for (const { channel, event } of found) {
          const sender = store.users.get(event.sender_id) ?? store.lookupUser(event.sender_id);
          const where = channelTitle(store.channels.get(channel.id) ?? channel, store.user);
          const at = new Date(event.created_at);
          list.append(el("li", {}, el("button", {
            type: "button", class: "mention-item", title: fullTime(at),
            onclick: () => close({ channel, seq: event.seq }),
          },
          el("span", { class: "where" }, el("strong", { dir: "auto" }, where), " · ", displayName(sender), " · ", time(at)),
          el("span", { class: "text", dir: "auto" }, ...rendered(event.body ?? "", null)))));
          before = event.id;
          shown += 1;
        }
        if (!shown) list.replaceChildren(el("li", { class: "empty" }, "Nobody has mentioned you yet."));
        more.hidden = !hasMore;
      } catch (failure) {
        error.textContent = failure.message;
      } finally {
        more.disabled = false;
      }
    }
    page();
    return el("div", { class: "dialog-body" }, list, more, error);
  });
}

/**
 * A search of every message of my channels (docs/protocol.md, "GET
 * /api/v1/search"): the query, then the results newest first, each with its
 * channel, who and when, and its text with the matches marked. Picking one
 * closes the dialog with `{channel, seq}`, to open the channel there.
 */
export function search(store, initial = "") {
  return modal("Search messages", (close) => {
    const input = el("input", { type: "search", "aria-label": "Search messages", value: initial, autocomplete: "off",
      placeholder: "Words, \"a phrase\", from:@name, in:#channel, has:link" });
    const status = el("p", { class: "hint", role: "status" });
    const list = el("ul", { class: "list mentions-list", "aria-label": "Results" });
    const more = el("button", { type: "button", hidden: true, onclick: () => page(false) }, "Older results");
    const error = el("p", { class: "error", role: "alert" });
    let before = null;
    let asked = 0;
    async function page(fresh) {
      const q = input.value.trim();
      if (!q) return;
      const ticket = fresh ? ++asked : asked;
      if (fresh) before = null;
      more.disabled = true;
      error.textContent = "";
      try {
        const path = `/search?q=${encodeURIComponent(q)}&limit=30${before ? `&before=${encodeURIComponent(before)}` : ""}`;
        const { results, has_more: hasMore } = await api("GET", path);
        if (ticket !== asked) return;
        if (fresh) list.replaceChildren();
        for (const { channel, event, highlights } of results) {
          const sender = store.users.get(event.sender_id) ?? store.lookupUser(event.sender_id);
          const where = channelTitle(store.channels.get(channel.id) ?? channel, store.user);
          const at = new Date(event.created_at);
          list.append(el("li", {}, el("button", {
            type: "button", class: "mention-item", title: fullTime(at), onclick: () => close({ channel, seq: event.seq }),
          },
          el("span", { class: "where" }, el("strong", { dir: "auto" }, where), " · ", displayName(sender), " · ", time(at)),
          el("span", { class: "text", dir: "auto" }, ...marked(event.body ?? "", highlights)))));
          before = `${event.channel_id}:${event.seq}`;
        }
        const shown = list.children.length;
        status.textContent = shown ? `${shown}${hasMore ? "+" : ""} ${shown === 1 ? "message" : "messages"}` : "No message matches.";
        more.hidden = !hasMore;
      } catch (failure) {
        if (ticket === asked) error.textContent = failure.message;
      } finally {
        more.disabled = false;
      }
    }
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        page(true);
      }
    });
    if (initial) page(true);
    return el("div", { class: "dialog-body" }, input, status, list, more, error);
  });
}

/** `text` with the `[start, end)` ranges (in code points) as `mark` nodes, all as text. */
function marked(text, ranges) {
  const points = Array.from(text);
  const nodes = [];
  let at = 0;
  for (const [start, end] of ranges) {
    if (start > at) nodes.push(points.slice(at, start).join(""));
    nodes.push(el("mark", {}, points.slice(start, end).join("")));
    at = end;
  }
  if (at < points.length) nodes.push(points.slice(at).join(""));
  return nodes;
}
