// A channel's member list, beside the conversation (over it on a phone):
// who is in it, online first, each a button to what I can do to them
// (message, block, and as a moderator remove or ban); for its moderators,
// the people banned from it, each with Unban. Fetched again when the
// channel's log moved on while it is shown.

import { api } from "./api.js";
import { sentence } from "./auth.js";
import { avatar, dot, el } from "./dom.js";
import { displayName } from "./format.js";
import { changes, named, person, setBlocked, takeOut } from "./moderation.js";

/**
 * My role in a channel: as my channel list says (a `member_role_changed`
 * naming me moves it), else as its member list does. A channel made or
 * joined just now comes without it until the member list is read.
 */
export function roleIn(store, channel, members) {
  return channel.role ?? members?.find((m) => m.user.id === store.user.id)?.role ?? "member";
}

/** Whether I may rename, archive, remove and ban here: its owner or an admin, or a server admin. */
export function mayModerate(store, channel, members) {
  if (channel.kind === "direct") return false;
  return roleIn(store, channel, members) !== "member" || store.user.role === "admin";
}

export class MembersPanel {
  constructor({ store, actions, channelId }) {
    Object.assign(this, { store, actions, channelId });
    this.node = el("aside", { class: "members", "aria-label": "Members", hidden: true });
    this.members = null; // [{user, role, joined_at}], as last fetched
    this.bans = null; // [{user, banned_by, banned_at}], for a moderator
    this.at = -1; // the last seq the lists reflect
    this.fetching = false;
    this.key = "";
    this.make = changes();
  }

  get channel() {
    return this.store.channels.get(this.channelId);
  }

  get shown() {
    return !this.node.hidden;
  }

  /**
   * Fetches the lists when shown and the channel's log moved on since; once
   * when hidden, if my role here is not known yet (it decides what I may do).
   */
  async refresh() {
    const channel = this.channel;
    const last = channel?.last_seq ?? 0;
    const roleUnknown = channel && channel.kind !== "direct" && !channel.role && this.at === -1;
    if (!channel || (!this.shown && !roleUnknown) || this.at === last || this.fetching) return;
    this.fetching = true;
    try {
      const { members } = await api("GET", `/channels/${this.channelId}/members`);
      for (const member of members) this.store.users.set(member.user.id, member.user);
      this.members = members;
      const mine = members.find((m) => m.user.id === this.store.user.id);
      if (mine && this.channel && !this.channel.role) this.channel.role = mine.role;
      this.bans = mayModerate(this.store, this.channel, members)
        ? (await api("GET", `/channels/${this.channelId}/bans`).catch(() => ({ bans: null }))).bans : null;
      this.at = last;
    } catch {
      // Shown as it was; tried again on the next change.
    } finally {
      this.fetching = false;
    }
    this.store.changed();
  }

  /** Whether I may remove or ban `member`: the owner anyone else; a server admin anyone but the owner; an admin plain members. */
  canTakeOut(member) {
    const me = this.store.user;
    if (this.channel.kind === "direct" || member.user.id === me.id) return false;
    const mine = roleIn(this.store, this.channel, this.members);
    if (mine === "owner") return true;
    if (me.role === "admin") return member.role !== "owner";
    return mine === "admin" && member.role === "member";
  }

  render() {
    if (!this.shown) return;
    const store = this.store;
    const members = this.members ?? (this.channel.members ?? []).map((user) => ({ user, role: "member" }));
    const online = (m) => store.online.has(m.user.id) || m.user.id === store.user.id;
    const sorted = [...members].sort((a, b) => online(b) - online(a) || displayName(a.user).localeCompare(displayName(b.user)));
    const bans = this.bans ?? [];
    // Built again only when it changes, the focus kept on the same person.
    const key = JSON.stringify([sorted.map((m) => [m.user.id, displayName(m.user), m.role, online(m), store.blocked.has(m.user.id), m.user.deactivated]),
      this.bans && bans.map((b) => [b.user.id, displayName(b.user), displayName(store.users.get(b.banned_by))])]);
    if (key === this.key) return;
    this.key = key;
    const focused = this.node.contains(document.activeElement) ? document.activeElement.dataset.focus : null;
    this.node.replaceChildren(
      el("h2", { tabindex: "-1" }, `Members (${members.length})`),
      el("ul", { class: "list" }, sorted.map((m) => el("li", { class: "member" }, avatar(m.user, m.user.id), dot(online(m)),
        el("button", {
          type: "button", class: "member-name", "aria-haspopup": "dialog", "data-focus": `member ${m.user.id}`,
          title: `${displayName(m.user)}: profile and actions`, onclick: () => this.about(m),
        }, el("span", { class: "name", dir: "auto" }, displayName(m.user)),
        m.user.deactivated ? el("small", { class: "hint" }, " (deactivated)") : null),
        store.blocked.has(m.user.id) ? el("small", { class: "blocked-mark" }, "blocked") : null,
        m.role !== "member" ? el("small", { class: "role" }, m.role) : null))),
      ...(this.bans ? [
        el("h2", { id: `bans-${this.channelId}` }, `Banned (${bans.length})`),
        el("ul", { class: "list bans", "aria-labelledby": `bans-${this.channelId}` },
          bans.length ? bans.map((b) => el("li", { class: "banned" }, avatar(b.user, b.user.id),
            el("span", { class: "grow" }, el("span", { class: "name", dir: "auto" }, displayName(b.user)),
              el("small", { class: "hint" }, ` by ${displayName(store.users.get(b.banned_by) ?? store.lookupUser(b.banned_by))}`)),
            el("button", { type: "button", "aria-label": `Unban ${b.user.username}`, "data-focus": `unban ${b.user.id}`, onclick: () => this.unban(b.user) }, "Unban")))
            : el("li", { class: "empty" }, "Nobody is banned.")),
      ] : []));
    if (focused) (this.node.querySelector(`[data-focus="${focused}"]`) ?? this.node.querySelector("h2"))?.focus();
  }

  /** One person: what I can do to them, done after its confirmation. */
  async about(member) {
    const channel = this.channel;
    const user = member.user;
    const choice = await person(this.store, user, { role: member.role, channel, canRemove: this.canTakeOut(member) });
    const back = () => (this.node.querySelector(`[data-focus="member ${user.id}"]`) ?? this.node.querySelector("h2"))?.focus();
    try {
      switch (choice) {
        case "message":
          return this.actions.message(user);
        case "block":
        case "unblock":
          if (await setBlocked(this.store, user, choice === "block")) {
            this.actions.tell(choice === "block" ? `You blocked ${user.username}. Their messages are collapsed for you.` : `You unblocked ${user.username}.`);
          }
          break;
        case "remove":
        case "ban":
          if (await takeOut(channel, user, choice === "ban", this.make)) {
            this.actions.tell(`${user.username} was ${choice === "ban" ? "banned" : "removed"} from ${named(channel)}.`);
          }
          break;
        default:
          break;
      }
    } catch (failure) {
      this.actions.tell(sentence(failure.message));
    }
    back();
  }

  async unban(user) {
    try {
      await this.make(`unban ${user.id}`, "DELETE", `/channels/${this.channelId}/bans/${user.id}`);
      this.actions.tell(`${user.username} is no longer banned from ${named(this.channel)}.`);
    } catch (failure) {
      this.actions.tell(sentence(failure.message));
    }
  }
}
