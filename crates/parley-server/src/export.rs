//! `parley export --out DIR`: every user, channel, membership and event of
//! the store as JSON Lines, one file each, whom each message told of itself
//! (`mentions.jsonl`), and a manifest. Users' password hashes only with
//! `--with-credentials`. Parley stores no files (messages are text), so
//! there are none to copy. [`crate::import`] reads it back.
//!
//! The forms are the API's (docs/protocol.md): a user as `GET /users/{id}`
//! serves it with `deactivated_at` besides, a channel as `GET /channels/{id}`
//! with `created_by`, `dm_key` and `archived_at` besides, an event as `GET
//! /channels/{id}/events` serves it (a message with its current state),
//! each channel's events in `seq` order.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use parley_core::model::Notify;
use parley_core::ports::{ExportedMember, Store};
use parley_core::time::Timestamp;
use parley_protocol as wire;
use serde_json::{json, Value};

use crate::backends::open_store;
use crate::config::Config;

/// What `manifest.json` says an export is, and which version of it.
pub const FORMAT: &str = "parley-export";
pub const VERSION: u64 = 1;

/// Rows read at once.
const PAGE: u32 = 1000;

/// What was written, as the manifest counts it (or read back by `parley import`).
#[derive(Debug, Default)]
pub struct Counts {
    pub users: u64,
    pub channels: u64,
    pub members: u64,
    pub events: u64,
}

pub async fn run(config: &Config, out: &Path, with_credentials: bool) -> anyhow::Result<Counts> {
    let store = open_store(config).await?;
    let result = export(store.as_ref(), out, with_credentials).await;
    store.close().await;
    result
}

async fn export(store: &dyn Store, out: &Path, with_credentials: bool) -> anyhow::Result<Counts> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    if std::fs::read_dir(out)?.next().is_some() {
        anyhow::bail!("{} is not empty: export into a new directory", out.display());
    }
    let mut counts = Counts::default();
    let mut users = Lines::create(out, "users.jsonl")?;
    let mut after = None;
    loop {
        let page = store.export_users(after, PAGE).await?;
        for (user, hash) in &page {
            let mut line = serde_json::to_value(wire::User::from(user))?;
            line["deactivated_at"] = user.deactivated_at.map_or(Value::Null, |at| Value::String(at.to_rfc3339()));
            if with_credentials {
                line["password_hash"] = Value::String(hash.clone());
            }
            users.write(&line)?;
            counts.users += 1;
        }
        match page.last() {
            Some((last, _)) => after = Some(last.id),
            None => break,
        }
    }
    users.finish()?;

    let (mut channels, mut members, mut events, mut told) = (
        Lines::create(out, "channels.jsonl")?,
        Lines::create(out, "members.jsonl")?,
        Lines::create(out, "events.jsonl")?,
        Lines::create(out, "mentions.jsonl")?,
    );
    let mut after = None;
    loop {
        let page = store.export_channels(after, PAGE).await?;
        for channel in &page {
            let mut line = serde_json::to_value(wire::Channel::from(channel))?;
            line["created_by"] = Value::String(channel.created_by.to_string());
            line["dm_key"] = channel.dm_key.clone().map_or(Value::Null, Value::String);
            line["archived_at"] = channel.archived_at.map_or(Value::Null, |at| Value::String(at.to_rfc3339()));
            channels.write(&line)?;
            counts.channels += 1;
            for ExportedMember { member, last_read_seq, notify, muted } in store.export_members(channel.id).await? {
                members.write(&json!({
                    "channel_id": channel.id.to_string(),
                    "user_id": member.user.id.to_string(),
                    "role": member.role.as_str(),
                    "joined_at": member.joined_at.to_rfc3339(),
                    "last_read_seq": last_read_seq,
                    "notify": notify.map(Notify::as_str),
                    "muted": muted,
                }))?;
                counts.members += 1;
            }
            for (seq, user) in store.export_told(channel.id).await? {
                told.write(&json!({"channel_id": channel.id.to_string(), "seq": seq, "user_id": user.to_string()}))?;
            }
            let mut seq = 0;
            loop {
                let page = store.events_after(channel.id, seq, PAGE).await?;
                for event in &page {
                    events.write(&serde_json::to_value(wire::Event::from(event))?)?;
                    counts.events += 1;
                }
                match page.last() {
                    Some(last) => seq = last.seq,
                    None => break,
                }
            }
        }
        match page.last() {
            Some(last) => after = Some(last.id),
            None => break,
        }
    }
    channels.finish()?;
    members.finish()?;
    events.finish()?;
    told.finish()?;
    let manifest = json!({
        "format": FORMAT,
        "version": VERSION,
        "exported_at": Timestamp::now().to_rfc3339(),
        "with_credentials": with_credentials,
        "users": counts.users,
        "channels": counts.channels,
        "members": counts.members,
        "events": counts.events,
        "files": 0,
    });
    std::fs::write(out.join("manifest.json"), serde_json::to_vec_pretty(&manifest)?)?;
    Ok(counts)
}

/// One JSON Lines file being written.
struct Lines {
    name: &'static str,
    out: BufWriter<File>,
}

impl Lines {
    fn create(dir: &Path, name: &'static str) -> anyhow::Result<Lines> {
        let file = File::create(dir.join(name)).with_context(|| format!("creating {name}"))?;
        Ok(Lines { name, out: BufWriter::new(file) })
    }

    fn write(&mut self, value: &Value) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.out, value)?;
        self.out.write_all(b"\n").with_context(|| format!("writing {}", self.name))
    }

    /// Flushed and on disk.
    fn finish(self) -> anyhow::Result<()> {
        let file = self.out.into_inner().map_err(|e| anyhow::anyhow!("writing {}: {}", self.name, e.error()))?;
        file.sync_all().with_context(|| format!("syncing {}", self.name))
    }
}
