//! `parley import --slack EXPORT.zip`: a Slack workspace's export (its
//! documented format: `users.json`, `channels.json`, and a folder per
//! channel of one JSON file per day; `groups.json`, `mpims.json` and
//! `dms.json` too when the export includes private channels and DMs) added
//! to a store, empty or not.
//!
//! Each Slack user becomes an account with no usable password (an admin's
//! reset link lets them in), each channel a channel, each DM a DM of the
//! same people, each message a message at its own time, in order, with its
//! thread and reactions; files are linked from the message that shared them
//! (Parley keeps no files). It goes through the rules of the log as
//! [`super`]'s replay does, under ids made from Slack's own (users,
//! channels) and `client_msg_id`s made from each message's `ts`, so that
//! running it twice adds nothing the second time: the writer answers every
//! repeated command with what it stored.
//!
//! What is left out, and counted in the summary: messages of people not in
//! `users.json` (or, in a DM, not in it), Slack's own notices (joins, topic
//! changes), emoji that are not Unicode emoji or GitHub shortcodes (a
//! workspace's custom emoji), reactions past Parley's 20 emoji on a
//! message, and DMs of more people than Parley's DMs hold.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use parley_core::apply::MAX_EMOJI;
use parley_core::command::{Appended, Change, Command, Stamp};
use parley_core::emoji::Emoji;
use parley_core::id::{ChannelId, UserId};
use parley_core::model::{Channel, ChannelKind, Role, ServerRole, User};
use parley_core::parse::{Body, ChannelName, ClientMsgId, DisplayName, Seq, Topic, Username};
use parley_core::ports::Store;
use parley_core::time::Timestamp;
use parley_core::ErrorCode;
use sha2::{Digest, Sha256};

mod read;
mod text;

use parley_core::chat::MAX_DM_OTHERS;
use read::{Export, Kind, SlackChannel, SlackMessage, SlackUser};
use text::{body_of, cut, split, ts_time};

use super::add_user;
use super::replay::{Replay, Step};
use crate::auth::Auth;
use crate::backends::open_store;
use crate::config::Config;

/// What a Slack import added, and what it left out.
#[derive(Debug, Default)]
pub struct Counts {
    pub users: u64,
    pub channels: u64,
    pub messages: u64,
    pub reactions: u64,
    /// Messages left out: by someone unknown, Slack's notices, empty.
    pub skipped_messages: u64,
    /// Reactions with an emoji Parley does not have, or past its 20.
    pub skipped_reactions: u64,
}

pub async fn run(config: &Config, zip: &Path) -> anyhow::Result<Counts> {
    let export = Export::read(zip)?;
    let store = open_store(config).await?;
    let result = import(store.clone(), &export).await;
    store.close().await;
    result
}

/// Messages of these kinds are people's words; Slack's notices (a join, a
/// topic set) are not: Parley's own events say those.
const KEPT_SUBTYPES: [&str; 4] = ["thread_broadcast", "me_message", "file_share", "bot_message"];

async fn import(store: Arc<dyn Store>, export: &Export) -> anyhow::Result<Counts> {
    let mut counts = Counts::default();
    // Every channel's name first: one taken by another channel stops the
    // import before anything is written.
    for channel in export.channels.iter().filter(|c| c.kind != Kind::Direct) {
        let name = ChannelName::parse(&channel.name).with_context(|| format!("channel {:?}", channel.name))?;
        if let Some(held) = store.channel_named(name.as_str()).await? {
            if held.id != channel_id(&channel.id) {
                bail!("a channel named {:?} exists already: rename it, then import again", name.as_str());
            }
        }
    }

    let auth = Auth::new(store.clone()).await?;
    let hash = auth.unusable_hash().await?;
    let mut users: HashMap<&str, User> = HashMap::new();
    let mut usernames: HashMap<&str, String> = HashMap::new();
    for slack in &export.users {
        let user = match store.user(user_id(&slack.id)).await? {
            Some(user) => user,
            None => {
                counts.users += 1;
                add_slack_user(store.as_ref(), slack, &hash).await?
            }
        };
        usernames.insert(&slack.id, user.username.to_string());
        users.insert(&slack.id, user);
    }

    for channel in &export.channels {
        let messages = export.messages.get(&channel.folder).map(Vec::as_slice).unwrap_or_default();
        let imported = import_channel(store.as_ref(), channel, messages, &users, &usernames, &mut counts)
            .await
            .with_context(|| format!("{} {}", channel.folder, channel.id))?;
        counts.channels += u64::from(imported);
    }
    Ok(counts)
}

