// The Markdown a message may use, built as DOM nodes, never as HTML: bold,
// italic, strikethrough, inline code, fenced code blocks (with a copy
// button), block quotes, lists, and http(s) links; and the message's
// mentions as chips (outside code, as the server reads them). Anything else
// is text.

import { el } from "./dom.js";

const FENCE = /^\s*```/;
const QUOTE = /^>\s?/;
const BULLET = /^\s*[-*+]\s+/;
const NUMBER = /^\s*\d{1,9}[.)]\s+/;
// Code first, so that nothing inside a code span is read as emphasis.
const INLINE = /(`+)([^`\n]+?)\1|\*\*(?=\S)([^*\n]+?)\*\*|~~(?=\S)([^~\n]+?)~~|\*(?=\S)([^*\n]+?)\*|(?<![\p{L}\p{N}_])_(?=\S)([^_\n]+?)_(?![\p{L}\p{N}_])/gu;

// A mention as docs/protocol.md says: `@` not after a letter, digit or one
// of `_ . - + / @ \`; the name without a full stop or hyphen that ends it.
const MENTION = /(?<![\p{L}\p{N}_.\-+/@\\])@([A-Za-z0-9_.\-]+)/gu;

/**
 * A message body as nodes: blocks, each with its inline formatting.
 * `mentions`: `{ names: Map(username → { me }), channel, here }`, whom the
 * message mentions, shown as chips.
 */
export function rendered(body, mentions = null) {
  context = mentions;
  const lines = body.split("\n");
  const nodes = [];
  let text = [];
  const flush = () => {
    if (text.length) nodes.push(...inline(text.join("\n")));
    text = [];
  };
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i];
    if (FENCE.test(line)) {
      const end = lines.findIndex((l, at) => at > i && FENCE.test(l));
      if (end > i) {
        flush();
        nodes.push(codeBlock(lines.slice(i + 1, end).join("\n")));
        i = end;
        continue;
      }
    }
    const block = [QUOTE, BULLET, NUMBER].find((pattern) => pattern.test(line));
    if (!block) {
      text.push(line);
      continue;
    }
    flush();
    let last = i;
    while (last + 1 < lines.length && block.test(lines[last + 1])) last += 1;
    const items = lines.slice(i, last + 1).map((l) => l.replace(block, ""));
    if (block === QUOTE) nodes.push(el("blockquote", {}, ...inline(items.join("\n"))));
    else nodes.push(el(block === BULLET ? "ul" : "ol", {}, ...items.map((item) => el("li", {}, ...inline(item)))));
    i = last;
  }
  flush();
  return nodes;
}

function codeBlock(code) {
  const copy = el("button", { type: "button", class: "copy", "aria-label": "Copy code", onclick: async () => {
    try {
      await navigator.clipboard.writeText(code);
      copy.textContent = "Copied";
    } catch {
      copy.textContent = "Copy failed";
    }
    setTimeout(() => { copy.textContent = "Copy"; }, 1500);
  } }, "Copy");
  return el("div", { class: "code" }, el("pre", { tabindex: "0" }, el("code", {}, code)), copy);
}

/** The mentions of the message being rendered (rendering is synchronous). */
let context = null;

function inline(text) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    parts.push(...prose(text.slice(last, match.index)));
    const [, , code, strong, struck, star, underscore] = match;
    if (code !== undefined) parts.push(el("code", {}, code));
    else if (strong !== undefined) parts.push(el("strong", {}, ...prose(strong)));
    else if (struck !== undefined) parts.push(el("del", {}, ...prose(struck)));
    else parts.push(el("em", {}, ...prose(star ?? underscore)));
    last = match.index + match[0].length;
  }
  parts.push(...prose(text.slice(last)));
  return parts;
}

/** Text outside code: links, and mentions as chips. */
function prose(text) {
  return linkified(text).flatMap((part) => (typeof part === "string" ? chips(part) : [part]));
}

function chips(text) {
  if (!context || !text.includes("@")) return [text];
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(MENTION)) {
    const name = match[1].replace(/[.-]+$/, "").toLowerCase();
    const word = name === "everyone" ? "channel" : name;
    const known = (word === "channel" && context.channel) || (word === "here" && context.here) ? { me: true, broadcast: true }
      : context.names.get(name);
    if (!known) continue;
    const end = match.index + 1 + name.length;
    parts.push(text.slice(last, match.index));
    const label = known.broadcast ? `@${name}: everyone ${word === "here" ? "online" : "in the channel"}` : `@${name}${known.me ? ", you" : ""}`;
    parts.push(el("span", { class: `mention${known.me ? " me" : ""}`, title: label }, text.slice(match.index, end)));
    last = end;
  }
  parts.push(text.slice(last));
  return parts.filter((part) => part !== "");
}

/** Text as text nodes, with http(s) addresses as links. */
export function linkified(body) {
  const parts = [];
  let last = 0;
  for (const match of body.matchAll(/\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g)) {
    let url;
    try {
      url = new URL(match[0]);
    } catch {
      continue;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") continue;
    parts.push(body.slice(last, match.index), el("a", { href: url.href, target: "_blank", rel: "noopener noreferrer nofollow" }, match[0]));
    last = match.index + match[0].length;
  }
  parts.push(body.slice(last));
  return parts.filter((part) => part !== "");
}
