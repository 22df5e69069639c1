//! `history`: REST paging. One channel holds K messages; C clients page
//! through all of it (`GET …/events?after=…&limit=…`) again and again for
//! the duration: pages/s, events/s and the latency of one page.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

use crate::load::api::Api;
use crate::load::client;
use crate::load::procstat::{Proc, ProcFigures};
use crate::load::report::write_json;
use crate::load::setup;
use crate::load::stats::{histogram, Percentiles};
use crate::load::target::{Target, TargetArgs};

#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Messages in the channel.
    #[arg(long, default_value_t = 10_000)]
    pub events: usize,
    /// Clients paging at once.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Events per page (the server allows 500).
    #[arg(long, default_value_t = 500)]
    pub page_limit: u32,
    /// Seconds of paging.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Also write the figures as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryReport {
    pub events: usize,
    pub clients: usize,
    pub page_limit: u32,
    pub secs: f64,
    pub pages_per_sec: f64,
    pub events_per_sec: f64,
    pub page_latency: Percentiles,
    pub errors: u64,
    pub server_process: Option<ProcFigures>,
}

pub async fn run(args: HistoryArgs) -> anyhow::Result<bool> {
    let target = Target::open(&args.target)?;
    let report = measure(&args, &target).await;
    target.stop();
    let report = report?;
    let p = &report.page_latency;
    println!(
        "history: {} clients paging {} events, {} a page, for {:.1} s",
        report.clients, report.events, report.page_limit, report.secs
    );
    println!("  {:.0} pages/s, {:.0} events/s, {} errors", report.pages_per_sec, report.events_per_sec, report.errors);
    println!(
        "  page latency (ms): p50 {:.2}, p90 {:.2}, p99 {:.2}, p99.9 {:.2}, max {:.2}",
        p.p50_ms, p.p90_ms, p.p99_ms, p.p999_ms, p.max_ms
    );
    if let Some(s) = &report.server_process {
        println!("  server CPU {:.0}% of one core", s.cpu_percent);
    }
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    Ok(report.errors == 0)
}

async fn measure(args: &HistoryArgs, target: &Target) -> anyhow::Result<HistoryReport> {
    let api = Api::new(target.http_url(""))?;
    let prefix = setup::run_prefix();
    let account = setup::register(&api, &prefix, 1, 1).await?.remove(0);
    let channel = setup::channels(&api, &prefix, std::slice::from_ref(&account), 1, 1).await?.remove(0);
    let mut ws = client::connect(target.addr, &target.ws_url("/api/v1/ws"), None).await?;
    client::hello(&mut ws, Some(account.token.clone()), None).await?;
    super::post(&mut ws, &channel, &mut 0, args.events).await?;
    eprintln!("posted {} messages", args.events);

    let (pages, events, errors) =
        (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let deadline = Instant::now() + Duration::from_secs_f64(args.duration.max(0.1));
    let server_start = target.pid.and_then(|p| Proc::Pid(p).sample());
    let started = Instant::now();
    let clients: Vec<_> = (0..args.clients.max(1))
        .map(|_| {
            let (api, token, channel, limit) = (api.clone(), account.token.clone(), channel.clone(), args.page_limit);
            let (pages, events, errors) = (pages.clone(), events.clone(), errors.clone());
            tokio::spawn(async move {
                let mut latencies = histogram();
                let mut after = 0;
                while Instant::now() < deadline {
                    let asked = Instant::now();
                    match api.events_after(&token, &channel, after, limit).await {
                        Ok(page) => {
                            latencies.saturating_record(asked.elapsed().as_micros() as u64);
                            pages.fetch_add(1, Relaxed);
                            events.fetch_add(page.events.len() as u64, Relaxed);
                            after = if page.has_more { page.events.last().map_or(0, |e| e.seq) } else { 0 };
                        }
                        Err(_) => {
                            errors.fetch_add(1, Relaxed);
                            after = 0;
                        }
                    }
                }
                latencies
            })
        })
        .collect();
    let mut all = histogram();
    for client in clients {
        if let Ok(latencies) = client.await {
            let _ = all.add(latencies);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let server_end = target.pid.and_then(|p| Proc::Pid(p).sample());
    Ok(HistoryReport {
        events: args.events,
        clients: args.clients,
        page_limit: args.page_limit,
        secs,
        pages_per_sec: pages.load(Relaxed) as f64 / secs,
        events_per_sec: events.load(Relaxed) as f64 / secs,
        page_latency: Percentiles::of(&all),
        errors: errors.load(Relaxed),
        server_process: server_start.zip(server_end).map(|(a, b)| ProcFigures::between(&a, &b)),
    })
}
