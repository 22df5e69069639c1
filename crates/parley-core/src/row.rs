//! An event's fields as every store keeps them, one column each beside the
//! channel, `seq`, id, sender and time: the one mapping of each
//! [`EventKind`] to its columns and back, so that a new kind of event is
//! mapped here once, not in each store.

use crate::id::UserId;
use crate::model::{EventKind, Mentions, MessageState, Role};
use crate::parse::Seq;
use crate::{Error, Result};

/// The columns an event fills (`None`: the column is NULL).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Columns<'a> {
    pub client_msg_id: Option<&'a str>,
    pub body: Option<&'a str>,
    pub reply_to_seq: Option<Seq>,
    pub user_id: Option<UserId>,
    pub target_seq: Option<Seq>,
    pub emoji: Option<&'a str>,
    pub role: Option<Role>,
    /// A message's or an edit's [`Mentions`], as [`mentions_column`] writes them.
    pub mentions: Option<String>,
}

/// [`Mentions`] as one text column: the members' ids and the words
/// `@channel` and `@here`, separated by spaces; NULL for none.
pub fn mentions_column(mentions: &Mentions) -> Option<String> {
    if mentions.is_empty() {
        return None;
    }
    let mut words: Vec<String> = mentions.users.iter().map(UserId::to_string).collect();
    words.extend(mentions.channel.then(|| "@channel".to_owned()));
    words.extend(mentions.here.then(|| "@here".to_owned()));
    Some(words.join(" "))
}

/// What [`mentions_column`] wrote.
pub fn mentions_from_column(column: Option<&str>) -> Result<Mentions> {
    let mut mentions = Mentions::default();
    for word in column.unwrap_or_default().split_ascii_whitespace() {
        match word {
            "@channel" => mentions.channel = true,
            "@here" => mentions.here = true,
            id => {
                mentions.users.push(id.parse().map_err(|_| Error::internal(format!("malformed row: mention {id:?}")))?)
            }
        }
    }
    Ok(mentions)
}

impl EventKind {
    /// What this event writes into its row.
    pub fn columns(&self) -> Columns<'_> {
        let mut columns =
            Columns { client_msg_id: self.client_msg_id(), target_seq: self.target_seq(), ..Columns::default() };
        match self {
            EventKind::Message { body, reply_to_seq, mentions, .. } => {
                (columns.body, columns.reply_to_seq) = (Some(body.as_str()), *reply_to_seq);
                columns.mentions = mentions_column(mentions);
            }
            EventKind::MemberJoined { user_id } | EventKind::MemberLeft { user_id } => columns.user_id = Some(*user_id),
            EventKind::MessageEdited { body, mentions, .. } => {
                columns.body = Some(body.as_str());
                columns.mentions = mentions_column(mentions);
            }
            EventKind::ReactionAdded { emoji, .. } | EventKind::ReactionRemoved { emoji, .. } => {
                columns.emoji = Some(emoji.as_str())
            }
            EventKind::MemberRoleChanged { user_id, role, .. } => {
                (columns.user_id, columns.role) = (Some(*user_id), Some(*role))
            }
            EventKind::ChannelRenamed { name: text, .. } | EventKind::TopicChanged { topic: text, .. } => {
                columns.body = Some(text.as_str())
            }
            EventKind::MemberRemoved { user_id, .. }
            | EventKind::MemberBanned { user_id, .. }
            | EventKind::MemberUnbanned { user_id, .. } => columns.user_id = Some(*user_id),
            EventKind::MessageDeleted { .. }
            | EventKind::MessagePinned { .. }
            | EventKind::MessageUnpinned { .. }
            | EventKind::ChannelArchived { .. }
            | EventKind::ChannelUnarchived { .. }
            | EventKind::ChannelDeleted { .. } => {}
        }
        columns
    }
}

/// A row's event columns as read, owned; `state` is a message's.
#[derive(Debug, Default, Clone)]
pub struct StoredColumns {
    pub client_msg_id: Option<String>,
    pub body: Option<String>,
    pub reply_to_seq: Option<Seq>,
    pub user_id: Option<UserId>,
    pub target_seq: Option<Seq>,
    pub emoji: Option<String>,
    pub role: Option<String>,
    pub mentions: Option<String>,
    pub state: MessageState,
}

