// One open conversation: its header, the log (history paged in on scroll up,
// live events, my messages still on their way with their state), who is
// typing, the member list, and the composer.

import { api } from "./api.js";
import { avatar, dot, el, icon, reconcile } from "./dom.js";
import { channelIcon, channelTitle, dayKey, dayLabel, displayName, fullTime, time } from "./format.js";

const PAGE = 50;
const GROUP_WITHIN_MS = 5 * 60_000; // one sender's messages this close share a header
const MAX_BODY = 4000;

const STATES = {
  sending: ["Sending…", "Waiting for the server"],
  accepted: ["Accepted", "The server has it; it is being stored"],
  stored: ["Stored", "Stored on the server"],
  failed: ["Failed", "Not sent"],
};

export class ChannelView {
  constructor({ store, connection, actions, channelId, drafts }) {
    Object.assign(this, { store, connection, actions, channelId, drafts });
    this.nodes = new Map(); // seq or client_msg_id → {node, key}
    this.loadingOlder = false;
    this.loadError = "";
    this.membersAt = -1; // the last seq the member list reflects
    this.members = null;
    this.build();
    this.loadLatest();
  }

  get channel() {
    return this.store.channels.get(this.channelId);
  }

  get log() {
    return this.store.log(this.channelId);
  }

  build() {
    this.title = el("h1", { class: "title" });
    this.topic = el("p", { class: "topic" });
    this.memberButton = el("button", { class: "ghost", "aria-expanded": "false", onclick: () => this.toggleMembers() });
    const direct = this.channel.kind === "direct";
    this.logNode = el("div", { class: "log", role: "log", tabindex: "0", "aria-label": "Messages", onscroll: () => this.onScroll() });
    this.top = el("div", { class: "log-top" });
    this.membersNode = el("aside", { class: "members", "aria-label": "Members", hidden: true });
    this.typingNode = el("div", { class: "typing", "aria-live": "polite" });
    this.input = el("textarea", { "aria-label": "Message", placeholder: `Message ${direct ? "" : this.channel.kind === "public" ? "#" : ""}${channelTitle(this.channel, this.store.user)}`, rows: "1", maxlength: String(MAX_BODY + 1000) });
    this.input.value = this.drafts.get(this.channelId) ?? "";
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener("input", () => {
      this.drafts.set(this.channelId, this.input.value);
      this.grow();
      this.showLimit();
      if (this.input.value.trim()) this.connection.typing(this.channelId);
    });
    this.limit = el("span", { class: "limit", "aria-live": "polite" });
    this.node = el("section", { class: "channel", "aria-label": "Conversation" },
      el("header", { class: "channel-head" },
        el("button", { class: "icon back", "aria-label": "Back to conversations", onclick: () => this.actions.open(null) }, icon("back")),
        el("div", { class: "heading" }, this.title, this.topic),
        el("div", { class: "tools" }, this.memberButton,
          direct ? null : el("button", { class: "ghost", onclick: () => this.actions.invite(this.channelId) }, "Invite"),
          direct ? null : el("button", { class: "ghost", onclick: () => this.actions.leave(this.channelId) }, "Leave"))),
      el("div", { class: "conversation" },
        el("div", { class: "timeline" }, this.logNode, this.typingNode,
          el("form", { class: "composer", onsubmit: (e) => { e.preventDefault(); this.submit(); } },
            this.input, this.limit, el("button", { class: "primary", type: "submit", "aria-label": "Send" }, "Send"))),
        this.membersNode));
    queueMicrotask(() => this.grow());
  }

  focus() {
    if (matchMedia("(pointer: fine)").matches) this.input.focus();
  }

  submit() {
    const body = this.input.value;
    if (!body.trim()) return;
    if ([...body.trim()].length > MAX_BODY) {
      this.showLimit();
      return;
    }
    this.connection.send(this.channelId, body);
    this.input.value = "";
    this.drafts.delete(this.channelId);
    this.grow();
    this.showLimit();
    this.stickToBottom = true;
  }

