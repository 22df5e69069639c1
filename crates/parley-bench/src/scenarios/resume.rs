//! `resume`: a reader misses K events of a channel, then reconnects with
//! `resume`; measured from the reconnect to the last missed event in hand.
//! The server replays up to 1000 events inline and sends one `gap` for the
//! rest, which the reader pages through `GET …/events?after=…` (500 a page),
//! as the web client does. Every missed seq must arrive exactly once.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use futures::{stream, StreamExt, TryStreamExt};
use serde::Serialize;
use tokio_tungstenite::tungstenite::Message;

use crate::load::api::{Account, Api};
use crate::load::client;
use crate::load::report::write_json;
use crate::load::stats::{histogram, Percentiles};
use crate::load::target::{Target, TargetArgs};
use crate::load::{setup, wire};

#[derive(Debug, Clone, Args)]
pub struct ResumeArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Events the reader misses before each reconnect.
    #[arg(long, default_value_t = 10_000)]
    pub missed: usize,
    /// Reconnects measured (each after K new events).
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    /// Events per REST page (the server allows 500).
    #[arg(long, default_value_t = 500)]
    pub page_limit: u32,
    /// Pages requested at once while filling a gap.
    #[arg(long, default_value_t = 1)]
    pub page_concurrency: usize,
    /// Also write the figures as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// One reconnect, times in milliseconds from the start of the connect.
#[derive(Debug, Clone, Serialize)]
pub struct Resumed {
    pub ready_ms: f64,
    pub inline_events: usize,
    /// When the `gap` frame came (after the inline replay), if one did.
    pub gap_ms: Option<f64>,
    pub paged_events: usize,
    pub pages: usize,
    pub last_event_ms: f64,
    pub missing: usize,
    pub duplicates: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResumeReport {
    pub missed: usize,
    pub runs: Vec<Resumed>,
    /// Of `last_event_ms` over the runs.
    pub last_event: Percentiles,
    pub consistent: bool,
}

pub async fn run(args: ResumeArgs) -> anyhow::Result<bool> {
    let target = Target::open(&args.target)?;
    let report = measure(&args, &target).await;
    target.stop();
    let report = report?;
    println!("resume of {} missed events, {} reconnects:", report.missed, report.runs.len());
    for r in &report.runs {
        println!(
            "  ready {:.1} ms, {} inline, gap at {}, {} paged in {} pages, last event at {:.1} ms; missing {}, duplicates {}",
            r.ready_ms,
            r.inline_events,
            r.gap_ms.map_or("-".into(), |g| format!("{g:.1} ms")),
            r.paged_events,
            r.pages,
            r.last_event_ms,
            r.missing,
            r.duplicates
        );
    }
    let p = &report.last_event;
    println!("  to the last event: p50 {:.1} ms, max {:.1} ms", p.p50_ms, p.max_ms);
    println!("  {}", if report.consistent { "CONSISTENT" } else { "INCONSISTENT" });
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    Ok(report.consistent)
}

async fn measure(args: &ResumeArgs, target: &Target) -> anyhow::Result<ResumeReport> {
    let api = Api::new(target.http_url(""))?;
    let prefix = setup::run_prefix();
    let accounts = setup::register(&api, &prefix, 2, 2).await?;
    let channel = setup::channels(&api, &prefix, &accounts, 1, 2).await?.remove(0);
    let (writer, reader) = (&accounts[0], &accounts[1]);
    let (addr, url) = (target.addr, target.ws_url("/api/v1/ws"));
    let mut ws = client::connect(addr, &url, None).await?;
    let mut head = *client::hello(&mut ws, Some(writer.token.clone()), None).await?.get(&channel).context("channel")?;
    let mut runs = Vec::with_capacity(args.repeat);
    let mut sent = 0u64;
    for _ in 0..args.repeat {
        let through = super::post(&mut ws, &channel, &mut sent, args.missed).await?;
        runs.push(reconnect(args, &api, target, reader, &channel, head, through).await?);
        head = through;
    }
    let mut times = histogram();
    for r in &runs {
        times.saturating_record((r.last_event_ms * 1000.0) as u64);
    }
    let consistent = runs.iter().all(|r| r.missing == 0 && r.duplicates == 0);
    Ok(ResumeReport { missed: args.missed, runs, last_event: Percentiles::of(&times), consistent })
}

/// Reconnects `reader` resuming `channel` from `from`; collects every event through `through`.
async fn reconnect(
    args: &ResumeArgs,
    api: &Api,
    target: &Target,
    reader: &Account,
    channel: &str,
    from: i64,
    through: i64,
) -> anyhow::Result<Resumed> {
    let started = Instant::now();
    let ms = |at: Instant| at.duration_since(started).as_secs_f64() * 1000.0;
    let mut ws = client::connect(target.addr, &target.ws_url("/api/v1/ws"), None).await?;
    client::hello(&mut ws, Some(reader.token.clone()), Some(BTreeMap::from([(channel.to_owned(), from)]))).await?;
    let ready_ms = ms(Instant::now());
    let mut seen = Seen::new(from, through);
    let (mut inline_events, mut gap) = (0, None);
    while !seen.complete() && gap.is_none() {
        let Some(message) = ws.next().await else { bail!("the reader's connection ended") };
        let Message::Text(text) = message? else { continue };
        let frame: wire::Incoming = serde_json::from_str(text.as_str())?;
        match (frame.kind.as_ref(), frame.event) {
            ("event", Some(event)) if event.channel_id == channel => {
                seen.add(event.seq);
                inline_events += 1;
            }
            ("gap", _) => {
                let value: serde_json::Value = serde_json::from_str(text.as_str())?;
                gap = Some((
                    value["after_seq"].as_i64().unwrap_or(from),
                    value["through_seq"].as_i64().unwrap_or(through),
                ));
            }
            _ => {}
        }
    }
    let gap_ms = gap.map(|_| ms(Instant::now()));
    let (mut paged_events, mut pages) = (0, 0);
    if let Some((after, until)) = gap {
        let limit = i64::from(args.page_limit.max(1));
        let starts: Vec<i64> = (after..until).step_by(limit as usize).collect();
        let results: Vec<_> = stream::iter(starts)
            .map(|start| api.events_after(&reader.token, channel, start, args.page_limit))
            .buffered(args.page_concurrency.max(1))
            .try_collect()
            .await?;
        for page in results {
            pages += 1;
            for event in page.events.iter().filter(|e| e.seq <= until) {
                seen.add(event.seq);
                paged_events += 1;
            }
        }
    }
    let last_event_ms = ms(Instant::now());
    let _ = ws.close(None).await;
    Ok(Resumed {
        ready_ms,
        inline_events,
        gap_ms,
        paged_events,
        pages,
        last_event_ms,
        missing: seen.missing(),
        duplicates: seen.duplicates,
    })
}

/// Which seqs of `from+1 ..= through` arrived, and how many twice.
struct Seen {
    from: i64,
    have: Vec<bool>,
    count: usize,
    duplicates: usize,
}

impl Seen {
    fn new(from: i64, through: i64) -> Seen {
        Seen { from, have: vec![false; (through - from).max(0) as usize], count: 0, duplicates: 0 }
    }

    fn add(&mut self, seq: i64) {
        let Some(slot) = usize::try_from(seq - self.from - 1).ok().and_then(|i| self.have.get_mut(i)) else { return };
        if *slot {
            self.duplicates += 1;
        } else {
            *slot = true;
            self.count += 1;
        }
    }

    fn complete(&self) -> bool {
        self.count == self.have.len()
    }

    fn missing(&self) -> usize {
        self.have.len() - self.count
    }
}
