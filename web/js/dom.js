// DOM helpers: elements built from data, user text always as text nodes,
// never as HTML; dialogs on the native <dialog> (keyboard and Esc for free).

/** `el("button", {class: "x", onclick: f}, "text", child)`: a new element. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/**
 * Makes `parent`'s children exactly `nodes`, touching only what differs from
 * the first difference on: a live message appends one node, not the log.
 */
export function reconcile(parent, nodes) {
  const current = parent.children;
  let same = 0;
  while (same < nodes.length && same < current.length && current[same] === nodes[same]) same += 1;
  while (current.length > same) current[current.length - 1].remove();
  if (same < nodes.length) parent.append(...nodes.slice(same));
}

/**
 * Opens a modal dialog; resolves with what `build(close)` passes to close, or
 * null on Esc. `wide`: room for a table of things (the admin's, on a phone
 * the whole screen).
 */
export function modal(title, build, { wide = false } = {}) {
  return new Promise((resolve) => {
    const dialog = el("dialog", { "aria-label": title, class: wide ? "wide" : null });
    let result = null;
    const close = (value = null) => {
      result = value;
      dialog.close();
    };
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(result);
    });
    dialog.append(
      el("header", {}, el("h2", {}, title), el("button", { class: "icon", type: "button", "aria-label": "Close", onclick: () => close() }, icon("close"))),
      build(close),
    );
    document.body.append(dialog);
    dialog.showModal();
    // Typing goes to the first field, not to the close button (where Enter would close it).
    const first = dialog.querySelector(".dialog-body :is(input:not([type=radio]), select, textarea), .dialog-body button.primary");
    first?.focus();
  });
}

/** A round badge with the user's initial, its colour derived from the id. */
export function avatar(user, id) {
  const name = user?.display_name || user?.username || "?";
  let hash = 0;
  for (const ch of id ?? name) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return el("span", { class: `avatar hue-${hash % 8}`, "aria-hidden": "true" }, [...name][0].toUpperCase());
}

/** A presence dot: online, or offline. */
export function dot(online) {
  return el("span", { class: `dot${online ? " online" : ""}`, title: online ? "online" : "offline", role: "img", "aria-label": online ? "online" : "offline" });
}

const SVG = "http://www.w3.org/2000/svg";
const ICONS = {
  hash: "M9 3 7 21M17 3l-2 18M4 8.5h17M3 15.5h17",
  lock: "M6 10.5h12v10H6zM8.5 10.5V7a3.5 3.5 0 0 1 7 0v3.5",
  at: "M16 12a4 4 0 1 1-1.2-2.85M16 8v5.5a2.5 2.5 0 0 0 5 0V12a9 9 0 1 0-3.5 7.1",
  plus: "M12 5v14M5 12h14",
  close: "M6 6l12 12M18 6 6 18",
  back: "M15 5l-7 7 7 7",
  people: "M9 11a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7zM2.5 20a6.5 6.5 0 0 1 13 0M16 4.3a3.5 3.5 0 0 1 0 6.4M18 14a6.5 6.5 0 0 1 3.5 6",
  star: "M12 3.5l2.6 5.3 5.9.9-4.3 4.1 1 5.8-5.2-2.7-5.2 2.7 1-5.8-4.3-4.1 5.9-.9z",
  invite: "M9 11a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7zM2.5 20a6.5 6.5 0 0 1 13 0M19 8v6M16 11h6",
  leave: "M14 4h5v16h-5M10 8l-4 4 4 4M6 12h10",
  up: "M12 19V5M6 11l6-6 6 6",
  down: "M12 5v14M6 13l6 6 6-6",
  search: "M10.5 17a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13zM15.5 15.5 20 20",
  smile: "M12 20.5a8.5 8.5 0 1 0 0-17 8.5 8.5 0 0 0 0 17zM8.5 14a4 4 0 0 0 7 0M9 9.5h.01M15 9.5h.01",
  reply: "M10 6 4 12l6 6M4 12h10a6 6 0 0 1 6 6",
  edit: "M4 20h4L19 9l-4-4L4 16zM13.5 6.5l4 4",
  trash: "M5 7h14M10 7V4.5h4V7M7 7l1 13h8l1-13M10.5 11v5M13.5 11v5",
  pin: "M9 4h6M10 4v6l-3 4h10l-3-4V4M12 14v6",
  bell: "M6 16.5h12l-1.6-2.2V10a4.4 4.4 0 0 0-8.8 0v4.3zM10 19.5a2 2 0 0 0 4 0",
  "bell-off": "M6 16.5h12l-1.6-2.2V10a4.4 4.4 0 0 0-8.8 0v4.3zM10 19.5a2 2 0 0 0 4 0M4 4l16 16",
  shield: "M12 3 5 6v5.5c0 4.3 3 7.9 7 9.5 4-1.6 7-5.2 7-9.5V6zM9 12l2 2 4-4",
  settings: "M4 7h9M17 7h3M4 17h3M11 17h9M15 5v4M9 15v4",
  archive: "M4 5h16v4H4zM5.5 9v10h13V9M10 13h4",
  link: "M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7L11.5 6.8M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1.5-1.5",
};

/** A line icon drawn as SVG (no icon font, nothing fetched). */
export function icon(name) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", `icon-${name} svg-icon`);
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}
