// Views: plain DOM, user text always inserted as text (textContent), never as HTML.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function authView({ onSubmit, error, mode, onSwitch, invite }) {
  const username = el("input", { name: "username", autocomplete: "username", required: true, "aria-label": "Username" });
  const password = el("input", {
    name: "password", type: "password", required: true, "aria-label": "Password",
    autocomplete: mode === "register" ? "new-password" : "current-password",
  });
  const form = el(
    "form",
    { class: "auth", onsubmit: (e) => { e.preventDefault(); onSubmit(username.value, password.value); } },
    el("h1", {}, "Parley"),
    invite ? el("p", {}, `You are invited to ${invite.channel.name || "a conversation"}.`) : null,
    el("label", {}, "Username", username),
    el("label", {}, "Password", password),
    el("p", { class: "error", role: "alert" }, error ?? ""),
    el("button", { class: "primary", type: "submit" }, mode === "register" ? "Create account" : "Sign in"),
    el("button", { type: "button", onclick: onSwitch }, mode === "register" ? "I have an account" : "Create an account"),
  );
  return form;
}

function channelLabel(channel, me) {
  if (channel.kind === "direct") {
    const others = (channel.members ?? []).filter((u) => u.id !== me?.id);
    return others.map((u) => u.display_name).join(", ") || "Direct message";
  }
  return `${channel.kind === "private" ? "🔒 " : "# "}${channel.name}`;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", year: "numeric", month: "long", day: "numeric" });

export function shellView({ store, current, status, actions }) {
  const me = store.user;
  const channels = [...store.channels.values()].sort((a, b) => channelLabel(a, me).localeCompare(channelLabel(b, me)));
  const sidebar = el(
    "nav",
    { class: "sidebar", "aria-label": "Channels" },
    el("header", {}, el("strong", {}, me?.display_name ?? ""), el("button", { onclick: actions.signOut }, "Sign out")),
    el("ul", {}, channels.map((c) => {
      const unread = c.id === current ? 0 : c.unread_count ?? 0;
      return el("li", {}, el("button", { "aria-current": c.id === current ? "true" : "false", onclick: () => actions.open(c.id) },
        el("span", {}, channelLabel(c, me)), unread > 0 ? el("span", { class: "badge" }, unread) : null));
    })),
    el("header", {}, el("button", { onclick: actions.createChannel }, "New channel"), el("button", { onclick: actions.browse }, "Browse")),
  );
  const channel = current ? store.channels.get(current) : null;
  const main = channel ? channelView({ store, channel, me, actions }) : el("section", { class: "channel" }, el("p", { class: "loading" }, "Pick a channel."));
  return el("div", { class: `shell${channel ? " open-channel" : ""}` }, sidebar, main, el("div", { class: "status", role: "status" }, status === "online" ? "" : status));
}

function channelView({ store, channel, me, actions }) {
  const log = el("div", { class: "log", tabindex: "0", "aria-label": "Messages" });
  let lastDay = null;
  for (const event of store.sortedEvents(channel.id)) {
    const at = new Date(event.created_at);
    const day = dayFormat.format(at);
    if (day !== lastDay) {
      log.append(el("div", { class: "day" }, day));
      lastDay = day;
    }
    if (event.type === "message") {
      log.append(el("div", { class: "msg" }, el("span", { class: "who" }, event.sender_id === me?.id ? me.display_name : event.sender_id.slice(-6)),
        el("time", { datetime: event.created_at }, timeFormat.format(at)), el("div", { class: "body" }, event.body)));
    } else if (event.type === "member_joined" || event.type === "member_left") {
      log.append(el("div", { class: "msg note" }, event.type === "member_joined" ? "Someone joined." : "Someone left."));
    }
  }
  for (const [id, pending] of store.pending) {
    if (pending.channel_id !== channel.id) continue;
    log.append(el("div", { class: `msg ${pending.state === "failed" ? "failed" : "pending"}` },
      el("div", { class: "body" }, pending.body), el("small", {}, pending.state),
      pending.state === "failed" ? el("button", { onclick: () => actions.retry(id) }, "Retry") : null));
  }
  const input = el("textarea", { "aria-label": "Message", placeholder: "Message", maxlength: "4000" });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      if (input.value.trim()) actions.send(channel.id, input.value);
      input.value = "";
    }
  });
  queueMicrotask(() => { log.scrollTop = log.scrollHeight; });
  return el("section", { class: "channel" },
    el("header", {}, el("button", { onclick: () => actions.open(null), "aria-label": "Back" }, "←"), " ", channelLabel(channel, me),
      channel.kind !== "direct" ? el("button", { onclick: () => actions.invite(channel.id) }, "Invite") : null),
    log, el("div", { class: "composer" }, input));
}
