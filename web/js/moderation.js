// Moderating a channel and blocking people: a channel's settings (rename,
// topic, archive, and for a server admin delete, naming it), one person
// as a member list shows them (message, block, remove, ban), the
// confirmations in front of each, and the sentence a member is told when a
// channel leaves their list. Each change to a channel carries a
// client_msg_id, kept while the same change is tried again after the network
// or the server failed, so it is made once; its event comes back live and
// changes the header, the sidebar and the log.

import { api } from "./api.js";
import { sentence } from "./auth.js";
import { newClientMsgId } from "./connection.js";
import { avatar, el, modal } from "./dom.js";
import { channelTitle, displayName } from "./format.js";

/** How a channel is named in a sentence: `#plans`. */
export const named = (channel) => (channel?.kind === "direct" ? "this conversation" : `#${channel?.name ?? "a channel"}`);

/**
 * A maker of changes that keeps a change's client_msg_id while the same
 * change (`what`) fails for want of the network or the server, and takes a
 * new one once it was answered, stored or refused.
 */
export function changes() {
  let pending = null; // {what, key}
  return async (what, method, path, body) => {
    const key = pending?.what === what ? pending.key : newClientMsgId();
    pending = { what, key };
    try {
      const answer = body
        ? await api(method, path, { ...body, client_msg_id: key })
        : await api(method, `${path}${path.includes("?") ? "&" : "?"}client_msg_id=${key}`);
      pending = null;
      return answer;
    } catch (failure) {
      if (failure.status !== 0 && failure.code !== "unavailable") pending = null;
      throw failure;
    }
  };
}

/** A confirmation: resolves true when `action` is chosen; Cancel has the focus. */
export function confirm(title, text, action) {
  return modal(title, (close) => el("div", { class: "dialog-body" }, el("p", {}, text),
    el("div", { class: "buttons" }, el("button", { type: "button", autofocus: true, onclick: () => close(false) }, "Cancel"),
      el("button", { type: "button", class: "danger", onclick: () => close(true) }, action))));
}

/**
 * Archives or unarchives a channel (the store's), after a confirmation;
 * resolves true once done, the channel marked so at once (its event, which
 * says so to every member, may come a moment later).
 */
export async function setArchived(channel, archived, make = changes()) {
  const sure = archived
    ? await confirm(`Archive ${named(channel)}?`, "It becomes read-only for everyone: nobody can post, edit or react, and nobody new can join. "
      + "It leaves the channel directory. Its members keep it, and can read and search it. You can unarchive it later.", "Archive")
    : await confirm(`Unarchive ${named(channel)}?`, "Its members can post in it again, and a public channel is back in the directory.", "Unarchive");
  if (!sure) return false;
  await make(archived ? "archive" : "unarchive", "PATCH", `/channels/${channel.id}`, { archived });
  channel.archived = archived;
  return true;
}

/**
 * A channel's settings, for its owner and admins and a server admin: its
 * name, its topic, archiving, and for a server admin deleting it. Resolves
 * with "deleted" when it was deleted, else null.
 */
