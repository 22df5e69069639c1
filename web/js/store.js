// What the client knows: my channels and their events, keyed by seq, so a
// replayed or duplicated event is dropped and the view is always the server's log.

export class Store {
  constructor() {
    this.user = null;
    this.channels = new Map(); // id → channel (with last_seq, last_read_seq, unread_count)
    this.events = new Map(); // channel id → Map(seq → event)
    this.pending = new Map(); // client_msg_id → {channel_id, body, state}
    this.loaded = new Set(); // channels whose recent history has been fetched
    this.listeners = new Set();
  }

  onChange(listener) {
    this.listeners.add(listener);
  }

  changed() {
    for (const listener of this.listeners) listener();
  }

  setChannels(channels) {
    const known = new Set(channels.map((c) => c.id));
    for (const id of [...this.channels.keys()]) if (!known.has(id)) this.channels.delete(id);
    for (const channel of channels) this.upsertChannel(channel);
  }

  upsertChannel(channel) {
    const old = this.channels.get(channel.id) ?? {};
    this.channels.set(channel.id, { ...old, ...channel });
    if (!this.events.has(channel.id)) this.events.set(channel.id, new Map());
  }

  removeChannel(id) {
    this.channels.delete(id);
    this.events.delete(id);
  }

  /** The highest seq held without a hole from the first one held. */
  lastSeq(channelId) {
    const events = this.events.get(channelId);
    if (!events || events.size === 0) return null;
    return Math.max(...events.keys());
  }

  addEvent(event) {
    const events = this.events.get(event.channel_id);
    if (!events || events.has(event.seq)) return false;
    events.set(event.seq, event);
    const channel = this.channels.get(event.channel_id);
    if (channel && event.seq > (channel.last_seq ?? 0)) channel.last_seq = event.seq;
    if (event.type === "message" && event.sender_id === this.user?.id) this.pending.delete(event.client_msg_id);
    return true;
  }

  sortedEvents(channelId) {
    return [...(this.events.get(channelId)?.values() ?? [])].sort((a, b) => a.seq - b.seq);
  }
}
