//! The JSON forms in Kafka messages: a stored `Event` on the events topic, an
//! accepted `Command` on the commands topic; both keyed by channel id.
//!
//! A value is self-contained (the channel id is in it as well as in the
//! key) and carries every field exactly: ids as hyphenated UUIDs, `created_at`
//! as Unix milliseconds rather than the RFC 3339 text of the client protocol,
//! which would have to be parsed back. Field names never change once
//! released; a new event type is a new `type` value, which an older reader
//! refuses (and reports as lost, never skips silently). The same holds for a
//! new command type, which an older processor logs and skips: processors are
//! upgraded before the gateways that send it.

use parley_core::command::{Change, Command};
use parley_core::emoji::Emoji;
use parley_core::id::{ChannelId, EventId, UserId};
use parley_core::model::{Channel, ChannelKind, Event, EventKind, Mentions, Role};
use parley_core::parse::{Body, ChannelName, ClientMsgId, Topic};
use parley_core::time::Timestamp;
use parley_core::Error;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The message key: the channel id, so a channel's events share a partition.
pub(crate) fn key(event: &Event) -> String {
    event.channel_id.to_string()
}

pub(crate) fn encode(event: &Event) -> Vec<u8> {
    let kind = match event.kind.clone() {
        // A message is on the feed as it was stored, before any change.
        EventKind::Message { body, client_msg_id, reply_to_seq, mentions, .. } => {
            let (mentions, mentions_channel, mentions_here) = wire_mentions(mentions);
            WireKind::Message { body, client_msg_id, reply_to_seq, mentions, mentions_channel, mentions_here }
        }
        EventKind::MemberJoined { user_id } => WireKind::MemberJoined { user_id: user_id.as_uuid() },
        EventKind::MemberLeft { user_id } => WireKind::MemberLeft { user_id: user_id.as_uuid() },
        EventKind::MessageEdited { target_seq, body, mentions, client_msg_id } => {
            let (mentions, mentions_channel, mentions_here) = wire_mentions(mentions);
            WireKind::MessageEdited { target_seq, body, mentions, mentions_channel, mentions_here, client_msg_id }
        }
        EventKind::MessageDeleted { target_seq, client_msg_id } => {
            WireKind::MessageDeleted { target_seq, client_msg_id }
        }
        EventKind::ReactionAdded { target_seq, emoji, client_msg_id } => {
            WireKind::ReactionAdded { target_seq, emoji, client_msg_id }
        }
        EventKind::ReactionRemoved { target_seq, emoji, client_msg_id } => {
            WireKind::ReactionRemoved { target_seq, emoji, client_msg_id }
        }
        EventKind::MessagePinned { target_seq, client_msg_id } => WireKind::MessagePinned { target_seq, client_msg_id },
        EventKind::MessageUnpinned { target_seq, client_msg_id } => {
            WireKind::MessageUnpinned { target_seq, client_msg_id }
        }
        EventKind::MemberRoleChanged { user_id, role, client_msg_id } => {
            WireKind::MemberRoleChanged { user_id: user_id.as_uuid(), role: role.as_str().to_owned(), client_msg_id }
        }
        EventKind::ChannelRenamed { name, client_msg_id } => WireKind::ChannelRenamed { name, client_msg_id },
        EventKind::TopicChanged { topic, client_msg_id } => WireKind::TopicChanged { topic, client_msg_id },
        EventKind::ChannelArchived { client_msg_id } => WireKind::ChannelArchived { client_msg_id },
        EventKind::ChannelUnarchived { client_msg_id } => WireKind::ChannelUnarchived { client_msg_id },
        EventKind::MemberRemoved { user_id, client_msg_id } => {
            WireKind::MemberRemoved { user_id: user_id.as_uuid(), client_msg_id }
        }
        EventKind::MemberBanned { user_id, client_msg_id } => {
            WireKind::MemberBanned { user_id: user_id.as_uuid(), client_msg_id }
        }
        EventKind::MemberUnbanned { user_id, client_msg_id } => {
            WireKind::MemberUnbanned { user_id: user_id.as_uuid(), client_msg_id }
        }
        EventKind::ChannelDeleted { client_msg_id } => WireKind::ChannelDeleted { client_msg_id },
    };
    let wire = WireEvent {
        channel_id: event.channel_id.as_uuid(),
        seq: event.seq,
        id: event.id.as_uuid(),
        sender_id: event.sender_id.as_uuid(),
        created_at_ms: event.created_at.millis(),
        kind,
    };
    // Serializing plain strings and numbers to a Vec cannot fail.
    serde_json::to_vec(&wire).expect("an event serializes")
}

