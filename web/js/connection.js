// The live connection: hello with resume, reconnect with jittered backoff,
// sends that wait while disconnected and go out again with their original
// client_msg_id, and gap frames paged over REST.

import { api } from "./api.js";

export class Connection {
  constructor(store) {
    this.store = store;
    this.socket = null;
    this.attempt = 0;
    this.status = "connecting";
    this.nextRef = 1;
  }

  start() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws`);
    this.socket = socket;
    socket.onopen = () => {
      const resume = {};
      for (const id of this.store.channels.keys()) {
        const last = this.store.lastSeq(id);
        if (last !== null) resume[id] = last;
      }
      socket.send(JSON.stringify({ type: "hello", resume }));
    };
    socket.onmessage = (message) => this.receive(JSON.parse(message.data));
    socket.onclose = (close) => this.closed(close.code);
  }

  setStatus(status) {
    this.status = status;
    this.store.changed();
  }

  closed(code) {
    this.socket = null;
    if (code === 4001 || code === 4003) {
      this.setStatus("signed-out");
      location.reload();
      return;
    }
    this.setStatus("reconnecting");
    const delay = Math.min(30000, 500 * 2 ** this.attempt) * (0.5 + Math.random());
    this.attempt += 1;
    setTimeout(() => this.start(), delay);
  }

  async receive(frame) {
    const store = this.store;
    switch (frame.type) {
      case "ready":
        this.attempt = 0;
        store.user = frame.user;
        store.setChannels(frame.channels);
        this.setStatus("online");
        this.flushPending();
        break;
      case "event":
        if (store.addEvent(frame.event)) store.changed();
        break;
      case "gap":
        await this.fillGap(frame.channel_id, frame.after_seq, frame.through_seq);
        break;
      case "ack": {
        const pending = store.pending.get(frame.client_msg_id);
        if (pending) pending.state = frame.status;
        store.changed();
        break;
      }
      case "error":
        if (frame.ref !== undefined) {
          for (const pending of store.pending.values()) {
            if (pending.ref === frame.ref) pending.state = "failed";
          }
          store.changed();
        }
        break;
      case "channel_added":
        store.upsertChannel(frame.channel);
        store.changed();
        break;
      case "channel_removed":
        store.removeChannel(frame.channel_id);
        store.changed();
        break;
      default:
        break; // typing, presence, pong and later types
    }
  }

  async fillGap(channelId, after, through) {
    let cursor = after;
    while (cursor < through) {
      const page = await api("GET", `/channels/${channelId}/events?after=${cursor}&limit=500`);
      for (const event of page.events) this.store.addEvent(event);
      if (page.events.length === 0) break;
      cursor = page.events[page.events.length - 1].seq;
    }
    this.store.changed();
  }

  /** Queues a message; it goes out now if connected, else on reconnect. */
  send(channelId, body, clientMsgId = newClientMsgId()) {
    this.store.pending.set(clientMsgId, { channel_id: channelId, body, state: "sending", ref: null });
    this.transmit(clientMsgId);
    this.store.changed();
  }

  transmit(clientMsgId) {
    const pending = this.store.pending.get(clientMsgId);
    if (!pending || !this.socket || this.socket.readyState !== WebSocket.OPEN || this.status !== "online") return;
    pending.ref = this.nextRef++;
    pending.state = "sending";
    this.socket.send(
      JSON.stringify({ type: "send", ref: pending.ref, channel_id: pending.channel_id, client_msg_id: clientMsgId, body: pending.body }),
    );
  }

  flushPending() {
    for (const id of this.store.pending.keys()) this.transmit(id);
  }
}

/** 128 random bits as hex: crypto.randomUUID exists only in secure contexts. */
function newClientMsgId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
