// One open conversation: its header, the log (history paged in on scroll up,
// live events, my messages still on their way with their state, a "New
// messages" line where my unread starts, a line for each change to the
// channel, messages of people I block collapsed), who is typing, the member
// list and the composer — or, in an archived channel, a read-only notice.
// What was on screen while the window had focus is read; the rest stays
// unread, with a button down to it.

import { change, confirmDelete, pickEmoji, toolbar } from "./actions.js";
import { api } from "./api.js";
import { sentence } from "./auth.js";
import { completeMentions } from "./complete.js";
import { avatar, el, icon, reconcile } from "./dom.js";
import { channelIcon, channelTitle, dayKey, dayLabel, displayName, fullTime, plural, time } from "./format.js";
import { rendered } from "./markdown.js";
import { mayModerate, MembersPanel, roleIn } from "./members.js";
import { setArchived } from "./moderation.js";

/** Past this many members, only a channel's owner and admins may say @channel or @here (as the server rules). */
const BROADCAST_MEMBERS = 50;

const PAGE = 50;
const JUMP_PAGE = 500; // paging back to a linked or first unread message
const GROUP_WITHIN_MS = 5 * 60_000; // one sender's messages this close share a header
const MAX_BODY = 4000;
const NEAR_BOTTOM = 60; // px: closer than this to the end counts as at the end

const STATES = {
  sending: ["Sending…", "Waiting for the server"],
  accepted: ["Accepted", "The server has it; it is being stored"],
  stored: ["Sent", "Stored on the server"],
  failed: ["Failed", "Not sent"],
};

export class ChannelView {
  constructor({ store, connection, actions, channelId, seq = null }) {
    Object.assign(this, { store, connection, actions, channelId });
    this.nodes = new Map(); // seq or client_msg_id → {node, key}
    this.loadingOlder = false;
    this.loadError = "";
    this.unhidden = new Set(); // seqs of messages of people I block that I chose to show
    // Where my unread began when I opened it: the "New messages" line stays there.
    this.unreadAtOpen = this.channel.unread_count ?? 0;
    this.unreadAfter = this.unreadAtOpen > 0 ? this.channel.last_read_seq ?? 0 : null;
    this.dividerSeen = false;
    this.status = store.status;
    this.atBottom = true;
    this.build();
    this.loadLatest().then(() => {
      if (seq) return this.jumpTo(seq);
      // Up to the first unread when it is a page away; beyond, a button leads there.
      const behind = (this.channel?.last_seq ?? 0) - (this.unreadAfter ?? Infinity);
      if (behind > 0) return this.showFirstUnread(behind <= JUMP_PAGE);
    });
  }

  get channel() {
    return this.store.channels.get(this.channelId);
  }

  get log() {
    return this.store.log(this.channelId);
  }

