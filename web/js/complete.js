// The @ autocomplete of a composer: typing `@` and the start of a name (after
// a space, or at the start) lists the channel's members whose username or a
// word of whose display name starts so, and @channel and @here where they
// may be used. Arrows move, Enter or Tab picks, Escape closes; a click picks
// too. The textarea keeps the focus throughout (aria-activedescendant).

import { el } from "./dom.js";
import { displayName } from "./format.js";

const SHOWN = 8; // people listed at most
const FRESH_MS = 30_000; // how long the member list is trusted

let made = 0;

/**
 * Attaches the autocomplete to `input`; returns the list's node, to be put
 * beside it. `members()`: the channel's members (users); `broadcast()`:
 * whether @channel and @here are offered.
 */
export function completeMentions(input, { members, broadcast, me }) {
  made += 1;
  const id = `mention-options-${made}`;
  const list = el("ul", { class: "completions", role: "listbox", id, hidden: true, "aria-label": "People to mention" });
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", id);
  let options = [];
  let active = 0;
  let start = -1;
  let people = null;
  let fetched = 0;

  /** The `@name` being typed before the caret, if any. */
  const typed = () => {
    const before = input.value.slice(0, input.selectionStart);
    const match = /(?:^|[\s(])@([A-Za-z0-9_.-]*)$/.exec(before);
    return match ? { start: before.length - match[1].length - 1, text: match[1].toLowerCase() } : null;
  };

  async function refresh() {
    if (!typed()) return close();
    if (!people || Date.now() - fetched > FRESH_MS) {
      fetched = Date.now();
      people = await members().catch(() => people ?? []);
    }
    const now = typed(); // the text may have moved on while the list came
    if (!now) return close();
    start = now.start;
    const starts = (u) => u.username.startsWith(now.text)
      || displayName(u).toLowerCase().split(/\s+/).some((word) => word.startsWith(now.text));
    const words = broadcast() ? [["channel", "Everyone in the channel"], ["here", "Everyone online now"]] : [];
    options = [
      ...people.filter((u) => u.id !== me().id && starts(u)).slice(0, SHOWN).map((u) => ({ name: u.username, label: displayName(u) })),
      ...words.filter(([word]) => word.startsWith(now.text)).map(([name, label]) => ({ name, label })),
    ];
    if (!options.length) return close();
    active = Math.min(active, options.length - 1);
    draw();
  }

  function draw() {
    list.replaceChildren(...options.map((option, i) => el("li", {
      id: `${id}-${i}`, role: "option", "aria-selected": String(i === active),
      onmousedown: (e) => {
        e.preventDefault(); // the textarea keeps the focus
        pick(i);
      },
    }, el("span", { class: "handle" }, `@${option.name}`), " ", el("span", { class: "label", dir: "auto" }, option.label))));
    list.hidden = false;
    input.setAttribute("aria-activedescendant", `${id}-${active}`);
  }

  function close() {
    options = [];
    active = 0;
    list.hidden = true;
    input.removeAttribute("aria-activedescendant");
  }

  function pick(i) {
    const option = options[i];
    input.setRangeText(`@${option.name} `, start, input.selectionStart, "end");
    close();
    input.dispatchEvent(new Event("input"));
  }

  input.addEventListener("input", refresh);
  input.addEventListener("blur", close);
  input.addEventListener("keydown", (e) => {
    if (list.hidden) return;
    const step = { ArrowDown: 1, ArrowUp: -1 }[e.key];
    const picks = (e.key === "Enter" || e.key === "Tab") && !e.shiftKey && !e.isComposing;
    if (!step && !picks && e.key !== "Escape") return;
    // Before the composer's own keys: Enter picks here rather than sends.
    e.preventDefault();
    e.stopImmediatePropagation();
    if (step) {
      active = (active + step + options.length) % options.length;
      draw();
    } else if (picks) pick(active);
    else close();
  });
  return list;
}
