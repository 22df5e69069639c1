// The admin screen, for the server's admins: people (roles, deactivation,
// password reset links), every channel (archive, unarchive, delete with its
// name typed to confirm), join links (sign-up on an invite-only server), and
// the audit log of what admins and moderators did, newest first, by name.
// Tabs of one dialog, each loaded when first shown.

import { api } from "./api.js";
import { sentence } from "./auth.js";
import { copy, EXPIRY, USES } from "./dialogs.js";
import { avatar, el, icon, modal } from "./dom.js";
import { channelIcon, dateTime, displayName, fullTime, time } from "./format.js";
import { changes, deleteChannel, setArchived } from "./moderation.js";

const PEOPLE = 50; // people listed at once; a search finds the others
const ENTRIES = 50; // audit entries per page
const CHANNELS = 100; // channels listed at once; a search finds the others

export function open(store) {
  return modal("Admin", () => {
    const tabs = [["people", "People", () => people(store)], ["channels", "Channels", () => channels()],
      ["links", "Join links", () => joinLinks(store)], ["audit", "Audit log", () => audit(store)]];
    const tablist = el("div", { class: "tabs", role: "tablist", "aria-label": "Admin" });
    const panels = el("div", { class: "panels" });
    const buttons = tabs.map(([key, label, build], index) => {
      const panel = el("div", { role: "tabpanel", id: `admin-${key}`, "aria-labelledby": `admin-tab-${key}`, hidden: true });
      const tab = el("button", {
        type: "button", role: "tab", id: `admin-tab-${key}`, "aria-controls": panel.id, "aria-selected": "false", tabindex: "-1",
        onclick: () => select(index),
      }, label);
      tab.panel = panel;
      tab.build = build;
      panels.append(panel);
      return tab;
    });
    function select(index, focus = false) {
      buttons.forEach((tab, i) => {
        const chosen = i === index;
        tab.setAttribute("aria-selected", String(chosen));
        tab.tabIndex = chosen ? 0 : -1;
        tab.panel.hidden = !chosen;
        if (chosen && !tab.panel.firstChild) tab.panel.append(tab.build());
      });
      if (focus) buttons[index].focus();
    }
    // Arrows move between the tabs, as in any tab strip; Tab goes into the panel.
    tablist.addEventListener("keydown", (e) => {
      const at = buttons.indexOf(document.activeElement);
      const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: buttons.length - 1 }[e.key];
      if (at < 0 || to === undefined) return;
      e.preventDefault();
      select((to + buttons.length) % buttons.length, true);
    });
    tablist.append(...buttons);
    select(0);
    return el("div", { class: "dialog-body admin" }, tablist, panels);
  }, { wide: true });
}

/** Who someone is, from their id: asked of the server once per id. */
const known = new Map(); // id → Promise<user | null>
function userOf(store, id) {
  if (!id) return Promise.resolve(null);
  const held = store.users.get(id);
  if (held) return Promise.resolve(held);
  if (!known.has(id)) known.set(id, api("GET", `/users/${encodeURIComponent(id)}`).then(({ user }) => user, () => null));
  return known.get(id);
}

const channelsSeen = new Map(); // id → Promise<channel | null>: a private one I am not in stays unnamed
function channelOf(id) {
  if (!id) return Promise.resolve(null);
  if (!channelsSeen.has(id)) channelsSeen.set(id, api("GET", `/channels/${encodeURIComponent(id)}`).then(({ channel }) => channel, () => null));
  return channelsSeen.get(id);
}

const tag = (text, kind = "") => el("span", { class: `tag ${kind}` }, text);

/** A confirmation in front of the admin screen: resolves true when the action is chosen. */
function confirm(title, text, action) {
  return modal(title, (close) => el("div", { class: "dialog-body" }, el("p", {}, text),
    el("div", { class: "buttons" }, el("button", { type: "button", autofocus: true, onclick: () => close(false) }, "Cancel"),
      el("button", { type: "button", class: "danger", onclick: () => close(true) }, action))));
}