/// A Slack user as an account: their Slack name made a username (another
/// one when it is taken), their shown name kept where Parley's rules allow.
async fn add_slack_user(store: &dyn Store, slack: &SlackUser, hash: &str) -> anyhow::Result<User> {
    let base = username_from(&slack.name, &slack.id);
    let shown = [&slack.profile.display_name, &slack.profile.real_name, &slack.real_name]
        .into_iter()
        .flatten()
        .find_map(|name| DisplayName::parse(name).ok())
        .map(DisplayName::into_string);
    let tail = slack.id.to_ascii_lowercase();
    let names = [base.clone(), format!("{base}-slack"), format!("{}-{tail}", &base[..base.len().min(31 - tail.len())])];
    for username in names {
        let Ok(username) = Username::parse_new(&username) else { continue };
        for display_name in [shown.clone(), None] {
            let user = User {
                id: user_id(&slack.id),
                display_name: display_name.unwrap_or_else(|| username.to_string()),
                username: username.clone(),
                created_at: Timestamp::now(),
                role: ServerRole::Member,
                deactivated_at: slack.deleted.then(Timestamp::now),
                bot: slack.is_bot,
            };
            match add_user(store, &user, hash).await {
                Ok(()) => return Ok(user),
                Err(error) if is_conflict(&error) => continue,
                Err(error) => return Err(error.context(format!("Slack user {}", slack.id))),
            }
        }
    }
    bail!("Slack user {} ({:?}): every username tried is taken", slack.id, slack.name)
}

fn is_conflict(error: &anyhow::Error) -> bool {
    error.downcast_ref::<parley_core::Error>().is_some_and(|e| e.code == ErrorCode::Conflict)
}

/// A username of Parley's alphabet from a Slack name, 3 to 32 characters.
fn username_from(name: &str, id: &str) -> String {
    let mut username: String = name
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '-' })
        .take(Username::MAX)
        .collect();
    if username.len() < Username::MIN || Username::RESERVED.contains(&username.as_str()) {
        username = format!("slack-{}", id.to_ascii_lowercase());
        username.truncate(Username::MAX);
    }
    username
}