export function settings(store, channelId) {
  const channel = () => store.channels.get(channelId);
  const serverAdmin = store.user.role === "admin";
  return modal("Channel settings", (close) => {
    const make = changes();
    const field = (id, label, value, max, button, hint, save) => {
      const input = el("input", { id, value, maxlength: String(max), autocomplete: "off", required: id === "settings-name" });
      const error = el("p", { class: "error", role: "alert" });
      const done = el("p", { class: "hint done", role: "status" });
      const submit = el("button", { type: "submit" }, button);
      const onsubmit = async (e) => {
        e.preventDefault();
        error.textContent = "";
        done.textContent = "";
        submit.disabled = true;
        try {
          done.textContent = await save(input.value.trim());
        } catch (failure) {
          error.textContent = sentence(failure.message);
          input.focus();
        } finally {
          submit.disabled = false;
        }
      };
      return el("form", { class: "stack", onsubmit }, el("label", { for: id }, label),
        el("div", { class: "row" }, input, submit), hint ? el("small", { class: "hint" }, hint) : null, error, done);
    };
    const name = field("settings-name", "Name", channel().name, 80, "Rename", "Every member sees the new name at once.", async (value) => {
      if (value === channel().name) return "That is its name already.";
      await make(`name ${value}`, "PATCH", `/channels/${channelId}`, { name: value });
      return `Renamed to #${value}.`;
    });
    const topic = field("settings-topic", "Topic", channel().topic ?? "", 250, "Save topic", "Shown under the name, in the header.", async (value) => {
      await make(`topic ${value}`, "PATCH", `/channels/${channelId}`, { topic: value });
      return value ? "Topic saved." : "Topic cleared.";
    });

    const archive = el("section", { class: "setting", "aria-labelledby": "settings-archive-heading" });
    const showArchive = () => {
      const archived = Boolean(channel()?.archived);
      const error = el("p", { class: "error", role: "alert" });
      const button = el("button", {
        type: "button",
        onclick: async () => {
          error.textContent = "";
          try {
            if (await setArchived(channel(), !archived, make)) {
              store.changed();
              showArchive();
            }
            archive.querySelector("button")?.focus();
          } catch (failure) {
            error.textContent = sentence(failure.message);
          }
        },
      }, archived ? "Unarchive channel" : "Archive channel");
      archive.replaceChildren(el("h3", { id: "settings-archive-heading" }, archived ? "Archived" : "Archive"),
        el("p", { class: "hint" }, archived
          ? "This channel is read-only. Unarchiving it lets its members post again."
          : "Make it read-only for everyone, and take it out of the directory. Its members keep it."),
        el("div", {}, button), error);
    };
    showArchive();

    const remove = serverAdmin ? el("section", { class: "setting danger-zone", "aria-labelledby": "settings-delete-heading" },
      el("h3", { id: "settings-delete-heading" }, "Delete"),
      el("p", { class: "hint" }, "As a server admin you can delete this channel, with every message in it, for everyone."),
      el("div", {}, el("button", {
        type: "button", class: "danger",
        onclick: async (e) => {
          if (await deleteChannel(channel())) close("deleted");
          else e.target.focus();
        },
      }, "Delete channel…"))) : null;

    return el("div", { class: "dialog-body settings" },
      el("p", { class: "hint" }, "Changes are made for every member at once, and said in the conversation."),
      name, topic, archive, remove,
      el("div", { class: "buttons" }, el("button", { type: "button", onclick: () => close() }, "Done")));
  });
}

/**
 * Deletes a channel for good, a server admin's: its name must be typed,
 * exactly (the server checks it too). Resolves true once deleted.
 */
export function deleteChannel(channel) {
  return modal(`Delete ${named(channel)}?`, (close) => {
    const make = changes();
    const input = el("input", { id: "delete-confirm", autocomplete: "off", spellcheck: "false", "aria-describedby": "delete-what" });
    const submit = el("button", { type: "submit", class: "danger", disabled: true }, "Delete channel");
    const error = el("p", { class: "error", role: "alert" });
    input.addEventListener("input", () => {
      submit.disabled = input.value !== channel.name;
    });
    const onsubmit = async (e) => {
      e.preventDefault();
      if (input.value !== channel.name) return;
      submit.disabled = true;
      error.textContent = "";
      try {
        await make("delete", "DELETE", `/channels/${channel.id}?confirm=${encodeURIComponent(input.value)}`);
        close(true);
      } catch (failure) {
        error.textContent = sentence(failure.message);
        submit.disabled = false;
      }
    };
    return el("form", { class: "dialog-body", onsubmit },
      el("p", { id: "delete-what" }, "Every message, member and invite of it is deleted for everyone, and cannot be brought back. "
        + "Its members see it leave their list."),
      el("label", { for: "delete-confirm" }, "Type ", el("strong", { dir: "auto" }, channel.name), " to confirm"), input,
      error,
      el("div", { class: "buttons" }, el("button", { type: "button", onclick: () => close(false) }, "Cancel"), submit));
  });
}

/**
 * One person, from a member list: who they are, and what I can do —
 * message them, block or unblock them, and as a moderator remove or ban
 * them. Resolves with the action chosen ("message", "block", "unblock",
 * "remove", "ban") or null.
 */
