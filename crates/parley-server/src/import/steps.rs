//! An exported channel's log as the commands that stored it: what
//! `parley import` replays.

use std::collections::HashMap;

use anyhow::{bail, Context};
use parley_core::command::{Change, Command, Stamp};
use parley_core::emoji::Emoji;
use parley_core::id::{ChannelId, EventId, UserId};
use parley_core::model::{Channel, ChannelKind, Role};
use parley_core::parse::{Body, ChannelName, ClientMsgId, Seq, Topic};
use parley_protocol::{self as wire, EventBody};
use serde::Deserialize;

use super::replay::Step;
use super::time;

#[derive(Deserialize)]
pub(super) struct ChannelLine {
    pub(super) id: String,
    pub(super) kind: String,
    pub(super) name: String,
    pub(super) topic: String,
    pub(super) created_at: String,
    pub(super) created_by: String,
    #[serde(default)]
    pub(super) dm_key: Option<String>,
}

/// A channel's log as the commands that stored it.
pub(super) fn channel_steps(
    channel: &ChannelLine,
    log: &[wire::Event],
    told: &HashMap<(String, Seq), Vec<UserId>>,
) -> anyhow::Result<Vec<Step>> {
    for (i, event) in log.iter().enumerate() {
        if event.seq != i as Seq + 1 {
            bail!("its log is not whole: seq {} where {} was due", event.seq, i + 1);
        }
    }
    let id: ChannelId = channel.id.parse()?;
    let kind = ChannelKind::from_db(&channel.kind).with_context(|| format!("kind {:?}", channel.kind))?;
    let created_by: UserId = channel.created_by.parse()?;
    let first_members: Vec<(UserId, Role)> = match (&channel.dm_key, kind) {
        (Some(key), ChannelKind::Direct) => {
            key.split(',').map(|user| Ok((user.parse()?, Role::Member))).collect::<anyhow::Result<_>>()?
        }
        (None, ChannelKind::Public | ChannelKind::Private) => vec![(created_by, Role::Owner)],
        _ => bail!("a direct channel has a dm_key, and only a direct channel has one"),
    };
    let creation = log.get(..first_members.len()).context("its log is shorter than its first members' joins")?;
    for (event, (user, _)) in creation.iter().zip(&first_members) {
        match &event.body {
            EventBody::MemberJoined { user_id }
                if *user_id == user.to_string() && event.sender_id == channel.created_by => {}
            _ => bail!("seq {}: a channel's log starts with its first members joining", event.seq),
        }
    }
    // Stand-ins for what the log no longer holds, each unlike the value
    // that replaces it, so that the change is one.
    let renamed = log.iter().any(|e| matches!(e.body, EventBody::ChannelRenamed { .. }));
    let first_topic = log.iter().find_map(|e| match &e.body {
        EventBody::TopicChanged { topic, .. } => Some(topic.as_str()),
        _ => None,
    });
    let first_edits: HashMap<Seq, &str> = log.iter().rev().fold(HashMap::new(), |mut edits, e| {
        if let EventBody::MessageEdited { target_seq, body, .. } = &e.body {
            edits.insert(*target_seq, body.as_str());
        }
        edits
    });
    let created = Channel {
        id,
        kind,
        name: match renamed {
            true => format!("imported-{}", id.as_uuid().simple()),
            false => channel.name.clone(),
        },
        topic: match first_topic {
            Some("") => "(imported)".to_owned(),
            Some(_) => String::new(),
            None => channel.topic.clone(),
        },
        created_at: time(&channel.created_at)?,
        created_by,
        dm_key: channel.dm_key.clone(),
        last_seq: 0,
        member_count: 0,
        archived_at: None,
    };
    let mut steps = Vec::with_capacity(log.len());
    steps.push(Step {
        command: Command::Create { channel: created, members: first_members },
        stamp: Stamp {
            at: time(&creation[0].created_at)?,
            ids: creation.iter().map(|e| e.id.parse()).collect::<Result<_, _>>()?,
        },
        seqs: creation.iter().map(|e| e.seq).collect(),
        origin: format!("channel {id} seq 1"),
        key: None,
    });
    // Each message's body as the replay has it, for the stand-ins.
    let mut bodies: HashMap<Seq, String> = HashMap::new();
    let told_of = |seq: Seq| told.get(&(channel.id.clone(), seq)).cloned().unwrap_or_default();
    for event in &log[creation.len()..] {
        let origin = format!("channel {id} seq {} ({})", event.seq, type_name(&event.body));
        let actor: UserId = event.sender_id.parse().with_context(|| origin.clone())?;
        let change = |change: Change, client_msg_id: &str| -> anyhow::Result<Command> {
            Ok(Command::Change {
                channel: id,
                actor,
                client_msg_id: ClientMsgId::parse(client_msg_id)?,
                change,
                // It was allowed when it was made; the roles of the server
                // at the time are not in the log.
                server_admin: true,
            })
        };
        let command = match &event.body {
            EventBody::Message { body, client_msg_id, reply_to_seq, deleted, .. } => {
                let body = match first_edits.get(&event.seq) {
                    Some(first) => stand_in(first),
                    None if *deleted => stand_in(""),
                    None => body.clone(),
                };
                bodies.insert(event.seq, body.clone());
                Command::Post {
                    channel: id,
                    sender: actor,
                    client_msg_id: ClientMsgId::parse(client_msg_id)?,
                    body: Body::parse(&body)?,
                    reply_to_seq: *reply_to_seq,
                    broadcast: told_of(event.seq),
                }
            }
            EventBody::MemberJoined { user_id } => Command::Join { channel: id, user: user_id.parse()?, actor },
            EventBody::MemberLeft { user_id } => Command::Leave { channel: id, user: user_id.parse()?, actor },
            EventBody::MessageEdited { target_seq, body, client_msg_id, .. } => {
                let now = bodies.entry(*target_seq).or_default();
                // Emptied by a later delete: any other text will do.
                let body = if body.is_empty() { stand_in(now) } else { body.clone() };
                now.clone_from(&body);
                let broadcast = told_of(*target_seq);
                change(Change::Edit { target: *target_seq, body: Body::parse(&body)?, broadcast }, client_msg_id)?
            }
            EventBody::MessageDeleted { target_seq, client_msg_id } => {
                change(Change::Delete { target: *target_seq }, client_msg_id)?
            }
            EventBody::ReactionAdded { target_seq, emoji, client_msg_id }
            | EventBody::ReactionRemoved { target_seq, emoji, client_msg_id } => {
                let add = matches!(event.body, EventBody::ReactionAdded { .. });
                change(Change::React { target: *target_seq, emoji: Emoji::parse(emoji)?, add }, client_msg_id)?
            }
            EventBody::MessagePinned { target_seq, client_msg_id }
            | EventBody::MessageUnpinned { target_seq, client_msg_id } => {
                let pin = matches!(event.body, EventBody::MessagePinned { .. });
                change(Change::Pin { target: *target_seq, pin }, client_msg_id)?
            }
            EventBody::MemberRoleChanged { user_id, role, client_msg_id } => {
                let role = Role::from_db(role).with_context(|| format!("{origin}: role {role:?}"))?;
                change(Change::SetRole { user: user_id.parse()?, role }, client_msg_id)?
            }
            EventBody::ChannelRenamed { name, client_msg_id } => {
                change(Change::Rename { name: ChannelName::parse(name)? }, client_msg_id)?
            }
            EventBody::TopicChanged { topic, client_msg_id } => {
                change(Change::SetTopic { topic: Topic::parse(topic)? }, client_msg_id)?
            }
            EventBody::ChannelArchived { client_msg_id } => change(Change::Archive { archived: true }, client_msg_id)?,
            EventBody::ChannelUnarchived { client_msg_id } => {
                change(Change::Archive { archived: false }, client_msg_id)?
            }
            EventBody::MemberRemoved { user_id, client_msg_id } => {
                change(Change::Remove { user: user_id.parse()? }, client_msg_id)?
            }
            EventBody::MemberBanned { user_id, client_msg_id } => {
                change(Change::Ban { user: user_id.parse()?, banned: true }, client_msg_id)?
            }
            EventBody::MemberUnbanned { user_id, client_msg_id } => {
                change(Change::Ban { user: user_id.parse()?, banned: false }, client_msg_id)?
            }
            EventBody::ChannelDeleted { .. } | EventBody::Unknown => {
                bail!("{origin}: not an event an export holds")
            }
        };
        let stamp = Stamp { at: time(&event.created_at)?, ids: vec![event.id.parse::<EventId>()?] };
        steps.push(Step { command, stamp, seqs: vec![event.seq], origin, key: None });
    }
    Ok(steps)
}

/// A body that is not `unlike`.
fn stand_in(unlike: &str) -> String {
    ["(imported)", "(imported, edited)"].into_iter().find(|text| *text != unlike).unwrap_or_default().to_owned()
}

fn type_name(body: &EventBody) -> String {
    serde_json::to_value(body).ok().and_then(|v| v["type"].as_str().map(str::to_owned)).unwrap_or_default()
}