/// Decodes one message value; a value this version cannot read is `internal`
/// with the reason, for the log.
pub(crate) fn decode(value: &[u8]) -> Result<Event, Error> {
    let wire: WireEvent = serde_json::from_slice(value)
        .map_err(|err| Error::internal(format!("undecodable feed message: {err}")).with_source(err))?;
    let kind = match wire.kind {
        WireKind::Message { body, client_msg_id, reply_to_seq, mentions, mentions_channel, mentions_here } => {
            let mentions = from_wire_mentions(mentions, mentions_channel, mentions_here);
            EventKind::Message { body, client_msg_id, reply_to_seq, mentions, state: Default::default() }
        }
        WireKind::MemberJoined { user_id } => EventKind::MemberJoined { user_id: UserId::from_uuid(user_id) },
        WireKind::MemberLeft { user_id } => EventKind::MemberLeft { user_id: UserId::from_uuid(user_id) },
        WireKind::MessageEdited { target_seq, body, mentions, mentions_channel, mentions_here, client_msg_id } => {
            let mentions = from_wire_mentions(mentions, mentions_channel, mentions_here);
            EventKind::MessageEdited { target_seq, body, mentions, client_msg_id }
        }
        WireKind::MessageDeleted { target_seq, client_msg_id } => {
            EventKind::MessageDeleted { target_seq, client_msg_id }
        }
        WireKind::ReactionAdded { target_seq, emoji, client_msg_id } => {
            EventKind::ReactionAdded { target_seq, emoji, client_msg_id }
        }
        WireKind::ReactionRemoved { target_seq, emoji, client_msg_id } => {
            EventKind::ReactionRemoved { target_seq, emoji, client_msg_id }
        }
        WireKind::MessagePinned { target_seq, client_msg_id } => EventKind::MessagePinned { target_seq, client_msg_id },
        WireKind::MessageUnpinned { target_seq, client_msg_id } => {
            EventKind::MessageUnpinned { target_seq, client_msg_id }
        }
        WireKind::MemberRoleChanged { user_id, role, client_msg_id } => EventKind::MemberRoleChanged {
            user_id: UserId::from_uuid(user_id),
            role: Role::from_db(&role)
                .ok_or_else(|| Error::internal(format!("undecodable feed message: role {role:?}")))?,
            client_msg_id,
        },
        WireKind::ChannelRenamed { name, client_msg_id } => EventKind::ChannelRenamed { name, client_msg_id },
        WireKind::TopicChanged { topic, client_msg_id } => EventKind::TopicChanged { topic, client_msg_id },
        WireKind::ChannelArchived { client_msg_id } => EventKind::ChannelArchived { client_msg_id },
        WireKind::ChannelUnarchived { client_msg_id } => EventKind::ChannelUnarchived { client_msg_id },
        WireKind::MemberRemoved { user_id, client_msg_id } => {
            EventKind::MemberRemoved { user_id: UserId::from_uuid(user_id), client_msg_id }
        }
        WireKind::MemberBanned { user_id, client_msg_id } => {
            EventKind::MemberBanned { user_id: UserId::from_uuid(user_id), client_msg_id }
        }
        WireKind::MemberUnbanned { user_id, client_msg_id } => {
            EventKind::MemberUnbanned { user_id: UserId::from_uuid(user_id), client_msg_id }
        }
        WireKind::ChannelDeleted { client_msg_id } => EventKind::ChannelDeleted { client_msg_id },
    };
    Ok(Event {
        channel_id: ChannelId::from_uuid(wire.channel_id),
        seq: wire.seq,
        id: EventId::from_uuid(wire.id),
        sender_id: UserId::from_uuid(wire.sender_id),
        created_at: Timestamp::from_millis(wire.created_at_ms),
        kind,
    })
}

fn wire_mentions(mentions: Mentions) -> (Vec<Uuid>, bool, bool) {
    (mentions.users.iter().map(UserId::as_uuid).collect(), mentions.channel, mentions.here)
}

