//! `parley import DIR`: what `parley export` wrote ([`crate::export`]), into
//! an empty store, as it was: every user, channel and membership, and every
//! event under its own id, `seq` and time. `parley import --slack` is in
//! [`slack`].
//!
//! The log is not copied row by row: each event is replayed as the command
//! that stored it, through the rules of the log
//! ([`apply_stamped`](parley_core::apply::apply_stamped)) with its original
//! id and time, so that everything the store derives from the log (a
//! message's state, reactions, pins, threads, mentions, the search index,
//! memberships and bans) is derived again exactly as it was. What the log
//! no longer holds is given a stand-in the replay overwrites: the body of a
//! message before its first edit (the store keeps only the current one),
//! a deleted message's, and a channel's name and topic before their first
//! change. Channels are replayed side by side, the earliest event first
//! (each channel's own in `seq` order), so that a name one channel gave up
//! is free when another takes it.

pub mod slack;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use parley_core::command::{Appended, Change, Command, Stamp};
use parley_core::emoji::Emoji;
use parley_core::id::{ChannelId, EventId, UserId};
use parley_core::model::{Channel, ChannelKind, Notify, Role, ServerRole, User};
use parley_core::parse::{Body, ChannelName, ClientMsgId, Seq, Topic, Username};
use parley_core::ports::Store;
use parley_core::time::Timestamp;
use parley_protocol::{self as wire, EventBody};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::auth::Auth;
use crate::backends::open_store;
use crate::config::Config;
use crate::export::{Counts, FORMAT, VERSION};

/// Commands replayed in one transaction.
const BATCH: usize = 512;

/// `parley import DIR` into the configured store.
pub async fn run(config: &Config, dir: &Path) -> anyhow::Result<Counts> {
    let store = open_store(config).await?;
    let result = import(store.clone(), dir).await;
    store.close().await;
    result
}

#[derive(Deserialize)]
struct UserLine {
    id: String,
    username: String,
    display_name: String,
    created_at: String,
    role: String,
    #[serde(default)]
    bot: bool,
    #[serde(default)]
    deactivated_at: Option<String>,
    #[serde(default)]
    password_hash: Option<String>,
}

#[derive(Deserialize)]
struct ChannelLine {
    id: String,
    kind: String,
    name: String,
    topic: String,
    created_at: String,
    created_by: String,
    #[serde(default)]
    dm_key: Option<String>,
}

#[derive(Deserialize)]
struct MemberLine {
    channel_id: String,
    user_id: String,
    last_read_seq: Seq,
    #[serde(default)]
    notify: Option<String>,
    #[serde(default)]
    muted: bool,
}

#[derive(Deserialize)]
struct ToldLine {
    channel_id: String,
    seq: Seq,
    user_id: String,
}

async fn import(store: Arc<dyn Store>, dir: &Path) -> anyhow::Result<Counts> {
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(dir.join("manifest.json")).with_context(|| format!("reading {}", dir.display()))?,
    )
    .context("manifest.json is not JSON")?;
    if manifest["format"] != FORMAT || manifest["version"] != VERSION {
        bail!("{} is not what `parley export` writes (format {FORMAT}, version {VERSION})", dir.display());
    }
    if store.has_users().await? {
        bail!("the store is not empty: import into a new data directory or database");
    }
    let mut counts = Counts::default();

    let users: Vec<UserLine> = lines(dir, "users.jsonl")?;
    let auth = Auth::new(store.clone()).await?;
    let mut unusable = None;
    for (n, line) in users.iter().enumerate() {
        let context = || format!("users.jsonl line {}", n + 1);
        let hash = match &line.password_hash {
            Some(hash) => hash.clone(),
            None => match &unusable {
                Some(hash) => String::clone(hash),
                None => unusable.insert(auth.unusable_hash().await?).clone(),
            },
        };
        let user = User {
            id: line.id.parse().with_context(context)?,
            username: Username::parse(&line.username).with_context(context)?,
            display_name: line.display_name.clone(),
            created_at: time(&line.created_at).with_context(context)?,
            role: ServerRole::parse(&line.role).with_context(context)?,
            deactivated_at: line.deactivated_at.as_deref().map(time).transpose().with_context(context)?,
            bot: line.bot,
        };
        add_user(store.as_ref(), &user, &hash).await.with_context(context)?;
        counts.users += 1;
    }

    let channels: Vec<ChannelLine> = lines(dir, "channels.jsonl")?;
    let mut logs: HashMap<String, Vec<wire::Event>> = HashMap::new();
    for event in lines::<wire::Event>(dir, "events.jsonl")? {
        logs.entry(event.channel_id.clone()).or_default().push(event);
    }
    let mut told: HashMap<(String, Seq), Vec<UserId>> = HashMap::new();
    if dir.join("mentions.jsonl").exists() {
        for line in lines::<ToldLine>(dir, "mentions.jsonl")? {
            let user = line.user_id.parse().with_context(|| format!("mentions.jsonl: user {}", line.user_id))?;
            told.entry((line.channel_id, line.seq)).or_default().push(user);
        }
    }
    let mut queues = Vec::with_capacity(channels.len());
    for channel in &channels {
        let log = logs.remove(&channel.id).unwrap_or_default();
        let steps = channel_steps(channel, &log, &told).with_context(|| format!("channel {}", channel.id))?;
        counts.events += log.len() as u64;
        counts.channels += 1;
        queues.push(VecDeque::from(steps));
    }
    if let Some(id) = logs.keys().next() {
        bail!("events.jsonl has events of channel {id}, which channels.jsonl does not have");
    }
    let mut replay = Replay::new(store.as_ref());
    for step in merged(queues) {
        replay.push(step).await?;
    }
    replay.flush().await?;

    for (n, line) in lines::<MemberLine>(dir, "members.jsonl")?.into_iter().enumerate() {
        let context = || format!("members.jsonl line {}", n + 1);
        let channel: ChannelId = line.channel_id.parse().with_context(context)?;
        let user: UserId = line.user_id.parse().with_context(context)?;
        if store.role(channel, user).await?.is_none() {
            bail!("{}: {user} is not a member of {channel} once its log is replayed", context());
        }
        store.mark_read(channel, user, line.last_read_seq).await?;
        let notify = line.notify.as_deref().map(Notify::parse).transpose().with_context(context)?;
        if notify.is_some() || line.muted {
            store.set_preferences(channel, user, notify, Some(line.muted)).await?;
        }
        counts.members += 1;
    }
    Ok(counts)
}