impl StoredColumns {
    /// The event of type `kind` these columns hold; a row that lacks a
    /// column its type needs is `internal`, naming what was wrong.
    pub fn into_kind(self, kind: &str) -> Result<EventKind> {
        let missing = |column: &str| Error::internal(format!("malformed row: {kind} event without {column}"));
        let StoredColumns { client_msg_id, body, reply_to_seq, user_id, target_seq, emoji, role, mentions, state } =
            self;
        let mentions = || mentions_from_column(mentions.as_deref());
        let cmid = || client_msg_id.clone().ok_or_else(|| missing("client_msg_id"));
        let user_id = || user_id.ok_or_else(|| missing("user_id"));
        let target_seq = || target_seq.ok_or_else(|| missing("target_seq"));
        let body = || body.clone().ok_or_else(|| missing("body"));
        let emoji = || emoji.clone().ok_or_else(|| missing("emoji"));
        Ok(match kind {
            "message" => {
                EventKind::Message { body: body()?, client_msg_id: cmid()?, reply_to_seq, mentions: mentions()?, state }
            }
            "member_joined" => EventKind::MemberJoined { user_id: user_id()? },
            "member_left" => EventKind::MemberLeft { user_id: user_id()? },
            "message_edited" => EventKind::MessageEdited {
                target_seq: target_seq()?,
                body: body()?,
                mentions: mentions()?,
                client_msg_id: cmid()?,
            },
            "message_deleted" => EventKind::MessageDeleted { target_seq: target_seq()?, client_msg_id: cmid()? },
            "reaction_added" => {
                EventKind::ReactionAdded { target_seq: target_seq()?, emoji: emoji()?, client_msg_id: cmid()? }
            }
            "reaction_removed" => {
                EventKind::ReactionRemoved { target_seq: target_seq()?, emoji: emoji()?, client_msg_id: cmid()? }
            }
            "message_pinned" => EventKind::MessagePinned { target_seq: target_seq()?, client_msg_id: cmid()? },
            "message_unpinned" => EventKind::MessageUnpinned { target_seq: target_seq()?, client_msg_id: cmid()? },
            "member_role_changed" => {
                let text = role.as_deref().ok_or_else(|| missing("role"))?;
                let role =
                    Role::from_db(text).ok_or_else(|| Error::internal(format!("malformed row: role {text:?}")))?;
                EventKind::MemberRoleChanged { user_id: user_id()?, role, client_msg_id: cmid()? }
            }
            "channel_renamed" => EventKind::ChannelRenamed { name: body()?, client_msg_id: cmid()? },
            "topic_changed" => EventKind::TopicChanged { topic: body()?, client_msg_id: cmid()? },
            "channel_archived" => EventKind::ChannelArchived { client_msg_id: cmid()? },
            "channel_unarchived" => EventKind::ChannelUnarchived { client_msg_id: cmid()? },
            "member_removed" => EventKind::MemberRemoved { user_id: user_id()?, client_msg_id: cmid()? },
            "member_banned" => EventKind::MemberBanned { user_id: user_id()?, client_msg_id: cmid()? },
            "member_unbanned" => EventKind::MemberUnbanned { user_id: user_id()?, client_msg_id: cmid()? },
            "channel_deleted" => EventKind::ChannelDeleted { client_msg_id: cmid()? },
            other => return Err(Error::internal(format!("malformed row: event type {other:?}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind reads back from the columns it writes.
    #[test]
    fn every_kind_round_trips_through_its_columns() {
        let user = UserId::generate();
        let cmid = || "c".to_owned();
        let kinds = [
            EventKind::Message {
                body: "b".into(),
                client_msg_id: cmid(),
                reply_to_seq: Some(2),
                mentions: Mentions { users: vec![user], channel: true, here: false },
                state: Default::default(),
            },
            EventKind::MemberJoined { user_id: user },
            EventKind::MemberLeft { user_id: user },
            EventKind::MessageEdited {
                target_seq: 3,
                body: "e".into(),
                mentions: Mentions { users: vec![user, user], channel: false, here: true },
                client_msg_id: cmid(),
            },
            EventKind::MessageDeleted { target_seq: 3, client_msg_id: cmid() },
            EventKind::ReactionAdded { target_seq: 3, emoji: "👍".into(), client_msg_id: cmid() },
            EventKind::ReactionRemoved { target_seq: 3, emoji: "👍".into(), client_msg_id: cmid() },
            EventKind::MessagePinned { target_seq: 3, client_msg_id: cmid() },
            EventKind::MessageUnpinned { target_seq: 3, client_msg_id: cmid() },
            EventKind::MemberRoleChanged { user_id: user, role: Role::Admin, client_msg_id: cmid() },
            EventKind::ChannelRenamed { name: "n".into(), client_msg_id: cmid() },
            EventKind::TopicChanged { topic: "".into(), client_msg_id: cmid() },
            EventKind::ChannelArchived { client_msg_id: cmid() },
            EventKind::ChannelUnarchived { client_msg_id: cmid() },
            EventKind::MemberRemoved { user_id: user, client_msg_id: cmid() },
            EventKind::MemberBanned { user_id: user, client_msg_id: cmid() },
            EventKind::MemberUnbanned { user_id: user, client_msg_id: cmid() },
            EventKind::ChannelDeleted { client_msg_id: cmid() },
        ];
        for kind in kinds {
            let c = kind.columns();
            let stored = StoredColumns {
                client_msg_id: c.client_msg_id.map(str::to_owned),
                body: c.body.map(str::to_owned),
                reply_to_seq: c.reply_to_seq,
                user_id: c.user_id,
                target_seq: c.target_seq,
                emoji: c.emoji.map(str::to_owned),
                role: c.role.map(|r| r.as_str().to_owned()),
                mentions: c.mentions,
                state: MessageState::default(),
            };
            assert_eq!(stored.into_kind(kind.type_name()).unwrap(), kind);
        }
        let lacking = StoredColumns { target_seq: Some(1), ..StoredColumns::default() };
        let error = lacking.into_kind("message_pinned").unwrap_err();
        assert!(error.message.contains("message_pinned event without client_msg_id"), "{}", error.message);
    }
}
