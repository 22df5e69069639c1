// What the client knows: my channels, each channel's events keyed by seq (so
// a replayed or duplicated event is dropped and the view is always the
// server's log), the people it has met, who is online and typing, and what
// must survive a reload, kept in localStorage: the outbox of messages not yet
// stored and every channel's unsent draft, so that nothing typed is lost to a
// disconnect, a reload or a second tab. A channel's own changes (its name,
// topic, archiving) are events of its log, folded into the channel here; whom
// I block is mine alone, read when the client starts.

import { api } from "./api.js";

const REACTORS_SHOWN = 10; // the server names the first ten who reacted with an emoji

/** One channel's events, sorted by seq, each seq at most once. */
export class EventLog {
  constructor() {
    this.events = [];
    this.seqs = new Set();
    this.loaded = false; // the newest page has been fetched
  }

  get first() {
    return this.events.length ? this.events[0].seq : null;
  }

  get last() {
    return this.events.length ? this.events[this.events.length - 1].seq : null;
  }

  /** Adds an event unless its seq is held; returns whether it was new. */
  add(event) {
    if (this.seqs.has(event.seq)) return false;
    this.seqs.add(event.seq);
    const events = this.events;
    let at = events.length;
    while (at > 0 && events[at - 1].seq > event.seq) at -= 1; // live events land at the end
    events.splice(at, 0, event);
    return true;
  }

  /** The last seq of the run that starts at the first held one: what resume asks after. */
  contiguousLast() {
    const events = this.events;
    let at = 0;
    while (at + 1 < events.length && events[at + 1].seq === events[at].seq + 1) at += 1;
    return events.length ? events[at].seq : null;
  }

  /** Holes between held events, as [after, through] ranges. */
  holes() {
    const holes = [];
    for (let i = 1; i < this.events.length; i += 1) {
      const [a, b] = [this.events[i - 1].seq, this.events[i].seq];
      if (b > a + 1) holes.push([a, b - 1]);
    }
    return holes;
  }
}

export class Store {
  constructor(user) {
    this.user = user;
    this.channels = new Map(); // id → channel (with last_seq, last_read_seq, unread_count)
    this.logs = new Map(); // channel id → EventLog
    this.users = new Map([[user.id, user]]); // id → user, as met
    this.online = new Set(); // user ids
    this.typing = new Map(); // channel id → Map(user id → until, ms)
    this.status = "connecting"; // connecting | online | reconnecting | offline | signed-out
    this.outboxKey = `parley.outbox.${user.id}`;
    this.outbox = new Map(loadOutbox(this.outboxKey)); // client_msg_id → {channel_id, body, state, error?, created_at}
    this.gone = new Set(); // client_msg_ids this tab took out of the outbox
    this.draftsKey = `parley.drafts.${user.id}`;
    this.drafts = new Map(load(this.draftsKey, [])); // channel id → unsent text in its composer
    this.activity = new Map(); // channel id → a number that grows with its latest activity
    this.listeners = new Set();
    this.fetching = new Set();
    // My channels as the last `ready` listed them: shown until the next one,
    // so that a client opened without a network is not empty.
    this.channelsKey = `parley.channels.${user.id}`;
    this.blocksKey = `parley.blocks.${user.id}`;
    this.blocked = new Set(load(this.blocksKey, [])); // ids of the people I block
    this.departed = new Map(); // channel id → {type, by}: why I am about to lose it (removed, banned, deleted)
    this.setChannels(load(this.channelsKey, []));
  }

  onChange(listener) {
    this.listeners.add(listener);
  }

  changed() {
    for (const listener of this.listeners) listener();
  }

  /** My channels as `ready` lists them: most recently active first. */
  setChannels(channels) {
    const known = new Set(channels.map((c) => c.id));
    for (const id of [...this.channels.keys()]) if (!known.has(id)) this.removeChannel(id);
    channels.forEach((channel, at) => {
      const fresh = !this.channels.has(channel.id);
      this.upsertChannel(channel);
      // Ranks below any time: a live event after this outranks them all.
      if (fresh) this.activity.set(channel.id, channels.length - at);
    });
  }

