// The live connection: `hello` with resume, reconnect with jittered backoff,
// a heartbeat and the browser's offline/online events that notice a dead
// socket at once, `gap` frames and holes paged over REST, and the outbox:
// every message goes out with its own client_msg_id, again after each
// reconnect until it is stored, so it is stored at most once as the server
// sees it and never lost as the user sees it.

import { api } from "./api.js";

const PING_EVERY = 20_000; // the server closes a socket silent for 40 s
const PONG_WITHIN = 10_000; // else the socket is dead, whatever the browser thinks
const TYPING_EVERY = 3_000; // how often we tell others we are still typing
const TYPING_SHOWN = 6_000; // how long a typing frame from others is shown
const RELAY_EVERY = 1_100; // the server relays one typing frame a second per session and channel
const READ_EVERY = 300; // read markers to the server: at once, then at most one per channel this often

export class Connection {
  constructor(store, { onSignedOut, onLive, onRemoved }) {
    this.store = store;
    this.onSignedOut = onSignedOut;
    this.onLive = onLive; // an event new to this client, as it happens
    this.onRemoved = onRemoved; // a channel left my list: (channel, why), why null when I left it
    this.socket = null;
    this.attempt = 0;
    this.nextRef = 1;
    this.inFlight = new Map(); // ref → {id: client_msg_id, channelId}
    this.busy = new Set(); // channels with a send awaiting its answer
    this.lastTyping = new Map(); // channel id → when I last said I was typing, ms
    this.typingAfterSend = new Set(); // channels where I sent since
    this.typingTimers = new Map(); // channel id → a deferred typing frame
    this.timers = new Set();
    this.reads = new Map(); // channel id → {seq, sent, timer}: read markers owed to the server
    this.tabs = null; // my other tabs in this browser, told of a read at once
    this.stopped = false;
    this.online = () => this.reconnectNow();
    // The browser knows the network is gone before any timeout does.
    this.offline = () => this.abandon("offline");
  }