  grow() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 200)}px`;
  }

  showLimit() {
    const length = [...this.input.value.trim()].length;
    this.limit.textContent = length > MAX_BODY - 500 ? `${length} / ${MAX_BODY}` : "";
    this.limit.classList.toggle("over", length > MAX_BODY);
  }

  /** The newest page, once; then any hole left by a gap. */
  async loadLatest() {
    const log = this.log;
    if (!log) return;
    if (!log.loaded) {
      try {
        const { events } = await api("GET", `/channels/${this.channelId}/events?limit=${PAGE}`);
        for (const event of events) this.store.addEvent(event);
        log.loaded = true;
        this.loadError = "";
      } catch (error) {
        this.loadError = error.message;
      }
    }
    this.connection.fillHoles(this.channelId);
    this.stickToBottom = true;
    this.store.changed();
  }

  async loadOlder() {
    const log = this.log;
    if (this.loadingOlder || !log?.loaded || !(log.first > 1)) return;
    this.loadingOlder = true;
    this.render();
    try {
      const { events } = await api("GET", `/channels/${this.channelId}/events?before=${log.first}&limit=${PAGE}`);
      for (const event of events) this.store.addEvent(event);
      this.loadError = "";
    } catch (error) {
      this.loadError = error.message;
    } finally {
      this.loadingOlder = false;
    }
    this.store.changed();
  }

  onScroll() {
    if (this.logNode.scrollTop < 300) this.loadOlder();
  }

  toggleMembers() {
    this.membersNode.hidden = !this.membersNode.hidden;
    this.memberButton.setAttribute("aria-expanded", String(!this.membersNode.hidden));
    this.render();
  }

  /** Fetches the member list when shown and a join or leave happened since. */
  async refreshMembers() {
    const last = this.channel?.last_seq ?? 0;
    if (this.membersNode.hidden || this.membersAt === last || this.fetchingMembers) return;
    this.fetchingMembers = true;
    try {
      const { members } = await api("GET", `/channels/${this.channelId}/members`);
      for (const member of members) this.store.users.set(member.user.id, member.user);
      this.members = members;
      this.membersAt = last;
    } catch {
      // Shown as it was; tried again on the next change.
    } finally {
      this.fetchingMembers = false;
    }
    this.store.changed();
  }

  render() {
    const channel = this.channel;
    if (!channel) return;
    const me = this.store.user;
    this.title.replaceChildren(el("span", { class: "prefix" }, icon(channelIcon(channel))), channelTitle(channel, me));
    this.topic.textContent = channel.topic ?? "";
    this.topic.hidden = !channel.topic;
    this.memberButton.textContent = `Members ${channel.member_count ?? (channel.members ?? []).length}`;
    this.renderLog();
    this.renderTyping();
    this.refreshMembers();
    this.renderMembers();
    this.markRead();
  }

  renderLog() {
    const log = this.log;
    const box = this.logNode;
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
    const [oldHeight, oldFirst] = [box.scrollHeight, this.renderedFirst];

    const nodes = [this.top];
    const top = this.loadingOlder ? "older" : log.first === 1 ? "beginning" : log.loaded ? "" : "loading";
    if (this.topShows !== top + this.loadError) {
      this.topShows = top + this.loadError;
      const say = { older: "Loading older messages…", beginning: beginning(this.channel, this.store.user), loading: "Loading…" }[top];
      this.top.replaceChildren(...(say ? [say] : []), ...(this.loadError ? [el("p", { class: "error" }, this.loadError)] : []));
    }
    let previous = null;
    for (const event of log.events) {
      const at = new Date(event.created_at);
      if (!previous || dayKey(new Date(previous.created_at)) !== dayKey(at)) nodes.push(this.day(at));
      const grouped = previous?.type === "message" && event.type === "message" && previous.sender_id === event.sender_id
        && at - new Date(previous.created_at) < GROUP_WITHIN_MS && dayKey(new Date(previous.created_at)) === dayKey(at);
      nodes.push(this.eventNode(event, grouped));
      previous = event;
    }
    const last = log.events.at(-1);
    let lastDay = last ? dayKey(new Date(last.created_at)) : null;
    for (const [id, entry] of this.store.outbox) {
      if (entry.channel_id !== this.channelId) continue;
      const at = new Date(entry.created_at);
      if (dayKey(at) !== lastDay) {
        nodes.push(this.day(at));
        lastDay = dayKey(at);
      }
      nodes.push(this.pendingNode(id, entry));
    }
    reconcile(box, nodes);
    this.renderedFirst = log.first;

    if (oldFirst !== undefined && log.first !== null && log.first < oldFirst && !this.stickToBottom) {
      box.scrollTop += box.scrollHeight - oldHeight; // older messages came in above: keep my place
    } else if (atBottom || this.stickToBottom) {
      box.scrollTop = box.scrollHeight;
    }
    this.stickToBottom = false;
    // Too few to scroll: page in more until the log can scroll or begins at
    // seq 1 — but not again after a failure, which would retry every frame.
    if (log.loaded && !this.loadError && box.scrollHeight <= box.clientHeight + 300) queueMicrotask(() => this.loadOlder());
  }

  day(at) {
    return this.cached(`day ${dayKey(at)}`, dayLabel(at), () => el("div", { class: "day", role: "separator" }, el("span", {}, dayLabel(at))));
  }

  cached(id, key, make) {
    const hit = this.nodes.get(id);
    if (hit && hit.key === key) return hit.node;
    const node = make();
    this.nodes.set(id, { node, key });
    return node;
  }

  eventNode(event, grouped) {
    const sender = this.store.users.get(event.sender_id);
    const mine = event.sender_id === this.store.user.id;
    if (event.type === "member_joined" || event.type === "member_left") {
      const who = this.store.users.get(event.user_id);
      return this.cached(event.seq, displayName(who), () => el("div", { class: "note", "data-seq": event.seq },
        el("strong", {}, displayName(who)), event.type === "member_joined" ? " joined." : " left.",
        " ", stamp(new Date(event.created_at))));
    }
    if (event.type !== "message") return this.cached(event.seq, "", () => el("div", { hidden: true, "data-seq": event.seq }));
    const key = JSON.stringify([grouped, displayName(sender)]);
    return this.cached(event.seq, key, () => message({
      seq: event.seq, sender, senderId: event.sender_id, body: event.body, at: new Date(event.created_at), grouped, mine,
      state: mine ? "stored" : null,
    }));
  }

  pendingNode(id, entry) {
    const offline = this.store.status !== "online";
    const key = JSON.stringify([entry.state, entry.error ?? null, offline]);
    return this.cached(id, key, () => {
      const node = message({
        sender: this.store.user, senderId: this.store.user.id, body: entry.body, at: new Date(entry.created_at),
        grouped: false, mine: true, state: entry.state, clientMsgId: id, offline, error: entry.error,
      });
      if (entry.state === "failed") {
        node.querySelector(".content").append(el("div", { class: "actions" },
          el("button", { class: "link", onclick: () => this.connection.retry(id) }, "Retry"),
          el("button", { class: "link", onclick: () => this.connection.discard(id) }, "Discard")));
      }
      return node;
    });
  }

  renderTyping() {
    const names = this.store.typingIn(this.channelId).map((id) => displayName(this.store.users.get(id)));
    this.typingNode.textContent = names.length === 0 ? "" : names.length === 1 ? `${names[0]} is typing…`
      : names.length <= 3 ? `${names.slice(0, -1).join(", ")} and ${names.at(-1)} are typing…` : "Several people are typing…";
  }

  renderMembers() {
    if (this.membersNode.hidden) return;
    const channel = this.channel;
    const members = this.members ?? (channel.members ?? []).map((user) => ({ user, role: "member" }));
    const online = (m) => this.store.online.has(m.user.id) || m.user.id === this.store.user.id;
    const sorted = [...members].sort((a, b) => online(b) - online(a) || displayName(a.user).localeCompare(displayName(b.user)));
    this.membersNode.replaceChildren(el("h2", {}, `Members (${members.length})`),
      el("ul", { class: "list" }, sorted.map((m) => el("li", { class: "member" }, avatar(m.user, m.user.id), dot(online(m)),
        el("span", { class: "name" }, displayName(m.user)), m.role === "owner" ? el("small", { class: "role" }, "owner") : null))));
  }

  /** Everything shown is read while the page is visible. */
  markRead() {
    const channel = this.channel;
    const last = this.log?.last;
    if (document.visibilityState !== "visible" || !last || last <= (channel.last_read_seq ?? 0)) return;
    this.store.markRead(this.channelId, last);
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => this.connection.read(this.channelId, last), 300);
    this.actions.unreadChanged();
  }
}

function beginning(channel, me) {
  return el("div", { class: "beginning" }, el("h2", {}, icon(channelIcon(channel)), channelTitle(channel, me)),
    el("p", {}, channel.kind === "direct" ? "This is the beginning of your conversation." : "This is the very beginning of the channel."));
}

function stamp(at) {
  return el("time", { datetime: at.toISOString(), title: fullTime(at) }, time(at));
}

function message({ seq, sender, senderId, body, at, grouped, mine, state, clientMsgId, offline, error }) {
  const [label, title] = STATES[state] ?? [];
  const stateNode = state ? el("span", { class: `state ${state}`, title: offline && state === "sending" ? "Will be sent when the connection is back" : error ?? title },
    state === "stored" && seq ? "✓" : offline && state === "sending" ? "Waiting for connection…" : label) : null;
  return el("article", {
    class: `msg${grouped ? " grouped" : ""}${mine ? " mine" : ""}${seq ? "" : " pending"}`,
    "data-seq": seq ?? null, "data-state": state, "data-client-msg-id": clientMsgId ?? null,
  },
  grouped ? el("span", { class: "gutter" }, stamp(at)) : avatar(sender, senderId),
  el("div", { class: "content" },
    grouped ? null : el("header", {}, el("span", { class: "who" }, displayName(sender)), stamp(at)),
    el("div", { class: "body" }, linkified(body))),
  stateNode);
}

/** The body as text nodes, with http(s) addresses as links; nothing is parsed as HTML. */
function linkified(body) {
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
  return parts;
}
