// What can be done to a message: react (an emoji picker with search and my
// recent emoji), reply in its thread, edit my own, delete (with a confirm),
// pin, copy its link. Each change goes to the server with a client_msg_id of
// its own; its event comes back live and changes the message in place.

import { api } from "./api.js";
import { newClientMsgId } from "./connection.js";
import { el, icon, modal } from "./dom.js";

/** The picker's emoji, each with the words it is found by. */
const EMOJI = [
  ["👍", "thumbs up yes +1 like"], ["👎", "thumbs down no -1"], ["❤️", "heart love"], ["😂", "joy laugh tears"],
  ["🎉", "tada party celebrate"], ["😄", "smile happy"], ["😮", "wow surprised open mouth"], ["😢", "cry sad"],
  ["🙏", "pray thanks please"], ["👀", "eyes look"], ["🔥", "fire hot"], ["✅", "check done yes"],
  ["❌", "cross no wrong"], ["💯", "hundred perfect"], ["🚀", "rocket ship launch"], ["🤔", "thinking hmm"],
  ["👏", "clap applause"], ["🙌", "raised hands hooray"], ["😅", "sweat smile phew"], ["😍", "heart eyes love"],
  ["😎", "cool sunglasses"], ["🤝", "handshake deal"], ["💡", "bulb idea"], ["⭐", "star"],
  ["⚠️", "warning careful"], ["🐛", "bug"], ["☕", "coffee"], ["🍕", "pizza"],
  ["👋", "wave hello bye"], ["🤷", "shrug dunno"], ["😬", "grimace awkward"], ["🥳", "partying birthday"],
];
const RECENT_KEY = "parley.recentEmoji";
const RECENT = 8;

function recentEmoji() {
  try {
    const list = JSON.parse(localStorage.getItem(RECENT_KEY) ?? "[]");
    return Array.isArray(list) ? list.filter((e) => typeof e === "string").slice(0, RECENT) : [];
  } catch {
    return [];
  }
}

function remember(emoji) {
  const list = [emoji, ...recentEmoji().filter((e) => e !== emoji)].slice(0, RECENT);
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(list));
  } catch {
    // Private browsing: not remembered.
  }
}

/** Asks for an emoji; resolves with it, or null when closed. */
export function pickEmoji() {
  return modal("Add a reaction", (close) => {
    const grid = el("div", { class: "emoji-grid", role: "group", "aria-label": "Emoji" });
    const search = el("input", { type: "search", "aria-label": "Search emoji", placeholder: "Search emoji", autocomplete: "off" });
    const choose = (emoji) => {
      remember(emoji);
      close(emoji);
    };
    const show = () => {
      const words = search.value.trim().toLowerCase();
      const found = EMOJI.filter(([emoji, names]) => !words || names.includes(words) || emoji === words);
      const recent = words ? [] : recentEmoji();
      const buttons = (list) => list.map((emoji) => el("button", { type: "button", class: "emoji", "aria-label": `React with ${emoji}`, onclick: () => choose(emoji) }, emoji));
      grid.replaceChildren(
        ...(recent.length ? [el("p", { class: "hint" }, "Recent"), el("div", { class: "row" }, ...buttons(recent))] : []),
        found.length ? el("div", { class: "row" }, ...buttons(found.map(([emoji]) => emoji))) : el("p", { class: "hint" }, "No emoji found."));
    };
    search.addEventListener("input", show);
    search.addEventListener("keydown", (e) => {
      if (e.key !== "Enter") return;
      e.preventDefault();
      grid.querySelector("button.emoji")?.click();
    });
    show();
    return el("div", { class: "dialog-body picker" }, search, grid);
  });
}

export function confirmDelete() {
  return modal("Delete this message?", (close) => el("div", { class: "dialog-body" },
    el("p", {}, "It is deleted for everyone, and its text cannot be brought back."),
    el("div", { class: "buttons" }, el("button", { type: "button", onclick: () => close(false) }, "Cancel"),
      el("button", { class: "danger", type: "button", onclick: () => close(true) }, "Delete"))));
}

/** Makes a change to a message; its event comes back on the live stream. */
export function change(method, path, body) {
  const key = newClientMsgId();
  if (body) return api(method, path, { ...body, client_msg_id: key });
  return api(method, `${path}${path.includes("?") ? "&" : "?"}client_msg_id=${key}`);
}

/**
 * The message's toolbar: shown on hover or focus (desktop), or when held
 * (phone). In a read-only (archived) channel, only its link.
 */
export function toolbar({ mine, moderator, pinned, readOnly = false, onReact, onReply, onEdit, onDelete, onPin, onCopy }) {
  const button = (label, name, onclick) => el("button", { type: "button", class: "ghost", "aria-label": label, title: label, onclick }, icon(name));
  if (readOnly) return el("div", { class: "msg-tools", role: "toolbar", "aria-label": "Message actions" }, button("Copy link", "link", onCopy));
  return el("div", { class: "msg-tools", role: "toolbar", "aria-label": "Message actions" },
    button("Add a reaction", "smile", onReact),
    button("Reply in thread", "reply", onReply),
    mine ? button("Edit", "edit", onEdit) : null,
    mine || moderator ? button("Delete", "trash", onDelete) : null,
    button(pinned ? "Unpin" : "Pin", "pin", onPin),
    button("Copy link", "link", onCopy));
}
