//! `search`: full-text search over a large store. N messages of ten words
//! (a vocabulary of 2,000 made-up words, a few common and most rare, as in
//! speech) are sent into C channels, one sender each; then one reader, a
//! member of every channel, searches: one word, two words, a phrase, and
//! `from:@someone`, each kind again and again for a while. Reports the rate
//! the messages were stored at, each kind's latency, and the data
//! directory's size on disk (against a server without search, the index's).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use futures::{SinkExt, StreamExt};
use serde::Serialize;
use tokio_tungstenite::tungstenite::Message;

use crate::load::api::Api;
use crate::load::client;
use crate::load::plan::SERVER_IN_FLIGHT;
use crate::load::report::write_json;
use crate::load::setup;
use crate::load::stats::{histogram, Percentiles};
use crate::load::target::{Target, TargetArgs};

#[derive(Debug, Clone, Args)]
pub struct SearchArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Messages stored before searching.
    #[arg(long, default_value_t = 1_000_000)]
    pub messages: usize,
    /// Channels they are spread over, one sender each.
    #[arg(long, default_value_t = 100)]
    pub channels: usize,
    /// Seconds of searching per kind of query.
    #[arg(long, default_value_t = 5.0)]
    pub duration: f64,
    /// Also write the figures as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchReport {
    pub messages: usize,
    pub channels: usize,
    pub stored_per_sec: f64,
    /// `None` when the server has no search (`GET /api/v1/search` is 404).
    pub queries: Option<Vec<QueryFigures>>,
    /// The data directory's files, when the server was spawned.
    pub data_bytes: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueryFigures {
    pub kind: &'static str,
    pub query: String,
    pub results: usize,
    pub latency: Percentiles,
}

const VOCABULARY: usize = 2_000;
const WORDS: usize = 10;

/// The `i`th made-up word: syllables, so that words look like words.
fn word(i: usize) -> String {
    const SYLLABLES: [&str; 20] = [
        "ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "zu", "pa", "do", "gi", "fe", "ho", "ja", "qu", "wi", "xa",
        "bo", "ce",
    ];
    let (a, b, c) = (i % 20, (i / 20) % 20, i / 400);
    format!("{}{}{}", SYLLABLES[a], SYLLABLES[b], SYLLABLES[c % 20])
}

/// Message `n`'s words: word `k` of the vocabulary with a weight falling as
/// `1/(k+1)` (a few words in most messages, most words in few), drawn from
/// `n` so that every run writes the same text.
fn words(n: u64) -> Vec<String> {
    let mut state = n.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
    (0..WORDS)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            // Inverse of the harmonic weights, near enough: e^(u·ln V) − 1.
            let k = ((u * (VOCABULARY as f64).ln()).exp() - 1.0) as usize;
            word(k.min(VOCABULARY - 1))
        })
        .collect()
}

pub async fn run(args: SearchArgs) -> anyhow::Result<bool> {
    let target = Target::open(&args.target)?;
    let report = measure(&args, &target).await;
    target.stop();
    let report = report?;
    println!(
        "search: {} messages in {} channels, stored at {:.0}/s",
        report.messages, report.channels, report.stored_per_sec
    );
    match &report.queries {
        None => println!("  the server has no search (404): nothing searched"),
        Some(queries) => {
            for q in queries {
                let p = &q.latency;
                println!(
                    "  {:<9} {:<28} {:>7} found, {:>5} queries: p50 {:.2}, p90 {:.2}, p99 {:.2}, max {:.2} ms",
                    q.kind, q.query, q.results, p.count, p.p50_ms, p.p90_ms, p.p99_ms, p.max_ms
                );
            }
        }
    }
    if let Some(bytes) = report.data_bytes {
        println!("  data directory on disk: {:.1} MiB", bytes as f64 / (1u64 << 20) as f64);
    }
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    Ok(true)
}