  build() {
    const channel = this.channel;
    const direct = channel.kind === "direct";
    const tool = (name, label, onclick, attrs = {}) => el("button", { class: "ghost tool", "aria-label": label, title: label, onclick, ...attrs },
      icon(name), el("span", { class: "label" }, label));
    this.title = el("h1", { class: "title" });
    this.topic = el("p", { class: "topic" });
    this.memberCount = el("span", { class: "count" });
    this.memberButton = el("button", { class: "ghost tool", "aria-expanded": "false", onclick: () => this.toggleMembers() },
      icon("people"), el("span", { class: "label" }, "Members"), " ", this.memberCount);
    this.favourite = tool("star", "Favourite", () => this.actions.toggleFavourite(this.channelId), { "aria-pressed": "false" });
    this.logNode = el("div", { class: "log", role: "log", tabindex: "0", "aria-label": "Messages", onscroll: () => this.onScroll() });
    this.top = el("div", { class: "log-top" });
    this.divider = el("div", { class: "new-line", role: "separator", "aria-label": "New messages" }, el("span", {}, "New messages"));
    this.jumpUp = el("button", { class: "jump up", hidden: true, onclick: () => this.showFirstUnread(true) });
    this.jumpDown = el("button", { class: "jump down", hidden: true, onclick: () => this.toBottom() });
    this.membersPanel = new MembersPanel({ store: this.store, actions: this.actions, channelId: this.channelId });
    this.membersNode = this.membersPanel.node;
    this.settingsButton = direct ? null : tool("settings", "Channel settings", () => this.actions.settings(this.channelId), { "aria-haspopup": "dialog" });
    this.inviteButton = direct ? null : tool("invite", "Invite", () => this.actions.invite(this.channelId));
    this.unarchiveButton = el("button", { type: "button", onclick: () => this.unarchive() }, "Unarchive");
    this.readOnly = el("div", { class: "read-only", role: "status", hidden: true },
      icon("archive"), el("span", { class: "grow" }, "This channel is archived: it is read-only."), this.unarchiveButton);
    this.threadNode = el("aside", { class: "thread", "aria-label": "Thread", hidden: true });
    this.threadNode.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.closeThread();
    });
    this.thread = null; // {root: seq, replies: [event], error}
    this.editing = null; // the seq of my message being edited
    this.changeError = el("p", { class: "error change-error", role: "alert" });
    this.typingNode = el("div", { class: "typing", "aria-live": "polite" });
    this.input = el("textarea", { "aria-label": "Message", placeholder: `Message ${direct ? "" : channel.kind === "public" ? "#" : ""}${channelTitle(channel, this.store.user)}`, rows: "1" });
    this.input.value = this.store.drafts.get(this.channelId) ?? "";
    this.completions = this.completing(this.input);
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.submit();
      }
      if (e.key === "ArrowUp" && !this.input.value) {
        const last = this.log.events.findLast((m) => m.type === "message" && !m.deleted && m.sender_id === this.store.user.id);
        if (last) {
          e.preventDefault();
          this.edit(last.seq);
        }
      }
    });
    this.input.addEventListener("input", () => {
      this.store.setDraft(this.channelId, this.input.value);
      this.grow();
      this.showLimit();
      if (this.input.value.trim()) this.connection.typing(this.channelId);
    });
    this.limit = el("span", { class: "limit", "aria-live": "polite" });
    this.composeError = el("p", { class: "error compose-error", role: "alert" });
    this.node = el("section", { class: "channel", "aria-label": "Conversation" },
      el("header", { class: "channel-head" },
        el("button", { class: "icon back", "aria-label": "Back to conversations", onclick: () => this.actions.home() }, icon("back")),
        el("div", { class: "heading" }, this.title, this.topic),
        el("div", { class: "tools" }, this.favourite, this.memberButton,
          tool("bell", "Notifications", () => this.actions.preferences(this.channelId)),
          this.inviteButton, this.settingsButton,
          direct ? null : tool("leave", "Leave", () => this.actions.leave(this.channelId)))),
      el("div", { class: "conversation" },
        el("div", { class: "timeline" },
          el("div", { class: "log-wrap" }, this.logNode, this.jumpUp, this.jumpDown),
          this.typingNode,
          this.composer = el("form", { class: "composer", onsubmit: (e) => { e.preventDefault(); this.submit(); } },
            this.input, this.completions, this.limit, el("button", { class: "primary", type: "submit", "aria-label": "Send" }, "Send")),
          this.readOnly, this.composeError, this.changeError),
        this.membersNode, this.threadNode));
    // A narrower log (the member list opened, a rotated phone) rewraps its
    // lines: whoever was reading the newest message still is.
    new ResizeObserver(() => {
      if (this.atBottom) this.logNode.scrollTop = this.logNode.scrollHeight;
    }).observe(this.logNode);
    queueMicrotask(() => this.grow());
  }

  focus() {
    if (matchMedia("(pointer: fine)").matches) this.input.focus();
  }

  submit() {
    const body = this.input.value;
    if (!body.trim()) return;
    const length = [...body.trim()].length;
    if (length > MAX_BODY) {
      this.composeError.textContent = `This message is ${length.toLocaleString()} characters long; the limit is ${MAX_BODY.toLocaleString()}. Shorten it or split it in two.`;
      return;
    }
    this.connection.send(this.channelId, body);
    this.input.value = "";
    this.store.setDraft(this.channelId, "");
    this.grow();
    this.showLimit();
    this.toBottom();
  }

  grow() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 200)}px`;
  }

  showLimit() {
    const length = [...this.input.value.trim()].length;
    this.limit.textContent = length > MAX_BODY - 500 ? `${length} / ${MAX_BODY}` : "";
    this.limit.classList.toggle("over", length > MAX_BODY);
    if (length <= MAX_BODY) this.composeError.textContent = "";
  }

  /** The newest page, once (again after a failure, when the connection is back); then any hole left by a gap. */
  async loadLatest() {
    const log = this.log;
    if (!log || this.loadingLatest) return;
    if (!log.loaded) {
      this.loadingLatest = true;
      this.loadError = "";
      this.render();
      try {
        const { events } = await api("GET", `/channels/${this.channelId}/events?limit=${PAGE}`);
        for (const event of events) this.store.addEvent(event);
        log.loaded = true;
      } catch (error) {
        this.loadError = error.message;
      } finally {
        this.loadingLatest = false;
      }
    }
    if (log.loaded) this.connection.fillHoles(this.channelId);
    this.stickToBottom = this.unreadAfter === null;
    this.store.changed();
  }

  async loadOlder(limit = PAGE) {
    const log = this.log;
    if (this.loadingOlder || !log?.loaded || !(log.first > 1)) return;
    this.loadingOlder = true;
    this.render();
    try {
      const { events } = await api("GET", `/channels/${this.channelId}/events?before=${log.first}&limit=${limit}`);
      for (const event of events) this.store.addEvent(event);
      this.loadError = "";
    } catch (error) {
      this.loadError = error.message;
    } finally {
      this.loadingOlder = false;
    }
    this.store.changed();
  }

  /** Pages back until `seq` is held; false if it cannot be. */
  async reach(seq) {
    while (this.log?.loaded && this.log.first > seq && !this.loadError) {
      const before = this.log.first;
      await this.loadOlder(JUMP_PAGE);
      if (this.log?.first === before) break;
    }
    return Boolean(this.log?.seqs.has(seq));
  }

  /** Shows the message `seq` (a link to it was opened), marked for a moment. */
  async jumpTo(seq) {
    if (!(await this.reach(seq))) return;
    this.render();
    const node = this.logNode.querySelector(`[data-seq="${seq}"]`);
    if (!node) return;
    this.stickToBottom = false;
    node.scrollIntoView({ block: "center" });
    node.classList.add("highlight");
    setTimeout(() => node.classList.remove("highlight"), 2500);
    this.onScroll();
  }

  /** Scrolls to the "New messages" line, paging back to it first when asked. */
  async showFirstUnread(page = false) {
    if (this.unreadAfter === null) return;
    if (page) await this.reach(this.unreadAfter + 1);
    this.render();
    if (this.divider.isConnected) {
      this.logNode.scrollTop = Math.max(0, this.divider.offsetTop - 40);
      this.onScroll();
    }
  }

  toBottom() {
    this.stickToBottom = true;
    this.atBottom = true;
    this.render();
  }

  onScroll() {
    const box = this.logNode;
    this.atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < NEAR_BOTTOM;
    if (box.scrollTop < 300) this.loadOlder();
    this.markRead();
    this.renderJumps();
  }

  toggleMembers() {
    this.membersNode.hidden = !this.membersNode.hidden;
    this.memberButton.setAttribute("aria-expanded", String(!this.membersNode.hidden));
    this.render();
  }

  get members() {
    return this.membersPanel.members;
  }

  /** Whether I may change the channel itself: its owner or an admin, or a server admin. */
  mayModerate() {
    return mayModerate(this.store, this.channel, this.members);
  }

  async unarchive() {
    this.changeError.textContent = "";
    try {
      if (await setArchived(this.channel, false)) {
        this.store.changed();
        this.render();
        return this.input.focus();
      }
    } catch (error) {
      this.changeError.textContent = sentence(error.message);
    }
    this.unarchiveButton.focus();
  }

  render() {
    const channel = this.channel;
    if (!channel) return;
    const me = this.store.user;
    // Back online after an outage: what failed to load is loaded now.
    if (this.status !== this.store.status) {
      this.status = this.store.status;
      if (this.status === "online" && (!this.log.loaded || this.loadError)) {
        this.loadError = "";
        this.loadLatest();
      }
    }
    const archived = Boolean(channel.archived);
    this.title.replaceChildren(...[el("span", { class: "prefix" }, icon(channelIcon(channel))), el("bdi", {}, channelTitle(channel, me)),
      archived ? el("span", { class: "tag" }, "Archived") : null].filter(Boolean));
    this.input.placeholder = `Message ${channel.kind === "public" ? "#" : ""}${channelTitle(channel, me)}`;
    // Archived: read-only, the notice in the composer's place (my draft kept for later).
    if (this.composer.hidden !== archived) {
      const typing = this.composer.contains(document.activeElement);
      this.composer.hidden = archived;
      this.readOnly.hidden = !archived;
      if (typing) this.logNode.focus();
    }
    this.unarchiveButton.hidden = !this.mayModerate();
    if (this.inviteButton) this.inviteButton.hidden = archived;
    if (this.settingsButton) this.settingsButton.hidden = !this.mayModerate();
    this.topic.textContent = channel.topic ?? "";
    this.topic.hidden = !channel.topic;
    this.memberCount.textContent = String(channel.member_count ?? (channel.members ?? []).length);
    this.memberButton.setAttribute("aria-label", `Members ${this.memberCount.textContent}`);
    this.favourite.setAttribute("aria-pressed", String(this.actions.isFavourite(this.channelId)));
    this.renderLog();
    this.renderTyping();
    this.membersPanel.refresh();
    this.membersPanel.render();
    this.renderThread();
    this.markRead();
    this.renderJumps();
  }

  renderLog() {
    const log = this.log;
    const box = this.logNode;
    const [oldHeight, oldFirst] = [box.scrollHeight, this.renderedFirst];

    const nodes = [this.top];
    const top = this.loadError ? "error" : this.loadingOlder ? "older" : log.first === 1 ? "beginning" : log.loaded ? "" : "loading";
    // Built again when it changes, a rename included.
    const shows = JSON.stringify([top, this.loadError, top === "beginning" ? channelTitle(this.channel, this.store.user) : ""]);
    if (this.topShows !== shows) {
      this.topShows = shows;
      const say = { older: "Loading older messages…", beginning: beginning(this.channel, this.store.user), loading: "Loading…" }[top];
      this.top.replaceChildren(...(say ? [say] : []), ...(this.loadError ? [el("p", { class: "error" }, this.loadError),
        el("button", { onclick: () => { this.loadError = ""; return this.log.loaded ? this.loadOlder() : this.loadLatest(); } }, "Retry")] : []));
    }
    let previous = null;
    // The line goes where my unread began only if that message is held.
    let divided = this.unreadAfter === null || log.first === null || log.first > this.unreadAfter + 1;
    for (const event of log.events) {
      const at = new Date(event.created_at);
      if (!previous || dayKey(new Date(previous.created_at)) !== dayKey(at)) nodes.push(this.day(at));
      const firstUnread = !divided && this.unreadAfter !== null && event.seq > this.unreadAfter
        && event.type === "message" && event.sender_id !== this.store.user.id;
      if (firstUnread) {
        nodes.push(this.divider);
        divided = true;
      }
      const grouped = !firstUnread && previous?.type === "message" && event.type === "message" && previous.sender_id === event.sender_id
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
    } else if (this.atBottom || this.stickToBottom) {
      box.scrollTop = box.scrollHeight;
    }
    this.stickToBottom = false;
    // Too few to scroll: page in more until the log can scroll or begins at
    // seq 1 — but not again after a failure, which would retry every frame.
    if (log.loaded && !this.loadError && box.scrollHeight <= box.clientHeight + 300) queueMicrotask(() => this.loadOlder());
  }

  /** Up to where my unread began until I have seen that line; down to the newest when scrolled up. */
  renderJumps() {
    const box = this.logNode;
    const line = this.divider.isConnected ? this.divider.offsetTop : null;
    if (line !== null && line >= box.scrollTop && line < box.scrollTop + box.clientHeight) this.dividerSeen = true;
    const up = this.unreadAfter !== null && !this.dividerSeen && (line === null || line < box.scrollTop);
    this.jumpUp.hidden = !up;
    if (up) this.jumpUp.replaceChildren(icon("up"), `${plural(this.unreadAtOpen, "new message")} since you last read`);
    const unread = this.channel.unread_count ?? 0;
    this.jumpDown.hidden = this.atBottom || up;
    if (!this.jumpDown.hidden) this.jumpDown.replaceChildren(icon("down"), unread > 0 ? plural(unread, "new message") : "Jump to the newest");
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

  /** The @ autocomplete of a composer of this channel. */
  completing(box) {
    const broadcast = () => this.channel.kind !== "direct"
      && ((this.channel.member_count ?? 0) <= BROADCAST_MEMBERS || ["owner", "admin"].includes(this.channel.role));
    const members = async () => (await api("GET", `/channels/${this.channelId}/members`)).members.map((m) => m.user);
    return completeMentions(box, { members, broadcast, me: () => this.store.user });
  }

  /** Whom a message mentions, by the usernames its text uses (those known yet). */
  mentionsIn(event) {
    const names = new Map();
    for (const id of event.mentions ?? []) {
      const user = this.store.users.get(id) ?? this.store.lookupUser(id);
      if (user) names.set(user.username, { me: id === this.store.user.id });
    }
    const me = (event.mentions ?? []).includes(this.store.user.id);
    return { names, channel: Boolean(event.mentions_channel), here: Boolean(event.mentions_here), me };
  }

  eventNode(event, grouped) {
    const sender = this.store.users.get(event.sender_id);
    const mine = event.sender_id === this.store.user.id;
    if (event.type === "member_joined" || event.type === "member_left") {
      const who = this.store.users.get(event.user_id);
      const founded = event.seq === 1 && event.type === "member_joined";
      const what = event.type === "member_left" ? " left." : !founded ? " joined."
        : this.channel.kind === "direct" ? " started this conversation." : " created this channel.";
      return this.cached(event.seq, displayName(who), () => el("div", { class: "note", "data-seq": event.seq },
        el("strong", { dir: "auto" }, displayName(who)), what, " ", stamp(new Date(event.created_at))));
    }
    const said = changeLine(event, (id) => displayName(this.store.users.get(id)));
    if (said) {
      return this.cached(event.seq, JSON.stringify(said), () => el("div", { class: "note", "data-seq": event.seq },
        ...said.map((part) => (typeof part === "string" ? part : el(part.tag, { dir: "auto" }, part.text))), " ", stamp(new Date(event.created_at))));
    }
    if (event.type !== "message") return this.cached(event.seq, "", () => el("div", { hidden: true, "data-seq": event.seq }));
    // Someone I block: collapsed, unless I chose to show this one.
    const blocked = !mine && !event.deleted && this.store.blocked.has(event.sender_id);
    if (blocked && !this.unhidden.has(event.seq)) return this.cached(event.seq, "collapsed", () => collapsed(event.seq, () => this.showBlocked(event.seq, true)));
    const archived = Boolean(this.channel.archived);
    const editing = this.editing === event.seq;
    // Built again when a reactor's name arrives.
    const named = this.names((event.reactions ?? []).flatMap((r) => r.users ?? [])).length;
    const mentions = this.mentionsIn(event);
    const key = JSON.stringify([grouped && !blocked, displayName(sender), event.changed_seq ?? 0, editing, this.moderator(), named, mentions.names.size, archived, blocked]);
    return this.cached(event.seq, key, () => {
      const node = message({
        seq: event.seq, sender, senderId: event.sender_id, body: event.body ?? "", at: new Date(event.created_at), grouped: grouped && !blocked, mine,
        mentions, forMe: this.channel.kind !== "direct" && !mine && (mentions.channel || mentions.here || mentions.me),
        link: this.actions.link(this.channelId, event.seq), open: (e) => this.openLink(e, event.seq),
        changed: event, toggle: archived ? null : (emoji, me) => this.react(event.seq, emoji, !me), openThread: (root = event.seq) => this.openThread(root),
        names: (ids) => this.names(ids),
      });
      if (blocked) {
        node.querySelector(".content").append(el("p", { class: "blocked-note" }, "From someone you blocked. ",
          el("button", { type: "button", class: "link", "data-hide": "", onclick: () => this.showBlocked(event.seq, false) }, "Hide it")));
      }
      if (event.deleted) return node;
      if (editing) node.querySelector(".body").replaceWith(this.editor(event));
      node.querySelector(".content").prepend(toolbar({
        mine, moderator: this.moderator(), pinned: event.pinned, readOnly: archived,
        onReact: async () => {
          const emoji = await pickEmoji();
          if (emoji) this.react(event.seq, emoji, true);
        },
        onReply: () => this.openThread(event.reply_to_seq ?? event.seq),
        onEdit: () => this.edit(event.seq),
        onDelete: () => this.remove(event.seq),
        onPin: () => this.act(event.pinned ? "DELETE" : "PUT", `/pins/${event.seq}`),
        onCopy: () => this.copyLink(event.seq),
      }));
      // Held on a phone: the toolbar shows until the next touch elsewhere.
      node.addEventListener("contextmenu", (e) => {
        if (matchMedia("(pointer: fine)").matches) return;
        e.preventDefault();
        for (const held of this.logNode.querySelectorAll(".msg.held")) held.classList.remove("held");
        node.classList.add("held");
      });
      return node;
    });
  }

  /** Shows (or collapses again) one message of someone I block; the keyboard stays on it. */
  showBlocked(seq, show) {
    if (show) this.unhidden.add(seq);
    else this.unhidden.delete(seq);
    this.render();
    const node = this.logNode.querySelector(`[data-seq="${seq}"]`);
    (show ? node?.querySelector("[data-hide]") : node?.querySelector("button"))?.focus();
  }

  /** The names of those of `ids` this client knows ("You" for me), in order. */
  names(ids) {
    return ids.flatMap((id) => {
      if (id === this.store.user.id) return ["You"];
      const user = this.store.lookupUser(id);
      return user ? [displayName(user)] : [];
    });
  }

  /** Whether I may delete anyone's message and unpin anything here: the channel's owner or an admin. */
  moderator() {
    return this.channel.kind !== "direct" && roleIn(this.store, this.channel, this.members) !== "member";
  }

  /** A change to a message; a refusal is said under the composer. */
  async act(method, path, body = null) {
    this.changeError.textContent = "";
    try {
      await change(method, `/channels/${this.channelId}${path}`, body);
    } catch (error) {
      this.changeError.textContent = error.message;
    }
  }

  react(seq, emoji, add) {
    return this.act(add ? "PUT" : "DELETE", `/messages/${seq}/reactions/${encodeURIComponent(emoji)}`);
  }

  edit(seq) {
    this.editing = seq;
    this.render();
    this.logNode.querySelector(`[data-seq="${seq}"] textarea.edit`)?.focus();
  }

  /** My message's text, in place: Enter saves, Escape leaves it as it was. */
  editor(event) {
    const box = el("textarea", { class: "edit", "aria-label": "Edit message", rows: "2" });
    box.value = event.body ?? "";
    const done = () => {
      this.editing = null;
      this.render();
      this.input.focus();
    };
    const save = async () => {
      const body = box.value.trim();
      if (body && body !== event.body) await this.act("PATCH", `/messages/${event.seq}`, { body });
      done();
    };
    box.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        save();
      }
      if (e.key === "Escape") {
        e.preventDefault();
        done();
      }
    });
    return el("div", { class: "editing" }, box,
      el("div", { class: "buttons" }, el("button", { type: "button", onclick: done }, "Cancel"),
        el("button", { type: "button", class: "primary", onclick: save }, "Save")));
  }

  async remove(seq) {
    if (await confirmDelete()) await this.act("DELETE", `/messages/${seq}`);
  }

  async copyLink(seq) {
    const link = new URL(this.actions.link(this.channelId, seq), location.href).href;
    try {
      await navigator.clipboard.writeText(link);
      this.changeError.textContent = "";
    } catch {
      this.changeError.textContent = `Copy this link: ${link}`;
    }
  }

  /** Opens the thread of message `root` beside the log (over it on a phone). */
  async openThread(root) {
    this.thread = { root, replies: [], error: "" };
    this.threadNode.hidden = false;
    this.render();
    try {
      const { replies } = await api("GET", `/channels/${this.channelId}/threads/${root}?limit=500`);
      if (this.thread?.root === root) this.thread.replies = replies;
    } catch (error) {
      if (this.thread?.root === root) this.thread.error = error.message;
    }
    this.render();
    this.threadNode.querySelector("textarea")?.focus();
  }

  closeThread() {
    this.thread = null;
    this.threadNode.hidden = true;
    delete this.threadNode.dataset.root;
    this.render();
    this.input.focus();
  }

  /** The open thread: its root, its replies (fetched, and those come since), its composer. */
  renderThread() {
    const thread = this.thread;
    if (!thread) return;
    const held = this.log.events.filter((e) => e.type === "message");
    const root = held.find((e) => e.seq === thread.root);
    const replies = new Map(thread.replies.map((e) => [e.seq, e]));
    for (const event of held) if (event.reply_to_seq === thread.root) replies.set(event.seq, event);
    const entry = (event) => (this.store.blocked.has(event.sender_id) && !event.deleted && !this.unhidden.has(event.seq)
      ? collapsed(event.seq, () => this.showBlocked(event.seq, true))
      : message({
        seq: event.seq, sender: this.store.users.get(event.sender_id), senderId: event.sender_id, body: event.body ?? "",
        at: new Date(event.created_at), grouped: false, mine: event.sender_id === this.store.user.id, changed: event,
        names: (ids) => this.names(ids), mentions: this.mentionsIn(event),
      }));
    if (this.threadNode.dataset.root !== String(thread.root)) {
      // Built once per thread, so that a render does not take the composer's focus.
      this.threadNode.dataset.root = String(thread.root);
      const box = el("textarea", { "aria-label": "Reply in thread", placeholder: "Reply…", rows: "1" });
      const completions = this.completing(box);
      box.addEventListener("keydown", (e) => {
        if (e.key !== "Enter" || e.shiftKey || e.isComposing) return;
        e.preventDefault();
        if (!box.value.trim()) return;
        this.connection.send(this.channelId, box.value, thread.root);
        box.value = "";
      });
      this.threadLog = el("div", { class: "thread-log" });
      this.threadNode.replaceChildren(
        el("header", {}, el("h2", {}, "Thread"),
          el("button", { class: "icon", type: "button", "aria-label": "Close thread", onclick: () => this.closeThread() }, icon("close"))),
        this.threadLog,
        el("form", { class: "composer", onsubmit: (e) => e.preventDefault() }, box, completions));
    }
    this.threadNode.querySelector("form.composer").hidden = Boolean(this.channel.archived);
    const pending = [...this.store.outbox].filter(([, o]) => o.channel_id === this.channelId && o.reply_to_seq === thread.root);
    this.threadLog.replaceChildren(...[
      root ? entry(root) : el("p", { class: "hint" }, "The message this thread answers is further back in the channel."),
      el("p", { class: "hint" }, `${replies.size} ${replies.size === 1 ? "reply" : "replies"}`),
      ...[...replies.values()].sort((a, b) => a.seq - b.seq).map(entry),
      ...pending.map(([id, o]) => message({ sender: this.store.user, senderId: this.store.user.id, body: o.body, at: new Date(o.created_at), grouped: false, mine: true, state: o.state, clientMsgId: id })),
      thread.error ? el("p", { class: "error" }, thread.error) : null,
    ].filter(Boolean));
  }

  /** A message's time is its link: a plain click stays in the app. */
  openLink(e, seq) {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    this.actions.open(this.channelId, { seq });
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
        // Why, as the server said it: refused in an archived channel, or in a DM with someone who blocks me.
        if (entry.error) node.querySelector(".content").append(el("p", { class: "error send-error" }, `Not sent: ${sentence(entry.error)}`));
        node.querySelector(".content").append(el("div", { class: "actions" },
          el("button", { class: "link", onclick: () => this.connection.retry(id) }, "Retry"),
          el("button", { class: "link", onclick: () => this.connection.discard(id) }, "Discard")));
      }
      return node;
    });
  }

  renderTyping() {
    const names = this.store.typingIn(this.channelId).filter((id) => !this.store.blocked.has(id)).map((id) => displayName(this.store.users.get(id)));
    this.typingNode.textContent = names.length === 0 ? "" : names.length === 1 ? `${names[0]} is typing…`
      : names.length <= 3 ? `${names.slice(0, -1).join(", ")} and ${names.at(-1)} are typing…` : "Several people are typing…";
  }

  /**
   * Moves my read marker to the last event seen: laid out above the bottom
   * edge of the log while this window is visible and has focus. A message
   * that came while I looked elsewhere, or scrolled up, stays unread.
   */
  markRead() {
    const channel = this.channel;
    const log = this.log;
    if (!log?.last || log.last <= (channel.last_read_seq ?? 0)) return;
    if (document.visibilityState !== "visible" || !document.hasFocus() || !this.node.isConnected) return;
    const bottom = this.logNode.getBoundingClientRect().bottom + 2;
    let seen = null;
    for (let i = log.events.length - 1; i >= 0 && seen === null; i -= 1) {
      const node = this.nodes.get(log.events[i].seq)?.node;
      if (node?.isConnected && node.offsetParent !== null && node.getBoundingClientRect().bottom <= bottom) seen = i;
    }
    if (seen === null) return;
    // Events never laid out (of types this client does not show) just after it are seen too.
    while (seen + 1 < log.events.length && this.nodes.get(log.events[seen + 1].seq)?.node.hidden) seen += 1;
    const seq = log.events[seen].seq;
    if (!this.store.markRead(this.channelId, seq)) return;
    this.connection.read(this.channelId, channel.last_read_seq, channel.unread_count ?? 0, channel.mention_count ?? 0);
    this.actions.unreadChanged();
  }
}

/** "Ann, Bo and 3 others": the names known, then how many more reacted. */
function reactedBy(names, count) {
  const others = count - names.length;
  if (!names.length) return count === 1 ? "1 person" : `${count.toLocaleString()} people`;
  if (others <= 0) return names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
  return `${names.join(", ")} and ${plural(others, "other")}`;
}

function beginning(channel, me) {
  return el("div", { class: "beginning" }, el("h2", {}, icon(channelIcon(channel)), channelTitle(channel, me)),
    el("p", {}, channel.kind === "direct" ? "This is the beginning of your conversation." : "This is the very beginning of the channel."));
}

function stamp(at, link, open) {
  const node = el("time", { datetime: at.toISOString(), title: fullTime(at) }, time(at));
  return link ? el("a", { class: "stamp", href: link, onclick: open }, node) : node;
}

function message({ seq, sender, senderId, body, at, grouped, mine, state, clientMsgId, offline, error, link, open, changed, toggle, openThread, names, mentions, forMe }) {
  const [label, title] = STATES[state] ?? [];
  const waiting = offline && state === "sending";
  const stateNode = state ? el("span", { class: `state ${state}`, title: waiting ? "Will be sent when the connection is back" : error ?? title },
    waiting ? "Waiting for connection…" : label) : null;
  return el("article", {
    class: `msg${grouped ? " grouped" : ""}${mine ? " mine" : ""}${seq ? "" : " pending"}${forMe ? " for-me" : ""}`,
    "data-seq": seq ?? null, "data-state": state, "data-client-msg-id": clientMsgId ?? null,
  },
  grouped ? el("span", { class: "gutter" }, stamp(at, link, open)) : avatar(sender, senderId),
  el("div", { class: "content" },
    grouped ? null : el("header", {}, el("span", { class: "who", dir: "auto" }, displayName(sender)), stamp(at, link, open)),
    changed?.deleted ? el("div", { class: "body deleted" }, "This message was deleted")
      : el("div", { class: "body" }, ...rendered(body, mentions), changed?.edited_at ? el("span", { class: "edited", title: fullTime(new Date(changed.edited_at)) }, " (edited)") : null),
    changed ? aboutMessage(changed, toggle, openThread, names) : null),
  stateNode);
}

/**
 * What became of a message: its pin, its reactions (a click toggles mine;
 * who reacted on hover and for a screen reader), its thread.
 */
function aboutMessage({ reactions = [], reply_count: replies, reply_to_seq: replyTo, pinned, deleted }, toggle, openThread, names) {
  if (deleted || (!reactions.length && !replies && !pinned && !replyTo)) return null;
  const who = (r) => reactedBy(names?.(r.users ?? []) ?? [], r.count);
  const chip = (r) => toggle
    ? el("button", { type: "button", class: `reaction${r.me ? " me" : ""}`, "aria-pressed": String(Boolean(r.me)),
      title: `${who(r)} reacted with ${r.emoji}`, "aria-label": `${r.emoji} ${r.count}, ${who(r)}: ${r.me ? "take my reaction back" : "react with it too"}`,
      onclick: () => toggle(r.emoji, r.me) }, `${r.emoji} ${r.count}`)
    : el("span", { class: "reaction", title: `${who(r)} reacted with ${r.emoji}` }, `${r.emoji} ${r.count}`);
  const count = replies ? `${replies.toLocaleString()} ${replies === 1 ? "reply" : "replies"}` : null;
  return el("div", { class: "about" },
    pinned ? el("span", { class: "pinned" }, icon("pin"), "Pinned") : null,
    ...reactions.map(chip),
    count ? (openThread ? el("button", { type: "button", class: "link replies", onclick: () => openThread() }, count) : el("span", { class: "replies" }, count)) : null,
    replyTo && openThread ? el("button", { type: "button", class: "link replies", onclick: () => openThread(replyTo) }, "Replied in a thread") : null);
}

/**
 * What a change to the channel says in its log, as parts of a line (a name
 * or a channel's is `{tag, text}`), or null for an event that is no such change.
 */
export function changeLine(event, nameOf) {
  const by = { tag: "strong", text: nameOf(event.sender_id) };
  const who = { tag: "strong", text: nameOf(event.user_id) };
  switch (event.type) {
    case "channel_renamed": return [by, " renamed the channel to ", { tag: "strong", text: `#${event.name}` }, "."];
    case "topic_changed": return event.topic ? [by, " set the topic: ", { tag: "q", text: event.topic }] : [by, " cleared the topic."];
    case "channel_archived": return [by, " archived the channel: it is read-only."];
    case "channel_unarchived": return [by, " unarchived the channel."];
    case "member_removed": return [by, " removed ", who, "."];
    case "member_banned": return [by, " banned ", who, "."];
    case "member_unbanned": return [by, " unbanned ", who, "."];
    case "channel_deleted": return [by, " deleted the channel."];
    default: return null;
  }
}

/** A message of someone I block, collapsed to one line with a way to show it. */
function collapsed(seq, show) {
  return el("div", { class: "msg collapsed", "data-seq": seq }, el("span", { class: "gutter" }),
    el("p", { class: "content" }, "Message from someone you blocked — ",
      el("button", { type: "button", class: "link", "aria-label": "Show message from someone you blocked", onclick: show }, "show")));
}