/// Stores `user` as given: the role and deactivation it has, whatever the
/// store decides for a new account.
pub(crate) async fn add_user(store: &dyn Store, user: &User, hash: &str) -> anyhow::Result<()> {
    let admitted = store.create_user(user, hash, &parley_core::accounts::Admission::by_owner()).await?;
    if admitted.role != user.role {
        store.set_server_role(user.id, user.role).await?;
    }
    if user.deactivated_at.is_some() {
        store.set_deactivated(user.id, user.deactivated_at).await?;
    }
    Ok(())
}

/// One command of the replay, with the time and ids of what it stores and
/// the `seq`s it must store them at.
pub(crate) struct Step {
    pub command: Command,
    pub stamp: Stamp,
    /// Where its events must land; empty for a command that may find its
    /// work done (a second Slack import).
    pub seqs: Vec<Seq>,
    /// Where it came from, for an error.
    pub origin: String,
    /// What the caller knows it by, handed back with what it stored.
    pub key: Option<String>,
}

/// A channel's log as the commands that stored it.
fn channel_steps(
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
    let first_rename = log.iter().find_map(|e| match &e.body {
        EventBody::ChannelRenamed { .. } => Some(()),
        _ => None,
    });
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
        name: match first_rename {
            Some(()) => format!("imported-{}", id.as_uuid().simple()),
            None => channel.name.clone(),
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

/// The channels' steps as one sequence: the earliest next event first, each
/// channel's in its own order (a time that goes back within a channel, as
/// a cluster's failover may make, never reorders it).
fn merged(mut queues: Vec<VecDeque<Step>>) -> impl Iterator<Item = Step> {
    let mut next: BinaryHeap<Reverse<(Timestamp, usize)>> = queues
        .iter()
        .enumerate()
        .filter_map(|(i, queue)| queue.front().map(|step| Reverse((step.stamp.at, i))))
        .collect();
    std::iter::from_fn(move || {
        let Reverse((_, i)) = next.pop()?;
        let step = queues[i].pop_front()?;
        if let Some(following) = queues[i].front() {
            next.push(Reverse((following.stamp.at, i)));
        }
        Some(step)
    })
}

/// Steps replayed a batch at a time. A channel's creation or rename is a
/// batch of its own: the names a batch knows are read when it starts.
pub(crate) struct Replay<'s> {
    store: &'s dyn Store,
    steps: Vec<Step>,
}

impl<'s> Replay<'s> {
    pub(crate) fn new(store: &'s dyn Store) -> Self {
        Replay { store, steps: Vec::with_capacity(BATCH) }
    }

    /// Queues `step`; replays the queue when it is full, or when `step`
    /// must be alone.
    pub(crate) async fn push(&mut self, step: Step) -> anyhow::Result<Vec<(Option<String>, Appended)>> {
        let alone =
            matches!(step.command, Command::Create { .. } | Command::Change { change: Change::Rename { .. }, .. });
        let mut done = Vec::new();
        if alone {
            done.extend(self.flush().await?);
        }
        self.steps.push(step);
        if alone || self.steps.len() >= BATCH {
            done.extend(self.flush().await?);
        }
        Ok(done)
    }

    /// Replays what is queued: what each step stored (or had stored
    /// before), with its key.
    pub(crate) async fn flush(&mut self) -> anyhow::Result<Vec<(Option<String>, Appended)>> {
        if self.steps.is_empty() {
            return Ok(Vec::new());
        }
        let steps = std::mem::take(&mut self.steps);
        let (commands, stamps) = steps.iter().map(|s| (s.command.clone(), s.stamp.clone())).unzip();
        let applied = self.store.replay(commands, stamps).await?;
        let mut done = Vec::with_capacity(steps.len());
        for (step, result) in steps.into_iter().zip(applied.results) {
            let appended = result.with_context(|| format!("{}: refused when replayed", step.origin))?;
            let seqs: Vec<Seq> = appended.events.iter().map(|e| e.seq).collect();
            if !step.seqs.is_empty() && (!appended.created || seqs != step.seqs) {
                bail!("{}: replayed at seqs {seqs:?}, not {:?}", step.origin, step.seqs);
            }
            done.push((step.key, appended));
        }
        Ok(done)
    }
}

/// Every line of `dir/name`, each one JSON value.
fn lines<T: DeserializeOwned>(dir: &Path, name: &str) -> anyhow::Result<Vec<T>> {
    let file = File::open(dir.join(name)).with_context(|| format!("opening {name}"))?;
    let mut read = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {name}"))?;
        if line.trim().is_empty() {
            continue;
        }
        read.push(serde_json::from_str(&line).with_context(|| format!("{name} line {}", n + 1))?);
    }
    Ok(read)
}

fn time(text: &str) -> anyhow::Result<Timestamp> {
    Timestamp::parse_rfc3339(text).with_context(|| format!("{text:?} is not an RFC 3339 time"))
}