/// Adds one conversation's log: whether the channel is new.
async fn import_channel(
    store: &dyn Store,
    slack: &SlackChannel,
    messages: &[SlackMessage],
    users: &HashMap<&str, User>,
    usernames: &HashMap<&str, String>,
    counts: &mut Counts,
) -> anyhow::Result<bool> {
    let created_at = Timestamp::from_millis(slack.created.saturating_mul(1000));
    let known = |slack_id: &str| users.get(slack_id).map(|u| u.id);
    // A DM's people are fixed: its members, when Parley has a DM of as many.
    let mut people: Vec<UserId> = slack.members.iter().filter_map(|m| known(m)).collect();
    people.sort_unstable();
    people.dedup();
    let direct = slack.kind == Kind::Direct;
    if direct && !(2..=MAX_DM_OTHERS + 1).contains(&people.len()) {
        counts.skipped_messages += messages.len() as u64;
        return Ok(false);
    }
    let dm_key = direct.then(|| people.iter().map(UserId::to_string).collect::<Vec<_>>().join(","));
    let creator = slack
        .creator
        .as_deref()
        .and_then(known)
        .filter(|c| !direct || people.contains(c))
        .or_else(|| people.first().copied())
        .or_else(|| messages.iter().find_map(|m| m.user.as_deref().and_then(known)))
        .context("no creator, member or author of it is in users.json")?;
    // Who may act in it: anyone known in a channel (they are made members),
    // only its people in a DM.
    let member = |slack_id: &str| known(slack_id).filter(|u| !direct || people.contains(u));
    let existing = match &dm_key {
        Some(key) => store.dm(key).await?,
        None => store.channel(channel_id(&slack.id)).await?,
    };
    // A DM the same people had in Parley already is the one.
    let id = existing.as_ref().map_or_else(|| channel_id(&slack.id), |c| c.id);
    let archive_key = ClientMsgId::parse("slack:archived")?;
    if existing.as_ref().is_some_and(|c| c.archived_at.is_some()) {
        let key =
            parley_core::ports::PostKey { channel_id: id, sender_id: creator, client_msg_id: archive_key.as_str() };
        if store.stored_post(&key).await?.is_some() {
            return Ok(false);
        }
    }
    let origin = if direct { format!("DM {}", slack.id) } else { format!("#{}", slack.name) };
    let at = |at: Timestamp, command: Command| Step {
        command,
        stamp: Stamp { at, ids: Vec::new() },
        seqs: Vec::new(),
        origin: origin.clone(),
        key: None,
    };
    let mut replay = Replay::new(store);
    if existing.is_none() {
        let channel = Channel {
            id,
            kind: match slack.kind {
                Kind::Public => ChannelKind::Public,
                Kind::Private => ChannelKind::Private,
                Kind::Direct => ChannelKind::Direct,
            },
            name: if direct { String::new() } else { slack.name.clone() },
            topic: slack.topic.as_ref().filter(|_| !direct).map(|t| cut(&t.value, Topic::MAX)).unwrap_or_default(),
            created_at,
            created_by: creator,
            dm_key: dm_key.clone(),
            last_seq: 0,
            member_count: 0,
            archived_at: None,
        };
        Topic::parse(&channel.topic)?;
        let members = match direct {
            true => people.iter().map(|user| (*user, Role::Member)).collect(),
            false => vec![(creator, Role::Owner)],
        };
        replay.push(at(created_at, Command::Create { channel, members })).await?;
    }
    // A channel's members, and everyone who wrote or reacted in it, who
    // must be members to have done so; in the order Slack lists them.
    let mut joined: HashSet<UserId> = HashSet::from([creator]);
    let people_in_it = slack
        .members
        .iter()
        .chain(messages.iter().flat_map(|m| m.user.iter().chain(m.reactions.iter().flat_map(|r| r.users.iter()))));
    for person in people_in_it.filter(|_| !direct) {
        if let Some(user) = member(person) {
            if joined.insert(user) {
                replay.push(at(created_at, Command::Join { channel: id, user, actor: creator })).await?;
            }
        }
    }

    // Each message's first part's seq, by `ts`: where its replies point.
    let mut seqs: HashMap<String, Seq> = HashMap::new();
    // The last event the import stored or found: the history it brought.
    let mut through: Seq = 0;
    for message in messages {
        let kept = message.subtype.as_deref().is_none_or(|s| KEPT_SUBTYPES.contains(&s));
        let Some(sender) = message.user.as_deref().and_then(member).filter(|_| kept) else {
            counts.skipped_messages += 1;
            continue;
        };
        let text = body_of(message, usernames);
        let parts = split(&text, Body::MAX);
        if parts.is_empty() {
            counts.skipped_messages += 1;
            continue;
        }
        let time = ts_time(&message.ts).with_context(|| format!("ts {:?}", message.ts))?;
        let root = match message.thread_ts.as_deref().filter(|t| *t != message.ts) {
            Some(thread) => match seqs.get(thread) {
                Some(seq) => Some(*seq),
                // Its root may be in the batch not yet replayed.
                None => {
                    note(&mut seqs, &mut through, counts, replay.flush().await?);
                    seqs.get(thread).copied()
                }
            },
            None => None,
        };
        for (n, part) in parts.iter().enumerate() {
            let client_msg_id = match n {
                0 => format!("slack:{}", message.ts),
                n => format!("slack:{}:{n}", message.ts),
            };
            let command = Command::Post {
                channel: id,
                sender,
                client_msg_id: ClientMsgId::parse(&client_msg_id)?,
                body: Body::parse(part)?,
                reply_to_seq: root,
                broadcast: Vec::new(),
            };
            let mut step = at(time, command);
            step.origin = format!("{origin} message {}", message.ts);
            step.key = (n == 0).then(|| message.ts.clone());
            note(&mut seqs, &mut through, counts, replay.push(step).await?);
        }
        // Reactions come after the message: Slack does not say when.
        let mut emoji_seen: Vec<Emoji> = Vec::new();
        for reaction in &message.reactions {
            let base = reaction.name.split("::").next().unwrap_or_default();
            let emoji = match Emoji::parse(&format!(":{base}:")) {
                Ok(emoji) if emoji_seen.contains(&emoji) || emoji_seen.len() < MAX_EMOJI => emoji,
                _ => {
                    counts.skipped_reactions += reaction.users.len() as u64;
                    continue;
                }
            };
            if !emoji_seen.contains(&emoji) {
                emoji_seen.push(emoji.clone());
            }
            let name_hash = hex(&Sha256::digest(reaction.name.as_bytes())[..4]);
            for person in &reaction.users {
                let Some(actor) = member(person) else {
                    counts.skipped_reactions += 1;
                    continue;
                };
                let client_msg_id = ClientMsgId::parse(&format!("slack:{}:r:{name_hash}", message.ts))?;
                // Its target's seq is known once the message is replayed.
                let target = match seqs.get(message.ts.as_str()) {
                    Some(seq) => *seq,
                    None => {
                        note(&mut seqs, &mut through, counts, replay.flush().await?);
                        *seqs.get(message.ts.as_str()).context("a message replayed without its seq")?
                    }
                };
                let change = Change::React { target, emoji: emoji.clone(), add: true };
                let command = Command::Change { channel: id, actor, client_msg_id, change, server_admin: false };
                let mut step = at(time, command);
                step.key = Some(REACTION.to_owned());
                note(&mut seqs, &mut through, counts, replay.push(step).await?);
            }
        }
    }
    if slack.is_archived && !direct {
        let change = Change::Archive { archived: true };
        let last = messages.last().and_then(|m| ts_time(&m.ts)).unwrap_or(created_at);
        let command =
            Command::Change { channel: id, actor: creator, client_msg_id: archive_key, change, server_admin: true };
        replay.push(at(last, command)).await?;
    }
    note(&mut seqs, &mut through, counts, replay.flush().await?);
    // Slack's history comes read (nobody's badge counts years of it);
    // what was written in Parley since stays unread.
    for member in store.members(id).await? {
        store.mark_read(id, member.user.id, through).await?;
    }
    Ok(existing.is_none())
}

