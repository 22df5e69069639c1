//! What a change may do to a message, and who may make it: edits by the
//! author; deletes by the author or the channel's owner or admins; one
//! reaction per person, message and emoji, at most [`MAX_EMOJI`] emoji on a
//! message; at most [`MAX_PINS`] pins in a channel; roles set by the owner.
//! A change that would change nothing (a reaction already there, a pin of a
//! pinned message) stores no event and is not an error.

use super::{Batch, Keys, Known};
use crate::command::{Appended, Change};
use crate::id::{ChannelId, UserId};
use crate::model::{name_key, name_taken, EventKind, Role};
use crate::parse::Seq;
use crate::ports::{ChannelChange, MemberChange, MessageChange, Reaction, Target};
use crate::{Error, Result};

/// The most distinct emoji on one message.
pub const MAX_EMOJI: usize = 20;
/// The most pinned messages in one channel.
pub const MAX_PINS: u32 = 100;

/// What the batch must read for `change`.
pub(super) fn keys(channel: ChannelId, change: &Change, keys: &mut Keys<'_>) {
    match change {
        Change::Edit { target, body, broadcast } => {
            keys.targets.push((channel, *target));
            keys.mentions(channel, body.as_str(), broadcast);
        }
        Change::Delete { target } => keys.targets.push((channel, *target)),
        Change::React { target, .. } => {
            keys.targets.push((channel, *target));
            keys.reacted.push((channel, *target));
        }
        Change::Pin { target, .. } => {
            keys.targets.push((channel, *target));
            keys.pinned.push(channel);
        }
        Change::SetRole { user, .. } | Change::Remove { user } => keys.pairs.push((channel, *user)),
        Change::Ban { user, .. } => {
            keys.pairs.push((channel, *user));
            keys.bans.push((channel, *user));
        }
        Change::Rename { name } => keys.names.push(name_key(name.as_str())),
        Change::SetTopic { .. } | Change::Archive { .. } | Change::DeleteChannel => {}
    }
}

/// The type of the event `change` stores, which a retry's first event must have.
pub(super) fn event_type(change: &Change) -> &'static str {
    match change {
        Change::Edit { .. } => "message_edited",
        Change::Delete { .. } => "message_deleted",
        Change::React { add: true, .. } => "reaction_added",
        Change::React { add: false, .. } => "reaction_removed",
        Change::Pin { pin: true, .. } => "message_pinned",
        Change::Pin { pin: false, .. } => "message_unpinned",
        Change::SetRole { .. } => "member_role_changed",
        Change::Rename { .. } => "channel_renamed",
        Change::SetTopic { .. } => "topic_changed",
        Change::Archive { archived: true } => "channel_archived",
        Change::Archive { archived: false } => "channel_unarchived",
        Change::Remove { .. } => "member_removed",
        Change::Ban { banned: true, .. } => "member_banned",
        Change::Ban { banned: false, .. } => "member_unbanned",
        Change::DeleteChannel => "channel_deleted",
    }
}

/// What the rules say of `change` (`None`: a reply) by `actor` to a message,
/// from what anyone can read of it: its `author`, and whether it is
/// `deleted`. A cluster's gateway checks this before it answers `accepted`.
pub fn check_target(change: Option<&Change>, author: UserId, deleted: bool, actor: UserId) -> Result<()> {
    match change {
        None if deleted => Err(Error::conflict("the message replied to is deleted")),
        Some(Change::Edit { .. }) if author != actor => Err(Error::forbidden("only its author can edit a message")),
        // Deleting a deleted message changes nothing.
        Some(Change::Delete { .. }) => Ok(()),
        Some(_) if deleted => Err(Error::conflict("the message is deleted")),
        _ => Ok(()),
    }
}

pub(super) fn key_reused() -> Error {
    Error::conflict("client_msg_id was used for another change: each change needs its own")
}

/// The root of the thread a reply to `reply_to_seq` joins: the message
/// itself, or the root it replies to (a thread is one level deep).
pub(super) fn thread_root(known: &Known<'_>, channel: ChannelId, reply_to_seq: Option<Seq>) -> Result<Option<Seq>> {
    let Some(seq) = reply_to_seq else { return Ok(None) };
    match known.targets.get(&(channel, seq)) {
        None => Err(Error::bad_request("reply_to_seq is not a message of this channel")),
        Some(target) => {
            check_target(None, target.sender_id, target.deleted, target.sender_id)?;
            Ok(Some(target.reply_to_seq.unwrap_or(seq)))
        }
    }
}