fn from_wire_mentions(users: Vec<Uuid>, channel: bool, here: bool) -> Mentions {
    Mentions { users: users.into_iter().map(UserId::from_uuid).collect(), channel, here }
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Serialize, Deserialize)]
struct WireEvent {
    channel_id: Uuid,
    seq: i64,
    id: Uuid,
    sender_id: Uuid,
    created_at_ms: i64,
    #[serde(flatten)]
    kind: WireKind,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireKind {
    Message {
        body: String,
        client_msg_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to_seq: Option<i64>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mentions: Vec<Uuid>,
        #[serde(default, skip_serializing_if = "is_false")]
        mentions_channel: bool,
        #[serde(default, skip_serializing_if = "is_false")]
        mentions_here: bool,
    },
    MemberJoined {
        user_id: Uuid,
    },
    MemberLeft {
        user_id: Uuid,
    },
    MessageEdited {
        target_seq: i64,
        body: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mentions: Vec<Uuid>,
        #[serde(default, skip_serializing_if = "is_false")]
        mentions_channel: bool,
        #[serde(default, skip_serializing_if = "is_false")]
        mentions_here: bool,
        client_msg_id: String,
    },
    MessageDeleted {
        target_seq: i64,
        client_msg_id: String,
    },
    ReactionAdded {
        target_seq: i64,
        emoji: String,
        client_msg_id: String,
    },
    ReactionRemoved {
        target_seq: i64,
        emoji: String,
        client_msg_id: String,
    },
    MessagePinned {
        target_seq: i64,
        client_msg_id: String,
    },
    MessageUnpinned {
        target_seq: i64,
        client_msg_id: String,
    },
    MemberRoleChanged {
        user_id: Uuid,
        role: String,
        client_msg_id: String,
    },
    ChannelRenamed {
        name: String,
        client_msg_id: String,
    },
    TopicChanged {
        topic: String,
        client_msg_id: String,
    },
    ChannelArchived {
        client_msg_id: String,
    },
    ChannelUnarchived {
        client_msg_id: String,
    },
    MemberRemoved {
        user_id: Uuid,
        client_msg_id: String,
    },
    MemberBanned {
        user_id: Uuid,
        client_msg_id: String,
    },
    MemberUnbanned {
        user_id: Uuid,
        client_msg_id: String,
    },
    ChannelDeleted {
        client_msg_id: String,
    },
}

/// A command as the processor reads it back.
#[derive(Debug)]
pub(crate) struct Accepted {
    pub command: Command,
    /// When the gateway handed it to the log: how long it waited shows here.
    pub accepted_at: Timestamp,
}

/// Key and value of `command`, accepted at `accepted_at`. Every command goes
/// through the log in cluster mode, so that each channel has one writer (its
/// partition's processor) and its events reach the feed in `seq` order.
pub(crate) fn encode_command(command: &Command, accepted_at: Timestamp) -> (String, Vec<u8>) {
    let accepted_at_ms = accepted_at.millis();
    let (channel, wire) = match command {
        Command::Post { channel, sender, client_msg_id, body, reply_to_seq, broadcast } => (
            *channel,
            WireCommand::Post {
                channel_id: channel.as_uuid(),
                sender_id: sender.as_uuid(),
                client_msg_id: client_msg_id.as_str().to_owned(),
                body: body.as_str().to_owned(),
                reply_to_seq: *reply_to_seq,
                broadcast: broadcast.iter().map(UserId::as_uuid).collect(),
                accepted_at_ms,
            },
        ),
        Command::Join { channel, user, actor } => (
            *channel,
            WireCommand::Join {
                channel_id: channel.as_uuid(),
                user_id: user.as_uuid(),
                actor_id: actor.as_uuid(),
                accepted_at_ms,
            },
        ),
        Command::Leave { channel, user, actor } => (
            *channel,
            WireCommand::Leave {
                channel_id: channel.as_uuid(),
                user_id: user.as_uuid(),
                actor_id: actor.as_uuid(),
                accepted_at_ms,
            },
        ),
        Command::Create { channel, members } => (
            channel.id,
            WireCommand::Create {
                channel_id: channel.id.as_uuid(),
                kind: channel.kind.as_str().to_owned(),
                name: channel.name.clone(),
                topic: channel.topic.clone(),
                created_at_ms: channel.created_at.millis(),
                created_by: channel.created_by.as_uuid(),
                dm_key: channel.dm_key.clone(),
                members: members
                    .iter()
                    .map(|(user, role)| WireMember { user_id: user.as_uuid(), role: role.as_str().to_owned() })
                    .collect(),
                accepted_at_ms,
            },
        ),
        Command::Change { channel, actor, client_msg_id, change, server_admin } => {
            let (channel_id, actor_id, client_msg_id) =
                (channel.as_uuid(), actor.as_uuid(), client_msg_id.as_str().to_owned());
            let server_admin = *server_admin;
            let moderate = |action| WireCommand::Moderate {
                channel_id,
                actor_id,
                client_msg_id: client_msg_id.clone(),
                server_admin,
                action,
                accepted_at_ms,
            };
            let wire = match change {
                Change::Edit { target, body, broadcast } => WireCommand::Edit {
                    broadcast: broadcast.iter().map(UserId::as_uuid).collect(),
                    channel_id,
                    actor_id,
                    client_msg_id,
                    target_seq: *target,
                    body: body.as_str().to_owned(),
                    accepted_at_ms,
                },
                Change::Delete { target } => WireCommand::Delete {
                    channel_id,
                    actor_id,
                    client_msg_id,
                    target_seq: *target,
                    server_admin,
                    accepted_at_ms,
                },
                Change::React { target, emoji, add } => WireCommand::React {
                    channel_id,
                    actor_id,
                    client_msg_id,
                    target_seq: *target,
                    emoji: emoji.as_str().to_owned(),
                    add: *add,
                    accepted_at_ms,
                },
                Change::Pin { target, pin } => WireCommand::Pin {
                    channel_id,
                    actor_id,
                    client_msg_id,
                    target_seq: *target,
                    pin: *pin,
                    server_admin,
                    accepted_at_ms,
                },
                Change::SetRole { user, role } => WireCommand::SetRole {
                    channel_id,
                    actor_id,
                    client_msg_id,
                    user_id: user.as_uuid(),
                    role: role.as_str().to_owned(),
                    accepted_at_ms,
                },
                Change::Rename { name } => moderate(WireAction::Rename { name: name.as_str().to_owned() }),
                Change::SetTopic { topic } => moderate(WireAction::Topic { topic: topic.as_str().to_owned() }),
                Change::Archive { archived } => moderate(WireAction::Archive { archived: *archived }),
                Change::Remove { user } => moderate(WireAction::Remove { user_id: user.as_uuid() }),
                Change::Ban { user, banned } => moderate(WireAction::Ban { user_id: user.as_uuid(), banned: *banned }),
                Change::DeleteChannel => moderate(WireAction::DeleteChannel),
            };
            (*channel, wire)
        }
    };
    // Serializing plain strings and numbers to a Vec cannot fail.
    (channel.to_string(), serde_json::to_vec(&wire).expect("a command serializes"))
}

/// Decodes one command message. The text fields are parsed again, as at the
/// edge: a value this version cannot read, or one no gateway would have
/// accepted, is `internal` with the reason, for the log.
pub(crate) fn decode_command(value: &[u8]) -> Result<Accepted, Error> {
    let undecodable = |reason: String| Error::internal(format!("undecodable command message: {reason}"));
    let wire: WireCommand = serde_json::from_slice(value).map_err(|err| undecodable(err.to_string()))?;
    let (command, accepted_at_ms) = match wire {
        WireCommand::Post { channel_id, sender_id, client_msg_id, body, reply_to_seq, broadcast, accepted_at_ms } => (
            Command::Post {
                channel: ChannelId::from_uuid(channel_id),
                sender: UserId::from_uuid(sender_id),
                client_msg_id: ClientMsgId::parse(&client_msg_id).map_err(|err| undecodable(err.message))?,
                body: Body::parse(&body).map_err(|err| undecodable(err.message))?,
                reply_to_seq,
                broadcast: broadcast.into_iter().map(UserId::from_uuid).collect(),
            },
            accepted_at_ms,
        ),
        WireCommand::Join { channel_id, user_id, actor_id, accepted_at_ms } => (
            Command::Join {
                channel: ChannelId::from_uuid(channel_id),
                user: UserId::from_uuid(user_id),
                actor: UserId::from_uuid(actor_id),
            },
            accepted_at_ms,
        ),
        WireCommand::Leave { channel_id, user_id, actor_id, accepted_at_ms } => (
            Command::Leave {
                channel: ChannelId::from_uuid(channel_id),
                user: UserId::from_uuid(user_id),
                actor: UserId::from_uuid(actor_id),
            },
            accepted_at_ms,
        ),
        WireCommand::Create {
            channel_id,
            kind,
            name,
            topic,
            created_at_ms,
            created_by,
            dm_key,
            members,
            accepted_at_ms,
        } => {
            let kind = ChannelKind::from_db(&kind).ok_or_else(|| undecodable(format!("channel kind {kind:?}")))?;
            let members = members
                .into_iter()
                .map(|m| match Role::from_db(&m.role) {
                    Some(role) => Ok((UserId::from_uuid(m.user_id), role)),
                    None => Err(undecodable(format!("member role {:?}", m.role))),
                })
                .collect::<Result<Vec<_>, Error>>()?;
            let channel = Channel {
                id: ChannelId::from_uuid(channel_id),
                kind,
                name,
                topic,
                created_at: Timestamp::from_millis(created_at_ms),
                created_by: UserId::from_uuid(created_by),
                dm_key,
                last_seq: 0,
                member_count: 0,
                archived_at: None,
            };
            (Command::Create { channel, members }, accepted_at_ms)
        }
        WireCommand::Edit { channel_id, actor_id, client_msg_id, target_seq, body, broadcast, accepted_at_ms } => {
            let body = Body::parse(&body).map_err(|err| undecodable(err.message))?;
            let broadcast = broadcast.into_iter().map(UserId::from_uuid).collect();
            let change = Change::Edit { target: target_seq, body, broadcast };
            (changed(channel_id, actor_id, &client_msg_id, change, false)?, accepted_at_ms)
        }
        WireCommand::Delete { channel_id, actor_id, client_msg_id, target_seq, server_admin, accepted_at_ms } => {
            let change = Change::Delete { target: target_seq };
            (changed(channel_id, actor_id, &client_msg_id, change, server_admin)?, accepted_at_ms)
        }
        WireCommand::React { channel_id, actor_id, client_msg_id, target_seq, emoji, add, accepted_at_ms } => {
            let emoji = Emoji::parse(&emoji).map_err(|err| undecodable(err.message))?;
            let change = Change::React { target: target_seq, emoji, add };
            (changed(channel_id, actor_id, &client_msg_id, change, false)?, accepted_at_ms)
        }
        WireCommand::Pin { channel_id, actor_id, client_msg_id, target_seq, pin, server_admin, accepted_at_ms } => {
            let change = Change::Pin { target: target_seq, pin };
            (changed(channel_id, actor_id, &client_msg_id, change, server_admin)?, accepted_at_ms)
        }
        WireCommand::SetRole { channel_id, actor_id, client_msg_id, user_id, role, accepted_at_ms } => {
            let role = Role::from_db(&role).ok_or_else(|| undecodable(format!("member role {role:?}")))?;
            let change = Change::SetRole { user: UserId::from_uuid(user_id), role };
            (changed(channel_id, actor_id, &client_msg_id, change, false)?, accepted_at_ms)
        }
        WireCommand::Moderate { channel_id, actor_id, client_msg_id, server_admin, action, accepted_at_ms } => {
            let change = match action {
                WireAction::Rename { name } => {
                    Change::Rename { name: ChannelName::parse(&name).map_err(|err| undecodable(err.message))? }
                }
                WireAction::Topic { topic } => {
                    Change::SetTopic { topic: Topic::parse(&topic).map_err(|err| undecodable(err.message))? }
                }
                WireAction::Archive { archived } => Change::Archive { archived },
                WireAction::Remove { user_id } => Change::Remove { user: UserId::from_uuid(user_id) },
                WireAction::Ban { user_id, banned } => Change::Ban { user: UserId::from_uuid(user_id), banned },
                WireAction::DeleteChannel => Change::DeleteChannel,
            };
            (changed(channel_id, actor_id, &client_msg_id, change, server_admin)?, accepted_at_ms)
        }
    };
    Ok(Accepted { command, accepted_at: Timestamp::from_millis(accepted_at_ms) })
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireCommand {
    Post {
        channel_id: Uuid,
        sender_id: Uuid,
        client_msg_id: String,
        body: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to_seq: Option<i64>,
        /// Whom its `@channel` or `@here` reaches.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        broadcast: Vec<Uuid>,
        accepted_at_ms: i64,
    },
    Join {
        channel_id: Uuid,
        user_id: Uuid,
        actor_id: Uuid,
        accepted_at_ms: i64,
    },
    Leave {
        channel_id: Uuid,
        user_id: Uuid,
        actor_id: Uuid,
        accepted_at_ms: i64,
    },
    /// A new channel (or DM) with its first members.
    Create {
        channel_id: Uuid,
        kind: String,
        name: String,
        topic: String,
        created_at_ms: i64,
        created_by: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dm_key: Option<String>,
        members: Vec<WireMember>,
        accepted_at_ms: i64,
    },
    Edit {
        channel_id: Uuid,
        actor_id: Uuid,
        client_msg_id: String,
        target_seq: i64,
        body: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        broadcast: Vec<Uuid>,
        accepted_at_ms: i64,
    },
    Delete {
        channel_id: Uuid,
        actor_id: Uuid,
        client_msg_id: String,
        target_seq: i64,
        /// The actor moderates as an admin of the server.
        #[serde(default, skip_serializing_if = "is_false")]
        server_admin: bool,
        accepted_at_ms: i64,
    },
    /// Adds (`add`) or removes a reaction.
    React {
        channel_id: Uuid,
        actor_id: Uuid,
        client_msg_id: String,
        target_seq: i64,
        emoji: String,
        add: bool,
        accepted_at_ms: i64,
    },
    /// Pins (`pin`) or unpins a message.
    Pin {
        channel_id: Uuid,
        actor_id: Uuid,
        client_msg_id: String,
        target_seq: i64,
        pin: bool,
        #[serde(default, skip_serializing_if = "is_false")]
        server_admin: bool,
        accepted_at_ms: i64,
    },
    SetRole {
        channel_id: Uuid,
        actor_id: Uuid,
        client_msg_id: String,
        user_id: Uuid,
        role: String,
        accepted_at_ms: i64,
    },
    /// A change to the channel itself or to who is in it.
    Moderate {
        channel_id: Uuid,
        actor_id: Uuid,
        client_msg_id: String,
        #[serde(default, skip_serializing_if = "is_false")]
        server_admin: bool,
        action: WireAction,
        accepted_at_ms: i64,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum WireAction {
    Rename { name: String },
    Topic { topic: String },
    Archive { archived: bool },
    Remove { user_id: Uuid },
    Ban { user_id: Uuid, banned: bool },
    DeleteChannel,
}

/// A [`Command::Change`] read back.
fn changed(
    channel: Uuid,
    actor: Uuid,
    client_msg_id: &str,
    change: Change,
    server_admin: bool,
) -> Result<Command, Error> {
    let client_msg_id = ClientMsgId::parse(client_msg_id)
        .map_err(|err| Error::internal(format!("undecodable command message: {}", err.message)))?;
    Ok(Command::Change {
        channel: ChannelId::from_uuid(channel),
        actor: UserId::from_uuid(actor),
        client_msg_id,
        change,
        server_admin,
    })
}

#[derive(Serialize, Deserialize)]
struct WireMember {
    user_id: Uuid,
    role: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn event(kind: EventKind) -> Event {
        Event {
            channel_id: ChannelId::from_uuid(id(1)),
            seq: 7,
            id: EventId::from_uuid(id(2)),
            sender_id: UserId::from_uuid(id(3)),
            created_at: Timestamp::from_millis(1_700_000_000_123),
            kind,
        }
    }

    #[test]
    fn a_message_has_this_form() {
        let message = event(EventKind::Message {
            body: "hé\n😀".into(),
            client_msg_id: "c1".into(),
            reply_to_seq: Some(5),
            mentions: Default::default(),
            state: Default::default(),
        });
        assert_eq!(
            String::from_utf8(encode(&message)).unwrap(),
            r#"{"channel_id":"00000000-0000-0000-0000-000000000001","seq":7,"id":"00000000-0000-0000-0000-000000000002","sender_id":"00000000-0000-0000-0000-000000000003","created_at_ms":1700000000123,"type":"message","body":"hé\n😀","client_msg_id":"c1","reply_to_seq":5}"#
        );
        assert_eq!(key(&message), "00000000-0000-0000-0000-000000000001");
    }

    #[test]
    fn a_membership_event_has_this_form() {
        let joined = event(EventKind::MemberJoined { user_id: UserId::from_uuid(id(4)) });
        assert_eq!(
            String::from_utf8(encode(&joined)).unwrap(),
            r#"{"channel_id":"00000000-0000-0000-0000-000000000001","seq":7,"id":"00000000-0000-0000-0000-000000000002","sender_id":"00000000-0000-0000-0000-000000000003","created_at_ms":1700000000123,"type":"member_joined","user_id":"00000000-0000-0000-0000-000000000004"}"#
        );
    }

    #[test]
    fn every_kind_round_trips() {
        let user = UserId::generate();
        for kind in [
            EventKind::Message {
                body: "b".into(),
                client_msg_id: "m".into(),
                reply_to_seq: None,
                mentions: Mentions { users: vec![user], channel: true, here: false },
                state: Default::default(),
            },
            EventKind::Message {
                body: String::new(),
                client_msg_id: "m".into(),
                reply_to_seq: Some(0),
                mentions: Mentions { users: vec![], channel: false, here: true },
                state: Default::default(),
            },
            EventKind::MemberJoined { user_id: user },
            EventKind::MemberLeft { user_id: user },
            EventKind::MessageEdited {
                target_seq: 3,
                body: "new".into(),
                mentions: Mentions { users: vec![user], channel: false, here: false },
                client_msg_id: "e".into(),
            },
            EventKind::MessageEdited {
                target_seq: 3,
                body: String::new(),
                mentions: Mentions::default(),
                client_msg_id: "e".into(),
            },
            EventKind::MessageDeleted { target_seq: 3, client_msg_id: "d".into() },
            EventKind::ReactionAdded { target_seq: 3, emoji: "👍".into(), client_msg_id: "r".into() },
            EventKind::ReactionRemoved { target_seq: 3, emoji: "👍".into(), client_msg_id: "r".into() },
            EventKind::MessagePinned { target_seq: 3, client_msg_id: "p".into() },
            EventKind::MessageUnpinned { target_seq: 3, client_msg_id: "p".into() },
            EventKind::MemberRoleChanged { user_id: user, role: Role::Admin, client_msg_id: "o".into() },
            EventKind::ChannelRenamed { name: "n".into(), client_msg_id: "x".into() },
            EventKind::TopicChanged { topic: String::new(), client_msg_id: "x".into() },
            EventKind::ChannelArchived { client_msg_id: "x".into() },
            EventKind::ChannelUnarchived { client_msg_id: "x".into() },
            EventKind::MemberRemoved { user_id: user, client_msg_id: "x".into() },
            EventKind::MemberBanned { user_id: user, client_msg_id: "x".into() },
            EventKind::MemberUnbanned { user_id: user, client_msg_id: "x".into() },
            EventKind::ChannelDeleted { client_msg_id: "x".into() },
        ] {
            let original = Event { created_at: Timestamp::now(), ..event(kind) };
            assert_eq!(decode(&encode(&original)).unwrap(), original);
        }
    }

    #[test]
    fn an_unknown_type_is_refused() {
        let value = br#"{"channel_id":"00000000-0000-0000-0000-000000000001","seq":1,"id":"00000000-0000-0000-0000-000000000002","sender_id":"00000000-0000-0000-0000-000000000003","created_at_ms":0,"type":"poll_created"}"#;
        assert!(decode(value).is_err());
        assert!(decode(b"not json").is_err());
    }

    fn post(reply_to_seq: Option<i64>) -> Command {
        Command::Post {
            channel: ChannelId::from_uuid(id(1)),
            sender: UserId::from_uuid(id(3)),
            client_msg_id: ClientMsgId::parse("c1").unwrap(),
            body: Body::parse("hé\n😀").unwrap(),
            reply_to_seq,
            broadcast: vec![UserId::from_uuid(id(4))],
        }
    }

    #[test]
    fn a_post_command_has_this_form() {
        let (key, value) = encode_command(&post(Some(5)), Timestamp::from_millis(1_700_000_000_123));
        assert_eq!(key, "00000000-0000-0000-0000-000000000001");
        assert_eq!(
            String::from_utf8(value).unwrap(),
            r#"{"type":"post","channel_id":"00000000-0000-0000-0000-000000000001","sender_id":"00000000-0000-0000-0000-000000000003","client_msg_id":"c1","body":"hé\n😀","reply_to_seq":5,"broadcast":["00000000-0000-0000-0000-000000000004"],"accepted_at_ms":1700000000123}"#
        );
        let (_, value) = encode_command(&post(None), Timestamp::from_millis(0));
        assert_eq!(
            String::from_utf8(value).unwrap(),
            r#"{"type":"post","channel_id":"00000000-0000-0000-0000-000000000001","sender_id":"00000000-0000-0000-0000-000000000003","client_msg_id":"c1","body":"hé\n😀","broadcast":["00000000-0000-0000-0000-000000000004"],"accepted_at_ms":0}"#
        );
    }

    #[test]
    fn a_post_command_round_trips() {
        for reply_to_seq in [None, Some(1)] {
            let at = Timestamp::now();
            let (_, value) = encode_command(&post(reply_to_seq), at);
            let accepted = decode_command(&value).unwrap();
            assert_eq!(accepted.accepted_at, at);
            assert_eq!(format!("{:?}", accepted.command), format!("{:?}", post(reply_to_seq)));
        }
    }

    #[test]
    fn every_command_round_trips() {
        let (channel, user, actor) = (ChannelId::generate(), UserId::generate(), UserId::generate());
        let change = |actor, change| Command::Change {
            channel,
            actor,
            client_msg_id: ClientMsgId::parse("c-1").unwrap(),
            change,
            server_admin: false,
        };
        let as_admin = |change| Command::Change {
            channel,
            actor,
            client_msg_id: ClientMsgId::parse("c-2").unwrap(),
            change,
            server_admin: true,
        };
        let created = Channel {
            id: channel,
            kind: ChannelKind::Direct,
            name: String::new(),
            topic: "t".into(),
            created_at: Timestamp::from_millis(1_700_000_000_000),
            created_by: user,
            dm_key: Some(format!("{actor},{user}")),
            last_seq: 0,
            member_count: 0,
            archived_at: None,
        };
        for command in [
            Command::Join { channel, user, actor },
            Command::Leave { channel, user, actor },
            Command::Create { channel: created.clone(), members: vec![(user, Role::Owner), (actor, Role::Member)] },
            Command::Create {
                channel: Channel { kind: ChannelKind::Public, dm_key: None, ..created },
                members: vec![],
            },
            change(actor, Change::Edit { target: 4, body: Body::parse("new text").unwrap(), broadcast: vec![user] }),
            change(actor, Change::Delete { target: 4 }),
            change(actor, Change::React { target: 4, emoji: Emoji::parse(":tada:").unwrap(), add: true }),
            change(actor, Change::React { target: 4, emoji: Emoji::parse("👍").unwrap(), add: false }),
            change(actor, Change::Pin { target: 4, pin: true }),
            change(actor, Change::Pin { target: 4, pin: false }),
            change(actor, Change::SetRole { user, role: Role::Admin }),
            as_admin(Change::Delete { target: 4 }),
            as_admin(Change::Pin { target: 4, pin: false }),
            change(actor, Change::Rename { name: ChannelName::parse("new name").unwrap() }),
            change(actor, Change::SetTopic { topic: Topic::parse("").unwrap() }),
            change(actor, Change::Archive { archived: true }),
            as_admin(Change::Archive { archived: false }),
            change(actor, Change::Remove { user }),
            change(actor, Change::Ban { user, banned: true }),
            as_admin(Change::Ban { user, banned: false }),
            as_admin(Change::DeleteChannel),
        ] {
            let (key, value) = encode_command(&command, Timestamp::now());
            assert_eq!(key, channel.to_string(), "keyed by channel: one partition, one writer");
            let accepted = decode_command(&value).unwrap();
            assert_eq!(format!("{:?}", accepted.command), format!("{command:?}"));
        }
    }

    #[test]
    fn a_join_command_has_this_form() {
        let command = Command::Join {
            channel: ChannelId::from_uuid(id(1)),
            user: UserId::from_uuid(id(3)),
            actor: UserId::from_uuid(id(4)),
        };
        let (_, value) = encode_command(&command, Timestamp::from_millis(5));
        assert_eq!(
            String::from_utf8(value).unwrap(),
            r#"{"type":"join","channel_id":"00000000-0000-0000-0000-000000000001","user_id":"00000000-0000-0000-0000-000000000003","actor_id":"00000000-0000-0000-0000-000000000004","accepted_at_ms":5}"#
        );
    }

    #[test]
    fn an_unreadable_command_is_refused() {
        let post = |body: &str| {
            format!(
                r#"{{"type":"post","channel_id":"00000000-0000-0000-0000-000000000001","sender_id":"00000000-0000-0000-0000-000000000003","client_msg_id":"c1","body":{body},"accepted_at_ms":0}}"#
            )
        };
        assert!(decode_command(post(r#""ok""#).as_bytes()).is_ok());
        assert!(decode_command(post(r#""  ""#).as_bytes()).is_err(), "a blank body");
        assert!(decode_command(br#"{"type":"edit","channel_id":"00000000-0000-0000-0000-000000000001"}"#).is_err());
        assert!(decode_command(b"not json").is_err());
    }
}