  start() {
    this.stopped = false;
    window.addEventListener("online", this.online);
    window.addEventListener("offline", this.offline);
    if (navigator.onLine === false) this.setStatus("offline");
    if (typeof BroadcastChannel === "function") {
      this.tabs = new BroadcastChannel(`parley.tabs.${this.store.user.id}`);
      this.tabs.onmessage = ({ data }) => {
        if (this.store.applyReadMarker(data)) this.store.changed();
      };
    }
    this.open();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.online);
    window.removeEventListener("offline", this.offline);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.reads.clear();
    this.tabs?.close();
    this.tabs = null;
    this.socket?.close(1000);
    this.socket = null;
  }

  later(ms, fn) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  open() {
    if (this.stopped) return;
    if (navigator.onLine === false) return this.setStatus("offline"); // the `online` event opens it
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws`);
    this.socket = socket;
    socket.onopen = () => socket.send(JSON.stringify({ type: "hello", resume: this.resumePoints() }));
    socket.onmessage = (message) => {
      if (socket !== this.socket) return;
      this.lastHeard = Date.now();
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return; // not ours to interpret
      }
      this.receive(frame);
    };
    socket.onclose = (close) => {
      if (socket === this.socket) this.closed(close.code);
    };
  }

  /** The last seq held without a hole, per channel held at all. */
  resumePoints() {
    const resume = {};
    for (const [id, log] of this.store.logs) {
      const last = log.contiguousLast();
      if (last !== null) resume[id] = last;
    }
    return resume;
  }

  setStatus(status) {
    this.store.status = status;
    this.store.changed();
  }

  /**
   * Gives up on the socket now, without waiting for its close handshake,
   * which a dead network holds for a minute: from here on the socket is
   * ignored, and what it carried goes out again on the next one.
   */
  abandon(why) {
    const socket = this.socket;
    if (socket) {
      socket.onmessage = socket.onclose = socket.onopen = null;
      socket.close(4000);
      this.closed(4000);
    } else if (!this.stopped && why === "offline") {
      this.setStatus("offline");
    }
  }

  closed(code) {
    this.socket = null;
    clearTimeout(this.heartbeat);
    this.inFlight.clear();
    this.busy.clear();
    if (this.stopped) return;
    if (code === 4001 || code === 4003) {
      this.stop();
      this.setStatus("signed-out");
      this.onSignedOut();
      return;
    }
    this.setStatus(navigator.onLine === false ? "offline" : "reconnecting");
    // Exponential backoff with full jitter, so a restarted server is not met
    // by every client at the same instant.
    const delay = Math.min(15_000, 250 * 2 ** Math.min(this.attempt, 6)) * (0.5 + Math.random());
    this.attempt += 1;
    this.retryTimer = this.later(delay, () => this.open());
  }

  /** The browser says the network is back: do not wait out the backoff. */
  reconnectNow() {
    if (this.socket || this.stopped) return;
    clearTimeout(this.retryTimer);
    this.timers.delete(this.retryTimer);
    this.attempt = 0;
    this.open();
  }

  beat() {
    clearTimeout(this.heartbeat);
    this.heartbeat = this.later(PING_EVERY, () => {
      const socket = this.socket;
      if (!socket || socket.readyState !== WebSocket.OPEN) return;
      const sent = Date.now();
      socket.send(JSON.stringify({ type: "ping" }));
      this.later(PONG_WITHIN, () => {
        // Nothing heard since the ping: the socket is dead without knowing it.
        if (socket === this.socket && this.lastHeard < sent) this.abandon("silent");
      });
      this.beat();
    });
  }

  receive(frame) {
    const store = this.store;
    switch (frame.type) {
      case "ready":
        this.attempt = 0;
        store.users.set(frame.user.id, frame.user);
        store.user = frame.user;
        store.online.clear(); // presence frames for who is online follow
        store.setChannels(frame.channels);
        this.setStatus("online");
        this.beat();
        this.flush();
        for (const id of store.logs.keys()) this.fillHoles(id);
        break;
      case "event":
        if (store.addEvent(frame.event, { live: true })) {
          store.changed();
          this.onLive?.(frame.event);
        }
        break;
      case "gap":
        this.page(frame.channel_id, frame.after_seq, frame.through_seq);
        break;
      case "ack":
        this.acked(frame);
        break;
      case "error":
        this.failed(frame);
        break;
      case "channel_added":
        store.upsertChannel(frame.channel);
        store.changed();
        break;
      case "channel_removed": {
        // Its event came first: a removal, a ban or a delete says why.
        const channel = store.channels.get(frame.channel_id);
        const why = store.departed.get(frame.channel_id) ?? null;
        store.removeChannel(frame.channel_id);
        store.changed();
        if (channel) this.onRemoved?.(channel, why);
        break;
      }
      case "typing":
        store.setTyping(frame.channel_id, frame.user_id, TYPING_SHOWN);
        store.changed();
        this.later(TYPING_SHOWN + 50, () => store.changed());
        break;
      case "read_marker":
        if (store.applyReadMarker(frame)) store.changed();
        break;
      case "preferences":
        if (store.setPreferences(frame.channel_id, frame.preferences)) store.changed();
        break;
      case "blocked": // from another tab or device of mine: theirs collapse or show here too
        store.setBlocked({ id: frame.user_id }, frame.blocked);
        break;
      case "presence":
        if (frame.status === "online") store.online.add(frame.user_id);
        else store.online.delete(frame.user_id);
        store.changed();
        break;
      default:
        break; // pong, and types of later versions
    }
  }

  /** Pages events `after+1 ..= through` of a channel over REST. */
  async page(channelId, after, through) {
    let cursor = after;
    try {
      while (cursor < through && this.store.logs.has(channelId)) {
        const limit = Math.min(500, through - cursor);
        const { events } = await api("GET", `/channels/${channelId}/events?after=${cursor}&limit=${limit}`);
        if (events.length === 0) break;
        for (const event of events) this.store.addEvent(event);
        cursor = events[events.length - 1].seq;
        this.store.changed();
      }
    } catch {
      // The connection is probably down too: the next `ready` looks for holes again.
    }
  }

  fillHoles(channelId) {
    for (const [after, through] of this.store.log(channelId)?.holes() ?? []) this.page(channelId, after, through);
  }

  acked(frame) {
    const sent = this.settle(frame.ref);
    const id = sent?.id ?? frame.client_msg_id;
    const entry = this.store.outbox.get(id);
    if (entry) {
      if (frame.status === "stored" && this.store.log(entry.channel_id)?.seqs.has(frame.seq)) {
        this.store.forget(id); // its event came first
      } else {
        entry.state = frame.status; // "stored" until its event arrives, or "accepted"
      }
      this.store.saveOutbox();
      this.store.changed();
    }
    // The channel's next message goes out even when this one's event came
    // first and took it out of the outbox.
    if (sent) this.pump(sent.channelId);
  }

  failed(frame) {
    const sent = this.settle(frame.ref);
    if (!sent) return;
    const { id, channelId } = sent;
    const entry = this.store.outbox.get(id);
    if (!entry) return this.pump(channelId);
    if (frame.code === "rate_limited" || frame.code === "unavailable") {
      // Not the message's fault: it goes out again by itself, still first in
      // line — on this socket only: after a reconnect, flush() sends it.
      this.busy.add(channelId);
      const socket = this.socket;
      this.later(1000 + Math.random() * 1000, () => {
        if (socket !== this.socket) return;
        this.busy.delete(channelId);
        this.pump(channelId);
      });
    } else {
      entry.state = "failed";
      entry.error = frame.message;
      this.store.saveOutbox();
      this.pump(channelId);
    }
    this.store.changed();
  }

  /** What a ref was sent for, its channel free for the next message. */
  settle(ref) {
    const sent = this.inFlight.get(ref);
    if (sent === undefined) return undefined;
    this.inFlight.delete(ref);
    this.busy.delete(sent.channelId);
    return sent;
  }

  /** Queues a message; it goes out now if connected, else on reconnect. */
  /** Queues a message (a reply in the thread of `replyTo`, when given) and sends it when it can. */
  send(channelId, body, replyTo = null) {
    const id = newClientMsgId();
    const entry = { channel_id: channelId, body, state: "sending", created_at: new Date().toISOString() };
    if (replyTo) entry.reply_to_seq = replyTo;
    this.store.outbox.set(id, entry);
    this.store.saveOutbox();
    this.typingAfterSend.add(channelId);
    clearTimeout(this.typingTimers.get(channelId));
    this.typingTimers.delete(channelId);
    this.pump(channelId);
    this.store.changed();
  }

  /** Sends a failed message again with the same client_msg_id. */
  retry(id) {
    const entry = this.store.outbox.get(id);
    if (!entry) return;
    entry.state = "sending";
    delete entry.error;
    this.store.saveOutbox();
    this.pump(entry.channel_id);
    this.store.changed();
  }

  discard(id) {
    this.store.forget(id);
    this.store.saveOutbox();
    this.store.changed();
  }

  /**
   * Sends the oldest waiting message of a channel, one at a time per channel:
   * the server may run one socket's sends concurrently, and a person's
   * messages must be stored in the order they were written.
   */
  pump(channelId) {
    if (this.busy.has(channelId) || !this.ready()) return;
    for (const [id, entry] of this.store.outbox) {
      if (entry.channel_id !== channelId || entry.state !== "sending") continue;
      const ref = this.nextRef++;
      this.inFlight.set(ref, { id, channelId });
      this.busy.add(channelId);
      this.socket.send(JSON.stringify({ type: "send", ref, channel_id: channelId, client_msg_id: id, body: entry.body, reply_to_seq: entry.reply_to_seq }));
      return;
    }
  }

  /** After a reconnect everything not known stored goes out again, oldest first. */
  flush() {
    const channels = new Set();
    for (const entry of this.store.outbox.values()) {
      if (entry.state === "accepted") entry.state = "sending";
      channels.add(entry.channel_id);
    }
    for (const id of channels) this.pump(id);
  }

  ready() {
    return this.socket?.readyState === WebSocket.OPEN && this.store.status === "online";
  }

  /**
   * Tells the others I am typing: at most every TYPING_EVERY while I keep
   * typing, and soon after a send (once the server's one-a-second relay
   * limit allows), else the first keys of my next message go unannounced.
   */
  typing(channelId) {
    const now = Date.now();
    const last = this.lastTyping.get(channelId) ?? 0;
    const wait = (this.typingAfterSend.has(channelId) ? RELAY_EVERY : TYPING_EVERY) - (now - last);
    if (wait > 0) {
      if (this.typingAfterSend.has(channelId) && !this.typingTimers.has(channelId)) {
        this.typingTimers.set(channelId, this.later(wait, () => {
          this.typingTimers.delete(channelId);
          this.typing(channelId);
        }));
      }
      return;
    }
    if (!this.ready()) return;
    this.lastTyping.set(channelId, now);
    this.typingAfterSend.delete(channelId);
    this.socket.send(JSON.stringify({ type: "typing", channel_id: channelId }));
  }

  /**
   * Tells my other tabs at once, and the server (so my other devices) over
   * the socket when up, else REST: the first read at once, a burst of them
   * while scrolling as one more at the end.
   */
  read(channelId, seq, unread, mentions) {
    this.tabs?.postMessage({ channel_id: channelId, last_read_seq: seq, unread_count: unread, mention_count: mentions });
    const read = this.reads.get(channelId) ?? { seq: 0, sent: 0, timer: null };
    read.seq = Math.max(read.seq, seq);
    this.reads.set(channelId, read);
    if (read.timer === null) this.flushRead(channelId);
  }

  flushRead(channelId) {
    const read = this.reads.get(channelId);
    if (!read) return;
    if (read.seq <= read.sent) {
      this.reads.delete(channelId);
      return;
    }
    read.sent = read.seq;
    if (this.ready()) this.socket.send(JSON.stringify({ type: "read", channel_id: channelId, seq: read.seq }));
    else api("POST", `/channels/${channelId}/read`, { seq: read.seq }).catch(() => {});
    read.timer = this.later(READ_EVERY, () => {
      read.timer = null;
      this.flushRead(channelId);
    });
  }
}

/** 128 random bits as hex: crypto.randomUUID exists only in secure contexts. */
export function newClientMsgId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