/// What [`Step::moderate`] made of a change.
enum Moderated {
    /// A change to a message or a role: not its business.
    NotModeration,
    /// Allowed, and it would change nothing: no event.
    Nothing,
    Event(EventKind),
}

/// One change applied to what the batch knows.
pub(super) struct Step<'a, 'c> {
    pub(super) known: &'a mut Known<'c>,
    pub(super) batch: &'a mut Batch,
    pub(super) members: &'a mut Vec<MemberChange>,
    pub(super) channels: &'a mut Vec<ChannelChange>,
    /// The actor is an admin of the server: they moderate any channel.
    pub(super) server_admin: bool,
}

impl Step<'_, '_> {
    pub(super) fn apply(
        &mut self,
        channel: ChannelId,
        actor: UserId,
        client_msg_id: &str,
        change: &Change,
        messages: &mut Vec<MessageChange>,
    ) -> Result<Appended> {
        if self.known.head(channel).is_none() {
            return Err(Error::not_found("channel not found"));
        }
        let member_role = self.known.members.get(&(channel, actor)).copied();
        let cmid = client_msg_id.to_owned();
        match self.moderate(channel, actor, member_role, cmid.clone(), change)? {
            Moderated::NotModeration => {}
            Moderated::Nothing => return Ok(self.nothing(channel)),
            Moderated::Event(kind) => {
                let event = self.batch.append(&mut self.known.heads, channel, actor, kind);
                return Ok(Appended { channel_id: channel, events: vec![event], created: true });
            }
        }
        let Some(role) = member_role else {
            return Err(Error::forbidden("you are not a member of this channel"));
        };
        super::writable(self.known.state(channel).archived)?;
        let moderates = role.moderates() || self.server_admin;
        let now = self.batch.now;
        // The seq of the event this change appends, last.
        let by_seq = self.known.heads[&channel] + 1;
        let kind = match change {
            Change::Rename { .. }
            | Change::SetTopic { .. }
            | Change::Archive { .. }
            | Change::Remove { .. }
            | Change::Ban { .. }
            | Change::DeleteChannel => return Err(Error::internal("a moderation change reached the message rules")),
            Change::SetRole { user, role: new } => {
                if role != Role::Owner {
                    return Err(Error::forbidden("only the channel's owner can change roles"));
                }
                if *new == Role::Owner {
                    return Err(Error::bad_request("role must be admin or member"));
                }
                if *user == actor {
                    return Err(Error::bad_request("the owner's own role cannot change"));
                }
                match self.known.members.get_mut(&(channel, *user)) {
                    None => return Err(Error::not_found("user is not a member of this channel")),
                    Some(now) if now == new => return Ok(self.nothing(channel)),
                    Some(now) => *now = *new,
                }
                self.members.push(MemberChange::SetRole { channel, user: *user, role: *new });
                EventKind::MemberRoleChanged { user_id: *user, role: *new, client_msg_id: cmid }
            }
            Change::Edit { target, body, broadcast } => {
                let (mentions, told) = self.known.mentions(channel, actor, body.as_str(), broadcast);
                let message = self.target(channel, *target)?;
                check_target(Some(change), message.sender_id, message.deleted, actor)?;
                if message.body == body.as_str() {
                    return Ok(self.nothing(channel));
                }
                message.body = body.as_str().to_owned();
                let (body, seq, id) = (body.as_str().to_owned(), *target, message.id);
                let edited = MessageChange::Edited {
                    channel,
                    seq,
                    body: body.clone(),
                    mentions: mentions.clone(),
                    at: now,
                    by_seq,
                };
                messages.push(edited);
                // Whom the message mentions now: those it no longer names are not told.
                messages.push(MessageChange::Mentioned { channel, seq, id, users: told });
                EventKind::MessageEdited { target_seq: seq, body, mentions, client_msg_id: cmid }
            }
            Change::Delete { target } => {
                let message = self.target(channel, *target)?;
                if message.deleted {
                    return Ok(self.nothing(channel));
                }
                // A DM's people are all plain members: each deletes only their own.
                if message.sender_id != actor && !moderates {
                    return Err(Error::forbidden(
                        "only its author or the channel's owner or admins can delete a message",
                    ));
                }
                message.deleted = true;
                message.body.clear();
                let (root, was_pinned) = (message.reply_to_seq, message.pinned_by.take().is_some());
                messages.push(MessageChange::Deleted { channel, seq: *target, by_seq });
                if let Some(root) = root {
                    messages.push(MessageChange::Replied { channel, root, delta: -1, at: None, by_seq });
                }
                if was_pinned {
                    self.known.pins.entry(channel).and_modify(|n| *n = n.saturating_sub(1));
                }
                self.known.emoji.remove(&(channel, *target));
                self.known.reactions.retain(|(c, s, ..)| !(*c == channel && s == target));
                EventKind::MessageDeleted { target_seq: *target, client_msg_id: cmid }
            }
            Change::React { target, emoji, add } => {
                let message = self.target(channel, *target)?;
                check_target(Some(change), message.sender_id, message.deleted, actor)?;
                let key = (channel, *target, emoji.as_str().to_owned(), actor);
                let on_message = self.known.emoji.entry((channel, *target)).or_default();
                if *add {
                    if self.known.reactions.contains(&key) {
                        return Ok(self.nothing(channel));
                    }
                    if !on_message.contains_key(emoji.as_str()) && on_message.len() >= MAX_EMOJI {
                        return Err(Error::conflict(format!("a message has at most {MAX_EMOJI} different emoji")));
                    }
                    *on_message.entry(emoji.as_str().to_owned()).or_default() += 1;
                    self.known.reactions.insert(key);
                } else {
                    if !self.known.reactions.remove(&key) {
                        return Ok(self.nothing(channel));
                    }
                    if let Some(count) = on_message.get_mut(emoji.as_str()) {
                        *count -= 1;
                        if *count == 0 {
                            on_message.remove(emoji.as_str());
                        }
                    }
                }
                let reaction = Reaction {
                    channel_id: channel,
                    seq: *target,
                    emoji: emoji.as_str().to_owned(),
                    user_id: actor,
                    added_seq: by_seq,
                };
                messages.push(MessageChange::Reacted { reaction, add: *add });
                let (target_seq, emoji) = (*target, emoji.as_str().to_owned());
                match add {
                    true => EventKind::ReactionAdded { target_seq, emoji, client_msg_id: cmid },
                    false => EventKind::ReactionRemoved { target_seq, emoji, client_msg_id: cmid },
                }
            }
            Change::Pin { target, pin } => {
                let message = self.target(channel, *target)?;
                check_target(Some(change), message.sender_id, message.deleted, actor)?;
                let pinned_by = message.pinned_by;
                match (pin, pinned_by) {
                    (true, Some(_)) | (false, None) => return Ok(self.nothing(channel)),
                    (false, Some(by)) if by != actor && !moderates => {
                        return Err(Error::forbidden(
                            "only who pinned it or the channel's owner or admins can unpin it",
                        ))
                    }
                    _ => {}
                }
                let pins = self.known.pins.entry(channel).or_default();
                if *pin && *pins >= MAX_PINS {
                    return Err(Error::conflict(format!("a channel has at most {MAX_PINS} pinned messages")));
                }
                *pins = if *pin { *pins + 1 } else { pins.saturating_sub(1) };
                let by = pin.then_some(actor);
                self.target(channel, *target)?.pinned_by = by;
                messages.push(MessageChange::Pinned { channel, seq: *target, by, at: now, by_seq });
                match pin {
                    true => EventKind::MessagePinned { target_seq: *target, client_msg_id: cmid },
                    false => EventKind::MessageUnpinned { target_seq: *target, client_msg_id: cmid },
                }
            }
        };
        let event = self.batch.append(&mut self.known.heads, channel, actor, kind);
        Ok(Appended { channel_id: channel, events: vec![event], created: true })
    }