export function person(store, user, { role = null, channel = null, canRemove = false } = {}) {
  const me = user.id === store.user.id;
  const blocked = store.blocked.has(user.id);
  return modal(displayName(user), (close) => {
    let first = true; // the first action has the focus
    const action = (text, value, kind = null) => {
      const button = el("button", { type: "button", class: kind, autofocus: first, onclick: () => close(value) }, text);
      first = false;
      return button;
    };
    return el("div", { class: "dialog-body person" },
      el("div", { class: "who" }, avatar(user, user.id),
        el("span", { class: "grow" }, el("strong", { dir: "auto" }, displayName(user)), el("small", {}, ` @${user.username}`)),
        el("span", { class: "tags" },
          role && role !== "member" ? el("span", { class: "tag" }, role === "owner" ? "Owner" : "Admin") : null,
          user.role === "admin" ? el("span", { class: "tag admin" }, "Server admin") : null,
          user.deactivated ? el("span", { class: "tag off" }, "Deactivated") : null,
          blocked ? el("span", { class: "tag off" }, "Blocked") : null,
          me ? el("span", { class: "tag" }, "You") : null)),
      me ? null : el("div", { class: "person-actions" },
        user.deactivated ? null : action("Send a message", "message"),
        action(blocked ? "Unblock" : "Block", blocked ? "unblock" : "block"),
        canRemove ? action(`Remove from ${named(channel)}`, "remove") : null,
        canRemove ? action(`Ban from ${named(channel)}`, "ban", "danger") : null),
      me ? null : el("p", { class: "hint" }, blocked
        ? "Their messages are collapsed for you, and they cannot message you directly."
        : "Blocking collapses their messages for you and stops them messaging you directly. They are not told."),
      el("div", { class: "buttons" }, el("button", { type: "button", onclick: () => close() }, "Close")));
  });
}

/** Blocks someone after a confirmation, or unblocks them; resolves true once done. */
export async function setBlocked(store, user, blocked) {
  if (blocked && !(await confirm(`Block ${user.username}?`, `You will not see ${displayName(user)}'s messages unless you choose to show one, `
    + "and they cannot message you directly. They are not told; you can unblock them from their name or your account.", "Block"))) return false;
  await api(blocked ? "PUT" : "DELETE", `/me/blocks/${user.id}`);
  store.setBlocked(user, blocked);
  return true;
}

/** Removes or bans a member after a confirmation; resolves true once done. */
export async function takeOut(channel, user, ban, make = changes()) {
  const who = displayName(user);
  const sure = ban
    ? await confirm(`Ban ${user.username} from ${named(channel)}?`,
      `${who} is removed at once and cannot join again, by invite or from the directory, until unbanned.`, "Ban")
    : await confirm(`Remove ${user.username} from ${named(channel)}?`,
      `${who} is removed at once. They can come back${channel.kind === "public" ? " from the directory or" : ""} with an invite.`, "Remove");
  if (!sure) return false;
  const path = ban ? `/channels/${channel.id}/bans/${user.id}` : `/channels/${channel.id}/members/${user.id}`;
  await make(`${ban ? "ban" : "remove"} ${user.id}`, ban ? "PUT" : "DELETE", path);
  return true;
}

/** What a member is told when a channel leaves their list, or null when they left it themselves. */
export function farewell(store, channel, why) {
  if (!why || !channel) return null;
  const where = channelTitle(channel, store.user);
  const prefix = channel.kind === "direct" ? "" : "#";
  const known = store.users.get(why.by);
  const by = why.by === store.user.id ? "you" : known ? displayName(known) : why.type === "channel_deleted" ? "a server admin" : "a moderator";
  switch (why.type) {
    case "member_removed": return `You were removed from ${prefix}${where} by ${by}.`;
    case "member_banned": return `You were banned from ${prefix}${where} by ${by}.`;
    case "channel_deleted": return why.by === store.user.id ? `You deleted ${prefix}${where}.` : `${prefix}${where} was deleted by ${by}.`;
    default: return null;
  }
}
