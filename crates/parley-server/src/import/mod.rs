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

mod replay;
pub mod slack;
mod steps;

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use parley_core::id::{ChannelId, UserId};
use parley_core::model::{Notify, ServerRole, User};
use parley_core::parse::{Seq, Username};
use parley_core::ports::Store;
use parley_core::time::Timestamp;
use parley_protocol as wire;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::auth::Auth;
use crate::backends::open_store;
use crate::config::Config;
use crate::export::{Counts, FORMAT, VERSION};
use replay::{merged, Replay};
use steps::{channel_steps, ChannelLine};

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