/** A link to hand over, with a Copy button. */
function linkField(id, label, url) {
  const input = el("input", { id, readonly: true, value: url, onfocus: (e) => e.target.select() });
  const copied = el("span", { class: "hint", role: "status" });
  return el("div", { class: "link-field" }, el("label", { for: id }, label),
    el("div", { class: "row" }, input, el("button", {
      type: "button", class: "primary",
      onclick: async () => { copied.textContent = (await copy(input)) ? "Copied." : "Select the link and copy it."; },
    }, "Copy")), copied);
}

function people(store) {
  const query = el("input", { type: "search", "aria-label": "Search people", placeholder: "Search by name", autocomplete: "off" });
  const status = el("p", { class: "hint", role: "status" });
  const list = el("ul", { class: "list admin-list", "aria-label": "People" }, el("li", { class: "empty" }, "Loading…"));
  const error = el("p", { class: "error", role: "alert" });
  let asked = 0;
  let timer = null;

  async function load() {
    const ticket = ++asked;
    const q = query.value.trim();
    try {
      const { users } = await api("GET", `/admin/users?limit=${PEOPLE}${q ? `&q=${encodeURIComponent(q)}` : ""}`);
      if (ticket !== asked) return;
      error.textContent = "";
      list.replaceChildren(...users.map((user) => fill(el("li", {}), user)));
      if (!users.length) list.append(el("li", { class: "empty" }, q ? "Nobody by that name." : "Nobody yet."));
      status.textContent = users.length === PEOPLE ? `The first ${PEOPLE} are shown: search to find others.`
        : `${users.length} ${users.length === 1 ? "person" : "people"}`;
    } catch (failure) {
      if (ticket === asked) error.textContent = sentence(failure.message);
    }
  }

  /** One person's row: who, their role and state, and what an admin can do to them. */
  function fill(li, user) {
    const me = user.id === store.user.id;
    const act = (text, run) => el("button", { type: "button", "aria-label": `${text} ${user.username}`, onclick: (e) => run(e.currentTarget) }, text);
    const change = async (button, body) => {
      const at = [...li.querySelectorAll("button")].indexOf(button);
      error.textContent = "";
      button.disabled = true;
      try {
        const { user: changed } = await api("PATCH", `/admin/users/${user.id}`, body);
        fill(li, changed);
        status.textContent = body.role ? `${changed.username} is ${changed.role === "admin" ? "an admin" : "a member"} now.`
          : `${changed.username} is ${changed.deactivated ? "deactivated and signed out everywhere" : "active again"}.`;
        li.querySelectorAll("button")[at]?.focus(); // the same place in the row, now saying the opposite
      } catch (failure) {
        error.textContent = sentence(failure.message);
        button.disabled = false;
      }
    };
    li.className = user.deactivated ? "deactivated" : "";
    li.replaceChildren(...[avatar(user, user.id),
      el("span", { class: "grow" }, el("span", {}, el("strong", { dir: "auto" }, displayName(user)), el("small", {}, ` @${user.username}`)),
        el("span", { class: "tags" }, user.role === "admin" ? tag("Admin", "admin") : tag("Member"),
          user.deactivated ? tag("Deactivated", "off") : null, me ? tag("You") : null)),
      me ? null : el("span", { class: "actions" },
        act(user.role === "admin" ? "Make member" : "Make admin", (b) => change(b, { role: user.role === "admin" ? "member" : "admin" })),
        user.deactivated
          ? act("Reactivate", (b) => change(b, { deactivated: false }))
          : act("Deactivate", async (b) => {
            const sure = await confirm(`Deactivate ${user.username}?`,
              `${displayName(user)} is signed out everywhere at once and cannot sign in until reactivated. Their messages stay.`, "Deactivate");
            if (sure) await change(b, { deactivated: true });
            else b.focus();
          }),
        user.deactivated ? null : act("Reset link", (b) => resetLink(user, b, error)))].filter(Boolean));
    return li;
  }

  query.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(load, 200);
  });
  load();
  return el("div", { class: "stack" }, query, status, list, error);
}

