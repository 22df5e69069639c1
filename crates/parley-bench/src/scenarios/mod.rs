//! The scenarios, one module each: what to set up, how to load it, what to report.
//!
//! - [`throughput`]: S senders in C channels of M members;
//! - [`fanout`]: one channel of N members, against the bare baseline too;
//! - [`idle`]: memory per idle session;
//! - [`resume`]: a reconnect after K missed events;
//! - [`history`]: paging a channel's log over REST;
//! - [`login`]: a storm of logins;
//! - [`search`]: full-text search over many messages.

pub mod fanout;
pub mod history;
pub mod idle;
pub mod idle_worker;
pub mod login;
pub mod resume;
pub mod search;
pub mod throughput;

use std::time::Instant;

use anyhow::bail;
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::load::client::Ws;
use crate::load::plan::SERVER_IN_FLIGHT;
use crate::load::wire;

use crate::load::api::{Account, Api};
use crate::load::report::Setup;
use crate::load::setup;

/// Registers `channels × members` users and makes the channels: what
/// throughput and fan-out both need. Returns the accounts (channel `c` holds
/// `c*members ..`), the channel ids, and the time each step took.
pub async fn populate(
    api: &Api,
    channels: usize,
    members: usize,
    register_concurrency: usize,
) -> anyhow::Result<(Vec<Account>, Vec<String>, Setup)> {
    let prefix = setup::run_prefix();
    let started = Instant::now();
    let accounts = setup::register(api, &prefix, channels * members, register_concurrency).await?;
    let register_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let ids = setup::channels(api, &prefix, &accounts, channels, members).await?;
    let channels_secs = started.elapsed().as_secs_f64();
    eprintln!("set up {channels} channels of {members} in {:.1} s", register_secs + channels_secs);
    Ok((accounts, ids, Setup { register_secs, channels_secs, connect_secs: 0.0 }))
}

/// Posts `count` messages with up to the server's in-flight limit
/// unanswered; returns the highest seq acked.
pub async fn post(ws: &mut Ws, channel: &str, sent: &mut u64, count: usize) -> anyhow::Result<i64> {
    let channel_json = serde_json::Value::from(channel).to_string();
    let (first, mut acked, mut through) = (*sent, 0usize, 0i64);
    let end = first + count as u64;
    while acked < count {
        while *sent < end && (*sent - first) as usize - acked < SERVER_IN_FLIGHT {
            ws.feed(Message::Text(wire::send_frame(&channel_json, 0, *sent, 0, 64).into())).await?;
            *sent += 1;
        }
        ws.flush().await?;
        let Some(message) = ws.next().await else { bail!("the writer's connection ended") };
        let Message::Text(text) = message? else { continue };
        let value: serde_json::Value = serde_json::from_str(text.as_str())?;
        match value["type"].as_str() {
            Some("ack") => {
                acked += 1;
                through = through.max(value["seq"].as_i64().unwrap_or(0));
            }
            Some("error") => bail!("a send failed: {value}"),
            _ => {}
        }
    }
    Ok(through)
}
