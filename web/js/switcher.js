// The quick switcher (Ctrl/Cmd+K): type a few letters of a channel, a DM or
// a person, arrows to choose, Enter to go. With nothing typed it lists where
// I was most recently; a person without a DM yet opens one. What is typed
// can also be searched for in every message, the last choice.

import { api } from "./api.js";
import { avatar, dot, el, icon, modal } from "./dom.js";
import { channelIcon, channelTitle, displayName } from "./format.js";

const SHOWN = 12;

/**
 * How well `query` matches `text` as a subsequence, higher is better, or -1.
 * Letters in a row and letters at the start of a word count most.
 */
export function fuzzy(query, text) {
  const q = query.toLowerCase();
  const t = text.toLowerCase();
  let score = 0;
  let at = -1;
  for (const ch of q) {
    const found = t.indexOf(ch, at + 1);
    if (found < 0) return -1;
    const wordStart = found === 0 || /[\s_.\-#@,]/.test(t[found - 1]);
    score += found === at + 1 ? 3 : wordStart ? 2 : 1;
    at = found;
  }
  return score + (t.startsWith(q) ? 5 : 0) - t.length / 100;
}

/**
 * Resolves with the channel to open (a DM made on the way for a person),
 * `{ search }` to search the messages for, or null.
 */
export function quickSwitcher(store, recent) {
  return modal("Jump to a conversation or search", (close) => {
    const input = el("input", {
      type: "search", role: "combobox", "aria-expanded": "true", "aria-controls": "switcher-options", "aria-autocomplete": "list",
      "aria-label": "Conversation, person or words to search for", placeholder: "Channel, person, or words to search for", autocomplete: "off",
    });
    const list = el("ul", { id: "switcher-options", class: "list switcher", role: "listbox", "aria-label": "Matches" });
    const error = el("p", { class: "error", role: "alert" });
    const me = store.user;
    const rank = new Map(recent.map((id, i) => [id, recent.length - i]));
    let people = [];
    let options = [];
    let active = 0;

    const choose = async (option) => {
      if (!option) return;
      if (option.channel) return close(option.channel);
      if (option.search) return close({ search: option.search });
      try {
        close((await api("POST", "/dms", { user_ids: [option.user.id] })).channel);
      } catch (failure) {
        error.textContent = failure.message;
      }
    };

    const show = () => {
      const q = input.value.trim();
      const channels = [...store.channels.values()].map((channel) => {
        const title = channelTitle(channel, me);
        const score = q ? fuzzy(q, title) : 0;
        return { channel, title, score, recent: rank.get(channel.id) ?? 0, activity: store.activity.get(channel.id) ?? 0 };
      }).filter((o) => o.score >= 0)
        .sort((a, b) => b.score - a.score || b.recent - a.recent || b.activity - a.activity);
      // A person I already have a DM of one with is that DM.
      const inDm = new Set([...store.channels.values()].filter((c) => c.kind === "direct" && (c.members ?? []).length === 2)
        .flatMap((c) => c.members.map((u) => u.id)));
      const strangers = people.filter((u) => u.id !== me.id && !inDm.has(u.id)).map((user) => ({ user, title: displayName(user) }));
      options = [...channels.slice(0, SHOWN), ...strangers].slice(0, SHOWN + 5);
      if (q) options.push({ search: q, title: `Search messages for “${q}”` });
      active = Math.min(active, Math.max(0, options.length - 1));
      list.replaceChildren(...options.map((option, i) => {
        const { channel, user } = option;
        const others = channel?.kind === "direct" ? channel.members.filter((u) => u.id !== me.id) : [];
        return el("li", {
          id: `switcher-${i}`, role: "option", "aria-selected": String(i === active), class: i === active ? "active" : "",
          onclick: () => choose(option), onmousemove: () => { if (active !== i) { active = i; show(); } },
        },
        option.search ? el("span", { class: "prefix" }, icon("search")) : user ? avatar(user, user.id) : channel.kind === "direct" ? dot(others.some((u) => store.online.has(u.id))) : el("span", { class: "prefix" }, icon(channelIcon(channel))),
        el("span", { class: "grow" }, el("bdi", {}, option.title), user ? el("small", {}, ` @${user.username} · new conversation`) : null),
        channel?.unread_count ? el("span", { class: "badge", "aria-label": `${channel.unread_count} unread` }, String(channel.unread_count)) : null);
      }));
      if (options.length === 0) list.append(el("li", { class: "empty" }, q ? "Nothing matches." : "No conversations yet."));
      input.setAttribute("aria-activedescendant", options.length ? `switcher-${active}` : "");
      list.querySelector(".active")?.scrollIntoView({ block: "nearest" });
    };

    let timer = null;
    let asked = 0;
    input.addEventListener("input", () => {
      active = 0;
      people = [];
      show();
      clearTimeout(timer);
      const q = input.value.trim();
      if (!q) return;
      timer = setTimeout(async () => {
        const ticket = ++asked;
        const { users } = await api("GET", `/users?q=${encodeURIComponent(q)}`).catch(() => ({ users: [] }));
        if (ticket !== asked) return;
        people = users;
        show();
      }, 150);
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        if (options.length) active = (active + (e.key === "ArrowDown" ? 1 : options.length - 1)) % options.length;
        show();
      } else if (e.key === "Enter") {
        e.preventDefault();
        choose(options[active]);
      }
    });
    show();
    return el("div", { class: "dialog-body" }, input, list, error,
      el("p", { class: "hint" }, "↑ ↓ to choose, Enter to open, Esc to close"));
  });
}