  upsertChannel(channel) {
    if (!this.channels.has(channel.id)) this.activity.set(channel.id, Date.now()); // just joined or made
    const old = this.channels.get(channel.id) ?? { unread_count: 0, last_read_seq: 0 };
    // The server leaves `archived` out while it is false.
    this.channels.set(channel.id, { ...old, ...channel, archived: Boolean(channel.archived) });
    this.rememberChannels();
    if (!this.logs.has(channel.id)) this.logs.set(channel.id, new EventLog());
    for (const user of channel.members ?? []) this.users.set(user.id, user);
  }

  /** Saves my channels, at most once a second, for the next start without a network. */
  rememberChannels() {
    if (this.channelsTimer) return;
    this.channelsTimer = setTimeout(() => {
      this.channelsTimer = null;
      save(this.channelsKey, [...this.channels.values()]);
    }, 1_000);
  }

  removeChannel(id) {
    this.channels.delete(id);
    this.departed.delete(id);
    this.rememberChannels();
    this.logs.delete(id);
    this.typing.delete(id);
  }

  log(channelId) {
    return this.logs.get(channelId);
  }

  /** Adds an event of one of my channels; `live` ones count as unread until seen. */
  addEvent(event, { live = false } = {}) {
    const log = this.logs.get(event.channel_id);
    if (!log || !log.add(event)) return false;
    this.fold(log, event);
    const channel = this.channels.get(event.channel_id);
    if (event.seq > (channel.last_seq ?? 0)) {
      // Newer than the channel as last read from the server: counts move with it.
      channel.last_seq = event.seq;
      if (live) this.activity.set(event.channel_id, Date.parse(event.created_at) || Date.now());
      if (event.type === "member_joined") channel.member_count = (channel.member_count ?? 0) + 1;
      if (event.type === "member_left") channel.member_count = Math.max(0, (channel.member_count ?? 1) - 1);
      if (event.type === "member_role_changed" && event.user_id === this.user.id) channel.role = event.role;
      this.foldChannel(channel, event);
      const fromOther = event.type === "message" && event.sender_id !== this.user.id;
      if (live && fromOther && event.seq > (channel.last_read_seq ?? 0)) {
        channel.unread_count = (channel.unread_count ?? 0) + 1;
        // Received live, I am online: an @here is for me too.
        if (event.mentions_here) event.here = true;
        if (this.mentionsMe(event, channel)) channel.mention_count = (channel.mention_count ?? 0) + 1;
      }
    }
    if (event.type === "message") {
      this.typing.get(event.channel_id)?.delete(event.sender_id);
      if (event.sender_id === this.user.id && this.outbox.has(event.client_msg_id)) {
        this.forget(event.client_msg_id);
        this.saveOutbox();
      }
    }
    this.lookupUser(event.sender_id);
    if (event.user_id) this.lookupUser(event.user_id);
    return true;
  }

  /**
   * A change to the channel itself, newer than the channel as the server
   * last described it: its name, topic and archiving; a member taken out;
   * and, when that member is me or the channel is deleted, why it is about
   * to leave my list (its `channel_removed` follows).
   */
  foldChannel(channel, event) {
    switch (event.type) {
      case "channel_renamed":
        channel.name = event.name;
        break;
      case "topic_changed":
        channel.topic = event.topic;
        break;
      case "channel_archived":
      case "channel_unarchived":
        channel.archived = event.type === "channel_archived";
        break;
      case "member_removed":
      case "member_banned":
        channel.member_count = Math.max(0, (channel.member_count ?? 1) - 1);
        if (event.user_id === this.user.id) this.departed.set(channel.id, { type: event.type, by: event.sender_id });
        break;
      case "channel_deleted":
        this.departed.set(channel.id, { type: event.type, by: event.sender_id });
        break;
      default:
        return;
    }
    this.rememberChannels();
  }

  /** Whom I block, as the server lists them. */
  setBlocks(users) {
    this.blocked = new Set(users.map((u) => u.id));
    for (const user of users) this.users.set(user.id, { ...this.users.get(user.id), ...user });
    save(this.blocksKey, [...this.blocked]);
  }

  setBlocked(user, blocked) {
    if (blocked) this.blocked.add(user.id);
    else this.blocked.delete(user.id);
    save(this.blocksKey, [...this.blocked]);
    this.changed();
  }