    /// A change to the channel itself or to who is in it, by its owner or
    /// admins or a server admin (the channel's deletion: a server admin only).
    fn moderate(
        &mut self,
        channel: ChannelId,
        actor: UserId,
        role: Option<Role>,
        cmid: String,
        change: &Change,
    ) -> Result<Moderated> {
        let state = self.known.state(channel);
        let is_moderation = matches!(
            change,
            Change::Rename { .. }
                | Change::SetTopic { .. }
                | Change::Archive { .. }
                | Change::Remove { .. }
                | Change::Ban { .. }
                | Change::DeleteChannel
        );
        if !is_moderation {
            return Ok(Moderated::NotModeration);
        }
        if state.direct {
            return Err(Error::forbidden("a direct channel has no owner or admins to change it"));
        }
        let owner = role == Some(Role::Owner);
        let moderator = role.is_some_and(Role::moderates) || self.server_admin;
        if !moderator && !matches!(change, Change::DeleteChannel) {
            if role.is_none() {
                return Err(Error::forbidden("you are not a member of this channel"));
            }
            return Err(Error::forbidden("only the channel's owner and admins can do this"));
        }
        let now = self.batch.now;
        Ok(Moderated::Event(match change {
            Change::Rename { name } => {
                let key = name_key(name.as_str());
                if self.known.named.get(&key).is_some_and(|holder| *holder != channel) {
                    return Err(name_taken(name.as_str()));
                }
                self.known.named.insert(key, channel);
                let name = name.as_str().to_owned();
                self.channels.push(ChannelChange::Renamed { channel, name: name.clone() });
                EventKind::ChannelRenamed { name, client_msg_id: cmid }
            }
            Change::SetTopic { topic } => {
                let topic = topic.as_str().to_owned();
                self.channels.push(ChannelChange::Topic { channel, topic: topic.clone() });
                EventKind::TopicChanged { topic, client_msg_id: cmid }
            }
            Change::Archive { archived } => {
                if state.archived == *archived {
                    return Ok(Moderated::Nothing);
                }
                self.known.states.entry(channel).or_default().archived = *archived;
                self.channels.push(ChannelChange::Archived { channel, at: archived.then_some(now) });
                match archived {
                    true => EventKind::ChannelArchived { client_msg_id: cmid },
                    false => EventKind::ChannelUnarchived { client_msg_id: cmid },
                }
            }
            Change::Remove { user } | Change::Ban { user, banned: true } => {
                let banning = matches!(change, Change::Ban { .. });
                if *user == actor {
                    return Err(Error::bad_request("leave the channel instead"));
                }
                match self.known.members.get(&(channel, *user)) {
                    Some(Role::Owner) => return Err(Error::forbidden("the channel's owner cannot be removed")),
                    Some(Role::Admin) if !owner && !self.server_admin => {
                        return Err(Error::forbidden("only the channel's owner can remove an admin"))
                    }
                    None if !banning => return Ok(Moderated::Nothing),
                    _ => {}
                }
                if banning && !self.known.banned.insert((channel, *user)) {
                    return Ok(Moderated::Nothing);
                }
                if self.known.members.remove(&(channel, *user)).is_some() {
                    self.members.push(MemberChange::Remove { channel, user: *user });
                }
                if banning {
                    self.members.push(MemberChange::Ban { channel, user: *user, by: actor, at: now });
                    EventKind::MemberBanned { user_id: *user, client_msg_id: cmid }
                } else {
                    EventKind::MemberRemoved { user_id: *user, client_msg_id: cmid }
                }
            }
            Change::Ban { user, banned: false } => {
                if !self.known.banned.remove(&(channel, *user)) {
                    return Ok(Moderated::Nothing);
                }
                self.members.push(MemberChange::Unban { channel, user: *user });
                EventKind::MemberUnbanned { user_id: *user, client_msg_id: cmid }
            }
            Change::DeleteChannel => {
                if !self.server_admin {
                    return Err(Error::forbidden("only the server's admins can delete a channel"));
                }
                self.known.deleted.insert(channel);
                // The store drops its members with it: nothing of this batch adds one back.
                self.members.retain(|m| m.channel() != channel);
                self.channels.push(ChannelChange::Deleted { channel, at: now });
                EventKind::ChannelDeleted { client_msg_id: cmid }
            }
            _ => return Ok(Moderated::NotModeration),
        }))
    }

    fn target(&mut self, channel: ChannelId, seq: Seq) -> Result<&mut Target> {
        self.known.targets.get_mut(&(channel, seq)).ok_or_else(|| Error::not_found("message not found"))
    }

    fn nothing(&self, channel: ChannelId) -> Appended {
        Appended { channel_id: channel, events: vec![], created: false }
    }
}
