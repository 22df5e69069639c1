// Browser notifications: a message that arrives while I am not looking
// (the tab hidden, or the window without focus) and that my preferences for
// its channel want — every message at `all`; at `mentions`, those that
// mention me (in a DM, every message is one); nothing when the channel is
// muted or at `none`. Clicking one opens the message. Only shown
// once the browser allows it, which a person grants from a channel's
// Notifications dialog, never asked on page load.

import { channelTitle, displayName } from "./format.js";

const BODY_SHOWN = 200; // characters of the message in the notification

/** Whether `channel`'s preferences want to be told of `event`, a live one. */
export function wanted(store, channel, event) {
  if (event.type !== "message" || event.sender_id === store.user.id || event.deleted) return false;
  if (store.blocked.has(event.sender_id)) return false; // collapsed in the view: not raised outside it
  const preferences = channel.preferences ?? { notify: channel.kind === "direct" ? "all" : "mentions", muted: false };
  if (preferences.muted) return false;
  return preferences.notify === "all" || (preferences.notify === "mentions" && store.mentionsMe({ ...event, here: true }, channel));
}

export function notifyOf(store, event, open) {
  if (typeof Notification !== "function" || Notification.permission !== "granted") return;
  if (document.visibilityState === "visible" && document.hasFocus()) return;
  const channel = store.channels.get(event.channel_id);
  if (!channel || !wanted(store, channel, event)) return;
  const sender = displayName(store.users.get(event.sender_id));
  const title = channel.kind === "direct" ? sender : `${sender} in ${channelTitle(channel, store.user)}`;
  const body = (event.body ?? "").slice(0, BODY_SHOWN);
  // One per channel at a time: a burst replaces rather than piles up.
  const shown = new Notification(title, { body, tag: channel.id, icon: "/icon-192.png" });
  shown.onclick = () => {
    window.focus();
    open(channel.id, event.seq);
    shown.close();
  };
}