  /**
   * A change (or a reply) folded into the message it is about, when the log
   * holds it and its state does not include the change yet: a message read
   * from a page carries its state as of then (`changed_seq`), and the change
   * events before it may come after it.
   */
  fold(log, change) {
    const about = change.target_seq ?? (change.type === "message" ? change.reply_to_seq : undefined);
    if (!about) return;
    const target = log.events.find((e) => e.seq === about);
    if (!target || target.type !== "message" || change.seq <= (target.changed_seq ?? 0)) return;
    target.changed_seq = change.seq;
    switch (change.type) {
      case "message":
        target.reply_count = (target.reply_count ?? 0) + 1;
        target.last_reply_at = change.created_at;
        break;
      case "message_edited": {
        // An unread message that mentions me no longer, or now does, moves my count.
        const channel = this.channels.get(change.channel_id);
        const unread = channel && target.seq > (channel.last_read_seq ?? 0);
        const before = unread && this.mentionsMe(target, channel);
        target.body = change.body;
        target.edited_at = change.created_at;
        for (const field of ["mentions", "mentions_channel", "mentions_here"]) {
          if (change[field]) target[field] = change[field];
          else delete target[field];
        }
        const after = unread && this.mentionsMe(target, channel);
        if (before !== after) channel.mention_count = Math.max(0, (channel.mention_count ?? 0) + (after ? 1 : -1));
        break;
      }
      case "message_deleted": {
        // An unread message deleted is unread no more (the server counts alike).
        const channel = this.channels.get(change.channel_id);
        if (channel?.unread_count && !target.deleted && target.sender_id !== this.user.id && target.seq > (channel.last_read_seq ?? 0)) {
          channel.unread_count -= 1;
          if (channel.mention_count && this.mentionsMe(target, channel)) channel.mention_count -= 1;
        }
        target.deleted = true;
        for (const field of ["body", "reactions", "pinned"]) delete target[field];
        // A deleted reply leaves its thread's count.
        const root = target.reply_to_seq && log.events.find((e) => e.seq === target.reply_to_seq);
        if (root && change.seq > (root.changed_seq ?? 0) && root.reply_count) {
          root.reply_count -= 1;
          root.changed_seq = change.seq;
        }
        break;
      }
      case "reaction_added":
      case "reaction_removed": {
        const step = change.type === "reaction_added" ? 1 : -1;
        const reactions = target.reactions ?? [];
        const known = reactions.find((r) => r.emoji === change.emoji);
        if (known) known.count += step;
        else if (step > 0) reactions.push({ emoji: change.emoji, count: 1, users: [] });
        const mine = reactions.find((r) => r.emoji === change.emoji);
        if (mine && change.sender_id === this.user.id) mine.me = step > 0;
        if (mine) {
          // The first ten who reacted, as the server serves them.
          const users = (mine.users ?? []).filter((id) => id !== change.sender_id);
          if (step > 0 && users.length < REACTORS_SHOWN) users.push(change.sender_id);
          mine.users = users;
        }
        target.reactions = reactions.filter((r) => r.count > 0);
        break;
      }
      case "message_pinned":
        target.pinned = true;
        break;
      case "message_unpinned":
        delete target.pinned;
        break;
    }
  }

  /**
   * Whether a message of `channel` is a mention of me: every message of
   * another in a DM; elsewhere one that names me, says @channel, or says
   * @here and reached me live (docs/protocol.md, "Mentions").
   */
  mentionsMe(event, channel) {
    if (event.type !== "message" || event.deleted || event.sender_id === this.user.id) return false;
    return channel?.kind === "direct" || Boolean(event.mentions_channel) || Boolean(event.mentions_here && event.here)
      || (event.mentions ?? []).includes(this.user.id);
  }

  /** Everything up to `seq` is read here (the server is told by the caller). */
  markRead(channelId, seq) {
    const channel = this.channels.get(channelId);
    if (!channel || seq <= (channel.last_read_seq ?? 0)) return false;
    const left = Math.min(channel.unread_count ?? 0, Math.max(0, (channel.last_seq ?? 0) - seq));
    this.readUpTo(channel, seq, left, Math.min(channel.mention_count ?? 0, left));
    return true;
  }