/// The key of a reaction's step.
const REACTION: &str = "reaction";

/// Notes where each message's first part was stored, and counts what was
/// new (a second run finds it all stored).
fn note(
    seqs: &mut HashMap<String, Seq>,
    through: &mut Seq,
    counts: &mut Counts,
    done: Vec<(Option<String>, Appended)>,
) {
    for (key, appended) in done {
        *through = appended.events.iter().map(|e| e.seq).fold(*through, Seq::max);
        match key.as_deref() {
            Some(REACTION) => counts.reactions += u64::from(appended.created),
            Some(_) => {
                counts.messages += u64::from(appended.created);
                if let (Some(ts), Some(event)) = (key, appended.events.first()) {
                    seqs.insert(ts, event.seq);
                }
            }
            None => {}
        }
    }
}

/// The same Parley id for the same Slack id, every run.
fn derived(kind: &str, slack_id: &str) -> uuid::Uuid {
    let digest = Sha256::digest(format!("slack {kind} {slack_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

fn user_id(slack_id: &str) -> UserId {
    UserId::from_uuid(derived("user", slack_id))
}

fn channel_id(slack_id: &str) -> ChannelId {
    ChannelId::from_uuid(derived("channel", slack_id))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids() {
        assert_eq!(username_from("John Doe", "U1"), "john-doe");
        assert_eq!(username_from("jo", "U1ABC"), "slack-u1abc");
        assert_eq!(username_from("here", "U2"), "slack-u2");
        assert_eq!(user_id("U1"), user_id("U1"));
        assert_ne!(user_id("U1").as_uuid(), channel_id("U1").as_uuid());
    }
}
