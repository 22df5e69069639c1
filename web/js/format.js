// How times, days and channel names read on screen.

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", month: "long", day: "numeric" });
const dayYearFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", year: "numeric", month: "long", day: "numeric" });

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

export const time = (date) => timeFormat.format(date);
export const fullTime = (date) => fullFormat.format(date);
export const dateTime = (date) => dateTimeFormat.format(date);

/** "5 minutes ago", "yesterday", "3 weeks ago": how long ago `date` was, in its largest whole unit. */
export function ago(date, now = Date.now()) {
  const seconds = Math.round((date.getTime() - now) / 1000);
  for (const [unit, size] of [["year", 31_536_000], ["month", 2_592_000], ["week", 604_800], ["day", 86_400], ["hour", 3600], ["minute", 60]]) {
    if (Math.abs(seconds) >= size) return relativeFormat.format(Math.trunc(seconds / size), unit);
  }
  return "just now";
}

/** A local-calendar key for grouping by day. */
export const dayKey = (date) => `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;

/** "Today", "Yesterday", or the date (with the year when it is not this one). */
export function dayLabel(date, now = new Date()) {
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (dayKey(date) === dayKey(now)) return "Today";
  if (dayKey(date) === dayKey(yesterday)) return "Yesterday";
  return (date.getFullYear() === now.getFullYear() ? dayFormat : dayYearFormat).format(date);
}

export const displayName = (user) => user?.display_name || user?.username || "…";

/** A channel's name as the sidebar shows it: DMs by the other people's names. */
export function channelTitle(channel, me) {
  if (channel.kind === "direct") {
    const others = (channel.members ?? []).filter((u) => u.id !== me?.id);
    return others.length ? others.map(displayName).join(", ") : `${displayName(me)} (you)`;
  }
  return channel.name;
}

/** The icon name for a channel's kind. */
export const channelIcon = (channel) => (channel.kind === "private" ? "lock" : channel.kind === "direct" ? "at" : "hash");

/** "1 new message", "3 new messages". */
export const plural = (n, noun) => `${n.toLocaleString()} ${noun}${n === 1 ? "" : "s"}`;