/** Makes a one-use reset link for someone and shows it to copy (there is no e-mail: the admin hands it over). */
async function resetLink(user, button, error) {
  error.textContent = "";
  button.disabled = true;
  let made;
  try {
    made = await api("POST", `/admin/users/${user.id}/reset-link`);
  } catch (failure) {
    error.textContent = sentence(failure.message);
    return;
  } finally {
    button.disabled = false;
  }
  await modal(`Reset link for ${user.username}`, (close) => el("div", { class: "dialog-body" },
    el("p", {}, `Send this link to ${displayName(user)} yourself. It sets a new password and signs them in.`),
    linkField("reset-link", "Reset link", `${location.origin}${made.path}`),
    el("p", { class: "hint" }, `It works once, until ${time(new Date(made.expires_at))}. Using it signs ${user.username} out everywhere else.`),
    el("div", { class: "buttons" }, el("button", { type: "button", onclick: () => close() }, "Done"))));
  button.focus();
}

/**
 * Every channel but DMs (the server's list for admins: private and archived
 * ones too), each archived or unarchived after a confirmation, or deleted
 * after its name is typed.
 */
function channels() {
  const query = el("input", { type: "search", "aria-label": "Search channels", placeholder: "Search by name", autocomplete: "off" });
  const status = el("p", { class: "hint", role: "status" });
  const list = el("ul", { class: "list admin-list", "aria-label": "Channels" }, el("li", { class: "empty" }, "Loading…"));
  const error = el("p", { class: "error", role: "alert" });
  const done = el("p", { class: "hint done", role: "status" });
  let asked = 0;
  let timer = null;

  async function load() {
    const ticket = ++asked;
    const q = query.value.trim();
    try {
      const { channels: all, has_more: more } = await api("GET", `/admin/channels?limit=${CHANNELS}${q ? `&q=${encodeURIComponent(q)}` : ""}`);
      if (ticket !== asked) return;
      error.textContent = "";
      list.replaceChildren(...all.map(row));
      if (!all.length) list.append(el("li", { class: "empty" }, q ? "No channel by that name." : "No channels yet."));
      status.textContent = more ? `The first ${CHANNELS} channels are shown: search to find others.`
        : `${all.length} ${all.length === 1 ? "channel" : "channels"}`;
    } catch (failure) {
      if (ticket === asked) error.textContent = sentence(failure.message);
    }
  }

  /** After an action on a row: the list again, the focus on the same row's button where it still is. */
  async function reload(label) {
    await load();
    const same = [...list.querySelectorAll("button")].find((b) => b.getAttribute("aria-label") === label);
    (same ?? list.querySelector("button") ?? query).focus();
  }

  function row(channel) {
    const make = changes();
    const archiveLabel = `${channel.archived ? "Unarchive" : "Archive"} ${channel.name}`;
    const archive = el("button", {
      type: "button", "aria-label": archiveLabel,
      onclick: async () => {
        error.textContent = "";
        try {
          if (!(await setArchived(channel, !channel.archived, make))) return archive.focus();
        } catch (failure) {
          error.textContent = sentence(failure.message);
          return archive.focus();
        }
        done.textContent = `#${channel.name} was ${channel.archived ? "archived" : "unarchived"}.`;
        await reload(`${channel.archived ? "Unarchive" : "Archive"} ${channel.name}`);
      },
    }, channel.archived ? "Unarchive…" : "Archive…");
    const remove = el("button", {
      type: "button", "aria-label": `Delete ${channel.name}`,
      onclick: async () => {
        if (!(await deleteChannel(channel))) return remove.focus();
        done.textContent = `#${channel.name} was deleted.`;
        await reload(null);
      },
    }, "Delete…");
    return el("li", {}, el("span", { "aria-hidden": "true" }, icon(channelIcon(channel))),
      el("span", { class: "grow" }, el("span", {}, el("strong", { dir: "auto" }, channel.name)),
        el("span", { class: "tags" }, tag(channel.kind === "private" ? "Private" : "Public"), channel.archived ? tag("Archived", "off") : null,
          tag(`${channel.member_count} ${channel.member_count === 1 ? "member" : "members"}`))),
      el("span", { class: "actions" }, archive, remove));
  }

  query.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(load, 200);
  });
  load();
  return el("div", { class: "stack" },
    el("p", { class: "hint" }, "Every channel but direct messages, private and archived ones too. Archiving makes one read-only; deleting one takes every message in it, for everyone."),
    query, status, done, list, error);
}

