// What the client knows: my channels, each channel's events keyed by seq (so
// a replayed or duplicated event is dropped and the view is always the
// server's log), the people it has met, who is online and typing, and the
// outbox of messages not yet stored, kept in localStorage so that nothing
// typed is lost to a disconnect or a reload.

import { api } from "./api.js";

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
    this.status = "connecting"; // connecting | online | reconnecting | signed-out
    this.outboxKey = `parley.outbox.${user.id}`;
    this.outbox = new Map(loadOutbox(this.outboxKey)); // client_msg_id → {channel_id, body, state, error?, created_at}
    this.listeners = new Set();
    this.fetching = new Set();
  }

  onChange(listener) {
    this.listeners.add(listener);
  }

  changed() {
    for (const listener of this.listeners) listener();
  }

  setChannels(channels) {
    const known = new Set(channels.map((c) => c.id));
    for (const id of [...this.channels.keys()]) if (!known.has(id)) this.removeChannel(id);
    for (const channel of channels) this.upsertChannel(channel);
  }

  upsertChannel(channel) {
    const old = this.channels.get(channel.id) ?? { unread_count: 0, last_read_seq: 0 };
    this.channels.set(channel.id, { ...old, ...channel });
    if (!this.logs.has(channel.id)) this.logs.set(channel.id, new EventLog());
    for (const user of channel.members ?? []) this.users.set(user.id, user);
  }

  removeChannel(id) {
    this.channels.delete(id);
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
    const channel = this.channels.get(event.channel_id);
    if (event.seq > (channel.last_seq ?? 0)) {
      // Newer than the channel as last read from the server: counts move with it.
      channel.last_seq = event.seq;
      if (event.type === "member_joined") channel.member_count = (channel.member_count ?? 0) + 1;
      if (event.type === "member_left") channel.member_count = Math.max(0, (channel.member_count ?? 1) - 1);
      const fromOther = event.type === "message" && event.sender_id !== this.user.id;
      if (live && fromOther && event.seq > (channel.last_read_seq ?? 0)) channel.unread_count = (channel.unread_count ?? 0) + 1;
    }
    if (event.type === "message") {
      this.typing.get(event.channel_id)?.delete(event.sender_id);
      if (event.sender_id === this.user.id && this.outbox.delete(event.client_msg_id)) this.saveOutbox();
    }
    this.lookupUser(event.sender_id);
    if (event.user_id) this.lookupUser(event.user_id);
    return true;
  }

  /** Everything up to `seq` is read: the badge goes, the server is told by the caller. */
  markRead(channelId, seq) {
    const channel = this.channels.get(channelId);
    if (!channel || seq <= (channel.last_read_seq ?? 0)) return false;
    channel.last_read_seq = seq;
    channel.unread_count = 0;
    return true;
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

  unreadTotal() {
    let total = 0;
    for (const channel of this.channels.values()) total += channel.unread_count ?? 0;
    return total;
  }

  saveOutbox() {
    try {
      localStorage.setItem(this.outboxKey, JSON.stringify([...this.outbox]));
    } catch {
      // Storage full or disabled: the outbox still lives in memory.
    }
  }
}

function loadOutbox(key) {
  try {
    const entries = JSON.parse(localStorage.getItem(key) ?? "[]");
    // Whatever was in flight when the page went away goes out again.
    return entries.map(([id, entry]) => [id, { ...entry, state: entry.state === "failed" ? "failed" : "sending" }]);
  } catch {
    return [];
  }
}