async fn measure(args: &SearchArgs, target: &Target) -> anyhow::Result<SearchReport> {
    let api = Api::new(target.http_url(""))?;
    let (accounts, channels, _) = super::populate(&api, args.channels, 1, 16).await?;
    let reader = setup::register(&api, &format!("{}r", setup::run_prefix()), 1, 1).await?.remove(0);
    for channel in &channels {
        api.join(&reader.token, channel).await?;
    }

    let started = Instant::now();
    let per_channel = args.messages.div_ceil(args.channels.max(1));
    let senders: Vec<_> = accounts
        .iter()
        .zip(&channels)
        .enumerate()
        .map(|(c, (account, channel))| {
            let (addr, url, token, channel) =
                (target.addr, target.ws_url("/api/v1/ws"), account.token.clone(), channel.clone());
            let count = per_channel.min(args.messages.saturating_sub(c * per_channel));
            tokio::spawn(async move { send(addr, &url, &token, &channel, (c * per_channel) as u64, count).await })
        })
        .collect();
    for sender in senders {
        sender.await.context("a sender")??;
    }
    let stored_per_sec = args.messages as f64 / started.elapsed().as_secs_f64();
    eprintln!("stored {} messages at {stored_per_sec:.0}/s", args.messages);

    let (a, b) = (word(40), word(41));
    let kinds = [
        ("one word", word(30)),
        ("two words", format!("{a} {b}")),
        ("phrase", format!("\"{} {}\"", word(3), word(4))),
        ("from", format!("from:@{}", accounts[7 % accounts.len()].username)),
    ];
    let mut queries = Vec::new();
    for (kind, query) in kinds {
        let Some(figures) = searching(&api, &reader.token, kind, &query, args.duration).await? else {
            return Ok(SearchReport {
                messages: args.messages,
                channels: args.channels,
                stored_per_sec,
                queries: None,
                data_bytes: target.data_bytes(),
            });
        };
        queries.push(figures);
    }
    Ok(SearchReport {
        messages: args.messages,
        channels: args.channels,
        stored_per_sec,
        queries: Some(queries),
        data_bytes: target.data_bytes(),
    })
}

/// Sends `count` messages into `channel` with up to the server's in-flight
/// limit unanswered, message `first + i` holding [`words`]`(first + i)`.
async fn send(
    addr: std::net::SocketAddr,
    url: &str,
    token: &str,
    channel: &str,
    first: u64,
    count: usize,
) -> anyhow::Result<()> {
    let mut ws = client::connect(addr, url, None).await?;
    client::hello(&mut ws, Some(token.to_owned()), None).await?;
    let channel_json = serde_json::Value::from(channel).to_string();
    let (mut sent, mut acked) = (0usize, 0usize);
    while acked < count {
        while sent < count && sent - acked < SERVER_IN_FLIGHT {
            let n = first + sent as u64;
            let body = words(n).join(" ");
            let frame = format!(
                r#"{{"type":"send","ref":{n},"channel_id":{channel_json},"client_msg_id":"s{n}","body":"{body}"}}"#
            );
            ws.feed(Message::Text(frame.into())).await?;
            sent += 1;
        }
        ws.flush().await?;
        let Some(message) = ws.next().await else { bail!("a sender's connection ended") };
        let Message::Text(text) = message? else { continue };
        let value: serde_json::Value = serde_json::from_str(text.as_str())?;
        match value["type"].as_str() {
            Some("ack") => acked += 1,
            Some("error") => bail!("a send failed: {value}"),
            _ => {}
        }
    }
    Ok(())
}

/// Asks `query` again and again for `duration` seconds, one at a time;
/// `None` when the server has no search.
async fn searching(
    api: &Api,
    token: &str,
    kind: &'static str,
    query: &str,
    duration: f64,
) -> anyhow::Result<Option<QueryFigures>> {
    let mut latencies = histogram();
    let mut results = 0;
    let deadline = Instant::now() + Duration::from_secs_f64(duration.max(0.1));
    while Instant::now() < deadline {
        let asked = Instant::now();
        match api.search(token, query).await? {
            None => return Ok(None),
            Some(found) => {
                latencies.saturating_record(asked.elapsed().as_micros() as u64);
                results = found;
            }
        }
    }
    Ok(Some(QueryFigures { kind, query: query.to_owned(), results, latency: Percentiles::of(&latencies) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_the_same_every_run_and_mostly_common() {
        assert_eq!(words(7), words(7));
        assert_ne!(words(7), words(8));
        let counts = (0..10_000).flat_map(words).filter(|w| *w == word(0)).count();
        assert!(counts > 5_000, "the first word is in many messages: {counts}");
        assert_eq!(word(0), "kakaka");
        assert_ne!(word(VOCABULARY - 1), word(VOCABULARY - 2));
    }
}
