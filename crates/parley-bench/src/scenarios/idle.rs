//! `idle`: N sessions that say `hello`, get `ready` and then stay silent;
//! the server's RSS before and after gives its memory per idle session.
//! One user (by default) owns them all, with no channels, as
//! `scripts/idle-sockets.py` does, so no presence traffic flows.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use futures::{stream, StreamExt};
use serde::Serialize;

use crate::load::api::Api;
use crate::load::client::{self, Ws};
use crate::load::procstat::{Proc, ProcFigures, ProcSample};
use crate::load::report::write_json;
use crate::load::target::{Target, TargetArgs};
use crate::load::{setup, source_address};

#[derive(Debug, Clone, Args)]
pub struct IdleArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Idle sessions to open.
    #[arg(long, default_value_t = 5000)]
    pub sessions: usize,
    /// Users owning them, round robin (each user is registered once).
    #[arg(long, default_value_t = 1)]
    pub users: usize,
    /// Sessions connecting and saying hello at once.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// Seconds to wait, once all are open, before reading the server's memory.
    #[arg(long, default_value_t = 3.0)]
    pub settle: f64,
    /// Spread the client sockets over 127.0.0.1 ..= 127.0.0.K.
    #[arg(long, default_value_t = 1)]
    pub source_addresses: u8,
    /// Also write the figures as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdleReport {
    pub sessions: usize,
    pub users: usize,
    pub connect_secs: f64,
    pub sessions_per_sec: f64,
    pub rss_before_mib: f64,
    pub rss_after_mib: f64,
    pub kib_per_session: f64,
    /// After every session closed and a settle: what the server gave back.
    pub rss_after_close_mib: f64,
    /// The server's CPU while the sessions connected.
    pub connect: ProcFigures,
    pub client_rss_mib: f64,
}

pub async fn run(args: IdleArgs) -> anyhow::Result<bool> {
    let target = Target::open(&args.target)?;
    let report = measure(&args, &target).await;
    target.stop();
    let report = report?;
    println!("idle: {} sessions of {} users", report.sessions, report.users);
    println!(
        "  connected in {:.1} s ({:.0}/s); server CPU {:.0}% while connecting",
        report.connect_secs, report.sessions_per_sec, report.connect.cpu_percent
    );
    println!(
        "  server RSS {:.1} → {:.1} MiB: {:.1} KiB per idle session; {:.1} MiB after they closed",
        report.rss_before_mib, report.rss_after_mib, report.kib_per_session, report.rss_after_close_mib
    );
    println!("  client RSS {:.1} MiB", report.client_rss_mib);
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    Ok(true)
}

async fn measure(args: &IdleArgs, target: &Target) -> anyhow::Result<IdleReport> {
    let pid = target.pid.context("idle measures the server's memory: use --spawn or --server-pid")?;
    let server = Proc::Pid(pid);
    let api = Api::new(target.http_url(""))?;
    let users = args.users.clamp(1, args.sessions.max(1));
    let accounts = setup::register(&api, &setup::run_prefix(), users, setup::REGISTER_CONCURRENCY).await?;
    // Registration's argon2 buffers come and go: let the allocator settle first.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = server.sample().context("reading the server's /proc")?;
    let (addr, url) = (target.addr, target.ws_url("/api/v1/ws"));
    let started = Instant::now();
    let opened: Vec<anyhow::Result<Ws>> = stream::iter(0..args.sessions)
        .map(|i| {
            let token = accounts[i % users].token.clone();
            let (url, source) = (url.clone(), source_address(args.source_addresses, i));
            async move {
                let mut ws = client::connect(addr, &url, source).await?;
                client::hello(&mut ws, Some(token), None).await?;
                Ok(ws)
            }
        })
        .buffer_unordered(args.connect_concurrency.max(1))
        .collect()
        .await;
    let connect_secs = started.elapsed().as_secs_f64();
    let connected = server.sample().context("reading the server's /proc")?;
    let sockets: Vec<Ws> = opened.into_iter().collect::<anyhow::Result<_>>().context("opening idle sessions")?;
    tokio::time::sleep(Duration::from_secs_f64(args.settle.max(0.0))).await;
    let after = server.sample().context("reading the server's /proc")?;
    let client_rss_mib = Proc::Myself.sample().map_or(0.0, |s| s.rss_kib as f64 / 1024.0);
    drop(sockets);
    tokio::time::sleep(Duration::from_secs_f64(args.settle.max(1.0))).await;
    let closed = server.sample().context("reading the server's /proc")?;
    let mib = |s: &ProcSample| s.rss_kib as f64 / 1024.0;
    Ok(IdleReport {
        sessions: args.sessions,
        users,
        connect_secs,
        sessions_per_sec: args.sessions as f64 / connect_secs.max(1e-6),
        rss_before_mib: mib(&before),
        rss_after_mib: mib(&after),
        kib_per_session: after.rss_kib.saturating_sub(before.rss_kib) as f64 / args.sessions.max(1) as f64,
        rss_after_close_mib: mib(&closed),
        connect: ProcFigures::between(&before, &connected),
        client_rss_mib,
    })
}