  /** My read marker as the server has it, moved in this or another tab or device. */
  applyReadMarker({ channel_id: channelId, last_read_seq: seq, unread_count: unread, mention_count: mentions }) {
    const channel = this.channels.get(channelId);
    if (!channel || seq < (channel.last_read_seq ?? 0)) return false;
    this.readUpTo(channel, seq, unread, mentions ?? Math.min(channel.mention_count ?? 0, unread));
    return true;
  }

  /**
   * Moves the marker; what stays unread, and how much of it mentions me, is
   * counted from the log when it holds everything after the marker, else
   * taken from `unread` and `mentions` (the server's counts).
   */
  readUpTo(channel, seq, unread, mentions) {
    channel.last_read_seq = seq;
    const log = this.logs.get(channel.id);
    const whole = log?.loaded && (log.first ?? Infinity) <= seq + 1 && log.contiguousLast() === log.last && log.last >= (channel.last_seq ?? 0);
    const left = whole ? log.events.filter((e) => e.seq > seq && e.type === "message" && !e.deleted && e.sender_id !== this.user.id) : null;
    channel.unread_count = left ? left.length : unread;
    channel.mention_count = left ? left.filter((e) => this.mentionsMe(e, channel)).length : mentions;
  }

  /** The user with this id, fetched once in the background when not yet met. */
  lookupUser(id) {
    const known = this.users.get(id);
    if (known || !id || this.fetching.has(id)) return known ?? null;
    this.fetching.add(id);
    api("GET", `/users/${id}`).then(
      ({ user }) => {
        this.users.set(user.id, user);
        this.changed();
      },
      () => {},
    ).finally(() => this.fetching.delete(id));
    return null;
  }

  typingIn(channelId) {
    const now = Date.now();
    const typing = this.typing.get(channelId);
    if (!typing) return [];
    for (const [user, until] of typing) if (until <= now) typing.delete(user);
    return [...typing.keys()];
  }

  setTyping(channelId, userId, forMs) {
    if (userId === this.user.id || !this.channels.has(channelId)) return;
    if (!this.typing.has(channelId)) this.typing.set(channelId, new Map());
    this.typing.get(channelId).set(userId, Date.now() + forMs);
    this.lookupUser(userId);
  }

  /** Unread messages, and those of them that mention me, over my channels, muted ones left out. */
  unreadTotal() {
    let unread = 0;
    let mentions = 0;
    for (const channel of this.channels.values()) {
      if (channel.preferences?.muted) continue;
      unread += channel.unread_count ?? 0;
      mentions += channel.mention_count ?? 0;
    }
    return { unread, mentions };
  }

  /** My preferences in a channel, as the server now has them. */
  setPreferences(channelId, preferences) {
    const channel = this.channels.get(channelId);
    if (!channel) return false;
    channel.preferences = preferences;
    this.rememberChannels();
    return true;
  }

  /** A message out of the outbox for good: stored, or discarded by me. */
  forget(id) {
    this.outbox.delete(id);
    this.gone.add(id);
  }

  /**
   * Writes the outbox, keeping what another tab of mine queued: every tab
   * sends what it finds at start, and a second send of one client_msg_id is
   * answered with the message first stored.
   */
  saveOutbox() {
    const theirs = load(this.outboxKey, []).filter(([id]) => !this.outbox.has(id) && !this.gone.has(id));
    save(this.outboxKey, [...theirs, ...this.outbox]);
  }

  setDraft(channelId, text) {
    if (text.trim()) this.drafts.set(channelId, text);
    else this.drafts.delete(channelId);
    clearTimeout(this.draftTimer);
    this.draftTimer = setTimeout(() => save(this.draftsKey, [...this.drafts]), 250);
  }

  /** Writes at once what is otherwise saved now and then (drafts, my channels): the page is going. */
  saveNow() {
    clearTimeout(this.draftTimer);
    save(this.draftsKey, [...this.drafts]);
    clearTimeout(this.channelsTimer);
    this.channelsTimer = null;
    save(this.channelsKey, [...this.channels.values()]);
  }
}

function loadOutbox(key) {
  // Whatever was in flight when the page went away goes out again.
  return load(key, []).map(([id, entry]) => [id, { ...entry, state: entry.state === "failed" ? "failed" : "sending" }]);
}

export function load(key, fallback) {
  try {
    return JSON.parse(localStorage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
}

export function save(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or disabled: it still lives in memory.
  }
}