function joinLinks(store) {
  const select = (id, label, options, chosen) => el("div", {}, el("label", { for: id }, label),
    el("select", { id }, options.map(([text, value]) => el("option", { value: value ?? "", selected: value === chosen }, text))));
  const expiry = select("join-expiry", "Expires after", EXPIRY, 604800);
  const uses = select("join-uses", "Can be used", USES, null);
  const made = el("div", { class: "made" });
  const list = el("ul", { class: "list admin-list", "aria-labelledby": "join-links-heading" }, el("li", { class: "empty" }, "Loading…"));
  const error = el("p", { class: "error", role: "alert" });
  const urlOf = (invite) => `${location.origin}/invite/${invite.code}`;

  async function load() {
    try {
      const { invites } = await api("GET", "/admin/join-links");
      const now = Date.now();
      const rows = await Promise.all(invites.map(async (invite) => {
        const by = await userOf(store, invite.created_by);
        const expired = invite.expires_at && new Date(invite.expires_at).getTime() <= now;
        const usedUp = invite.max_uses !== null && invite.uses >= invite.max_uses;
        const count = invite.max_uses === null ? `${invite.uses} ${invite.uses === 1 ? "use" : "uses"}` : `${invite.uses} of ${invite.max_uses} uses`;
        const until = expired ? "expired" : invite.expires_at ? `expires ${dateTime(new Date(invite.expires_at))}` : "never expires";
        const about = el("small", {}, `${count} · ${until} · made by ${by?.username ?? "someone"} ${dateTime(new Date(invite.created_at))}`);
        if (expired || usedUp) {
          return el("li", { class: "spent" }, el("span", { class: "grow" }, el("span", {}, `…${invite.code.slice(-6)}`, " ", tag(expired ? "Expired" : "Used up", "off")), about));
        }
        const input = el("input", { readonly: true, value: urlOf(invite), "aria-label": `Join link ${invite.code.slice(-6)}`, onfocus: (e) => e.target.select() });
        return el("li", {}, el("span", { class: "grow" }, input, about), el("span", { class: "actions" },
          el("button", { type: "button", "aria-label": `Copy link ${invite.code.slice(-6)}`, onclick: async (e) => {
            e.currentTarget.textContent = (await copy(input)) ? "Copied" : "Copy";
          } }, "Copy"),
          el("button", { type: "button", "aria-label": `Revoke link ${invite.code.slice(-6)}`, onclick: () => revoke(invite) }, "Revoke")));
      }));
      list.replaceChildren(...rows);
      if (!rows.length) list.append(el("li", { class: "empty" }, "No join links yet."));
    } catch (failure) {
      error.textContent = sentence(failure.message);
    }
  }

  async function revoke(invite) {
    if (!(await confirm("Revoke this join link?", "Nobody can sign up with it any more. Accounts made with it stay.", "Revoke"))) return;
    error.textContent = "";
    try {
      await api("DELETE", `/invites/${encodeURIComponent(invite.code)}`);
      if (made.textContent.includes(invite.code)) made.replaceChildren();
    } catch (failure) {
      if (failure.code !== "not_found") error.textContent = sentence(failure.message);
    }
    await load();
    list.querySelector("button, input")?.focus();
  }

  const onsubmit = async (e) => {
    e.preventDefault();
    const submit = e.currentTarget.querySelector("button[type=submit]");
    const body = {};
    const expires = expiry.querySelector("select").value;
    const most = uses.querySelector("select").value;
    if (expires) body.expires_in_seconds = Number(expires);
    if (most) body.max_uses = Number(most);
    submit.disabled = true;
    error.textContent = "";
    try {
      const { invite } = await api("POST", "/admin/join-links", body);
      made.replaceChildren(linkField("new-join-link", "New join link: whoever opens it can sign up", urlOf(invite)));
      made.querySelector("input").focus();
      await load();
    } catch (failure) {
      error.textContent = sentence(failure.message);
    } finally {
      submit.disabled = false;
    }
  };
  load();
  return el("div", { class: "stack" },
    el("p", { class: "hint" }, "A join link lets someone sign up when sign-up needs an invite. It joins no channel."),
    el("form", { class: "stack", onsubmit }, el("div", { class: "grid2" }, expiry, uses),
      el("div", { class: "buttons" }, el("button", { class: "primary", type: "submit" }, "Create join link"))),
    made,
    el("h3", { id: "join-links-heading" }, "Join links"), list, error);
}

