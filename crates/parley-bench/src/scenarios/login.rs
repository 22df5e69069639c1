//! `login`: a storm of logins. C clients log U users in again and again for
//! the duration; argon2 (about 20 ms of one core each) is the expected limit.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

use crate::load::api::Api;
use crate::load::procstat::{Proc, ProcFigures};
use crate::load::report::write_json;
use crate::load::setup;
use crate::load::stats::{histogram, Percentiles};
use crate::load::target::{Target, TargetArgs};

#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Users logged in, round robin.
    #[arg(long, default_value_t = 8)]
    pub users: usize,
    /// Clients logging in at once.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Seconds of logging in.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Also write the figures as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoginReport {
    pub users: usize,
    pub clients: usize,
    pub secs: f64,
    pub logins_per_sec: f64,
    pub latency: Percentiles,
    pub errors: u64,
    pub server_process: Option<ProcFigures>,
}

pub async fn run(args: LoginArgs) -> anyhow::Result<bool> {
    let target = Target::open(&args.target)?;
    let report = measure(&args, &target).await;
    target.stop();
    let report = report?;
    let p = &report.latency;
    println!("login: {} clients, {} users, {:.1} s", report.clients, report.users, report.secs);
    println!("  {:.1} logins/s, {} errors", report.logins_per_sec, report.errors);
    println!("  latency (ms): p50 {:.1}, p90 {:.1}, p99 {:.1}, max {:.1}", p.p50_ms, p.p90_ms, p.p99_ms, p.max_ms);
    if let Some(s) = &report.server_process {
        println!(
            "  server CPU {:.0}% of one core, RSS {:.1} → {:.1} MiB",
            s.cpu_percent, s.rss_start_mib, s.rss_end_mib
        );
    }
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    Ok(report.errors == 0)
}

async fn measure(args: &LoginArgs, target: &Target) -> anyhow::Result<LoginReport> {
    let api = Api::new(target.http_url(""))?;
    let users = args.users.max(1);
    let accounts = setup::register(&api, &setup::run_prefix(), users, setup::REGISTER_CONCURRENCY).await?;
    let names: Vec<String> = accounts.into_iter().map(|a| a.username).collect();
    let deadline = Instant::now() + Duration::from_secs_f64(args.duration.max(0.1));
    let server_start = target.pid.and_then(|p| Proc::Pid(p).sample());
    let started = Instant::now();
    let clients: Vec<_> = (0..args.clients.max(1))
        .map(|c| {
            let (api, names) = (api.clone(), names.clone());
            tokio::spawn(async move {
                let (mut latencies, mut errors, mut i) = (histogram(), 0u64, c);
                while Instant::now() < deadline {
                    let asked = Instant::now();
                    match api.login(&names[i % names.len()]).await {
                        Ok(_) => latencies.saturating_record(asked.elapsed().as_micros() as u64),
                        Err(_) => errors += 1,
                    }
                    i += 1;
                }
                (latencies, errors)
            })
        })
        .collect();
    let (mut all, mut errors) = (histogram(), 0);
    for client in clients {
        if let Ok((latencies, failed)) = client.await {
            let _ = all.add(latencies);
            errors += failed;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let server_end = target.pid.and_then(|p| Proc::Pid(p).sample());
    Ok(LoginReport {
        users,
        clients: args.clients,
        secs,
        logins_per_sec: all.len() as f64 / secs,
        latency: Percentiles::of(&all),
        errors,
        server_process: server_start.zip(server_end).map(|(a, b)| ProcFigures::between(&a, &b)),
    })
}