/** What an audit entry says, as a sentence with the people and channel by name. */
async function describe(store, entry) {
  const [actor, target, channel] = await Promise.all([userOf(store, entry.actor_id), userOf(store, entry.user_id), channelOf(entry.channel_id)]);
  const who = (user, id) => el("strong", { dir: "auto" }, user?.username ?? (id ? "someone" : "nobody"));
  const by = who(actor, entry.actor_id);
  const to = who(target, entry.user_id);
  const detail = entry.detail ?? {};
  const where = channel ? el("strong", { dir: "auto" }, `#${channel.name}`) : "a channel";
  switch (entry.action) {
    case "user.role": return [by, " made ", to, detail.role === "admin" ? " an admin" : " a member"];
    case "user.deactivate": return [by, " deactivated ", to];
    case "user.reactivate": return [by, " reactivated ", to];
    case "user.reset_link": return [by, " made a password reset link for ", to];
    case "user.create": return ["parley admin created ", to, detail.role === "admin" ? ", an admin" : ""];
    case "user.password_reset": return ["parley admin set a new password for ", to];
    case "join_link.create": return [by, " made a join link"];
    case "join_link.revoke": return [by, " revoked a join link"];
    case "invite.revoke": return [by, " revoked an invite to ", where];
    case "channel.rename": return [by, " renamed a channel to ", el("strong", { dir: "auto" }, `#${detail.name ?? "?"}`)];
    case "channel.archive": return [by, " archived ", where];
    case "channel.unarchive": return [by, " unarchived ", where];
    case "channel.delete": return [by, " deleted a channel"];
    case "member.remove": return [by, " removed ", to, " from ", where];
    case "member.ban": return [by, " banned ", to, " from ", where];
    case "member.unban": return [by, " unbanned ", to, " from ", where];
    case "member.role": return [by, " made ", to, detail.role === "admin" ? " an admin of " : " a plain member of ", where];
    case "message.delete": {
      const seq = Number(detail.seq);
      const message = channel && Number.isInteger(seq) ? el("a", { href: `/c/${channel.id}/${seq}` }, "a message") : "a message";
      return [by, " deleted ", message, " by ", to, " in ", where];
    }
    default: return [by, ` ${entry.action}`, entry.user_id ? [" (", to, ")"] : ""];
  }
}

function audit(store) {
  // Focusable: it scrolls, and holds nothing else a keyboard could stop on.
  const list = el("ol", { class: "list admin-list audit", "aria-label": "Audit log, newest first", tabindex: "0" }, el("li", { class: "empty" }, "Loading…"));
  const more = el("button", { type: "button", hidden: true, onclick: () => page() }, "Load more");
  const error = el("p", { class: "error", role: "alert" });
  let before = null;

  async function page() {
    more.disabled = true;
    error.textContent = "";
    try {
      const { entries, has_more: hasMore } = await api("GET", `/admin/audit?limit=${ENTRIES}${before !== null ? `&before=${before}` : ""}`);
      const rows = await Promise.all(entries.map(async (entry) => {
        const at = new Date(entry.at);
        return el("li", { "data-id": entry.id }, el("span", { class: "grow" }, ...(await describe(store, entry)).flat()),
          el("time", { datetime: entry.at, title: fullTime(at) }, dateTime(at)));
      }));
      const first = before === null;
      if (first) list.replaceChildren();
      list.append(...rows);
      if (first && !rows.length) list.append(el("li", { class: "empty" }, "Nothing yet: what admins do is written here."));
      if (entries.length) before = entries[entries.length - 1].id;
      more.hidden = !hasMore;
      if (!first) rows[0]?.setAttribute("tabindex", "-1");
      if (!first) rows[0]?.focus(); // where the new page begins, for a keyboard
    } catch (failure) {
      error.textContent = sentence(failure.message);
    } finally {
      more.disabled = false;
    }
  }
  page();
  return el("div", { class: "stack" }, list, error, el("div", { class: "buttons" }, more));
}
