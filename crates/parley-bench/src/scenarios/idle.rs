//! `idle`: N sessions that say `hello`, get `ready` and then stay silent,
//! opened in K steps with the server's RSS read after each settles: its
//! memory against connections, and per idle session. One user (by default)
//! owns them all, with no channels, so no presence traffic flows. Past one
//! process's open-file limit the sessions are held by P child processes
//! ([`idle_worker`](super::idle_worker)), and past one source address's
//! ephemeral ports they need `--source-addresses`: both are checked before
//! anything opens.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use super::idle_worker::{Holder, IdleWorkerArgs};
use crate::load::api::Api;
use crate::load::limits;
use crate::load::plot::{Chart, Series};
use crate::load::procstat::{Proc, ProcFigures, ProcSample};
use crate::load::progress;
use crate::load::report::write_json;
use crate::load::setup;
use crate::load::target::{Target, TargetArgs};

/// Sessions per client process when `--processes` is automatic: well under
/// the 20,000 open files these machines allow one process.
const SESSIONS_PER_PROCESS: usize = 15_000;

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
    /// Client processes holding the sessions; 0 = one per 15,000 sessions.
    /// Past one, children of this binary hold them.
    #[arg(long, default_value_t = 0)]
    pub processes: usize,
    /// Open the sessions in this many equal steps (the last takes the
    /// remainder), reading the server's memory after each.
    #[arg(long, default_value_t = 1)]
    pub steps: usize,
    /// Sessions connecting and saying hello at once, in each process.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// Seconds to wait, after each step, before reading the server's memory.
    #[arg(long, default_value_t = 3.0)]
    pub settle: f64,
    /// Spread the client sockets over 127.0.0.1 ..= 127.0.0.K: one source
    /// address has about 28,000 ephemeral ports towards one server.
    #[arg(long, default_value_t = 1)]
    pub source_addresses: u8,
    /// Also write the figures as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Draw the server's (and the clients') memory against open sessions,
    /// one point per step, as an SVG to this file.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdleReport {
    pub sessions: usize,
    pub users: usize,
    /// Client processes that held the sessions.
    pub processes: usize,
    /// Seconds spent opening sessions (the settles left out).
    pub connect_secs: f64,
    pub sessions_per_sec: f64,
    pub rss_before_mib: f64,
    /// After the last step.
    pub rss_after_mib: f64,
    pub kib_per_session: f64,
    /// After every session closed and a settle: what the server gave back.
    pub rss_after_close_mib: f64,
    /// The server's CPU while the sessions connected.
    pub connect: ProcFigures,
    /// The client processes' RSS after the last step, summed.
    pub client_rss_mib: f64,
    /// One per step.
    pub points: Vec<IdlePoint>,
}

/// The server's memory once `sessions` (in all) are open and settled.
#[derive(Debug, Clone, Serialize)]
pub struct IdlePoint {
    pub sessions: usize,
    pub server_rss_mib: f64,
    /// (RSS − RSS before any opened) / sessions.
    pub kib_per_session: f64,
    /// The client processes' RSS, summed.
    pub client_rss_mib: f64,
}

pub async fn run(args: IdleArgs) -> anyhow::Result<bool> {
    let processes = processes(args.sessions, args.processes);
    limits::client(args.sessions, processes, args.source_addresses, true)?;
    let target = Target::open(&args.target)?;
    let report = measure(&args, processes, &target).await;
    target.stop();
    let report = report?;
    println!("idle: {} sessions of {} users in {} client processes", report.sessions, report.users, report.processes);
    println!(
        "  connected in {:.1} s ({:.0}/s); server CPU {:.0}% while connecting",
        report.connect_secs, report.sessions_per_sec, report.connect.cpu_percent
    );
    if report.points.len() > 1 {
        for point in &report.points {
            println!(
                "  {:>7} sessions: server RSS {:.1} MiB, {:.1} KiB per session; client RSS {:.1} MiB",
                point.sessions, point.server_rss_mib, point.kib_per_session, point.client_rss_mib
            );
        }
    }
    println!(
        "  server RSS {:.1} → {:.1} MiB: {:.1} KiB per idle session; {:.1} MiB after they closed",
        report.rss_before_mib, report.rss_after_mib, report.kib_per_session, report.rss_after_close_mib
    );
    println!("  client RSS {:.1} MiB", report.client_rss_mib);
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    if let Some(path) = &args.plot {
        memory_chart(&report).write(path)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(true)
}

/// RSS against open sessions, from the state before any opened.
fn memory_chart(report: &IdleReport) -> Chart {
    let series = |name: &str, start: f64, pick: fn(&IdlePoint) -> f64| Series {
        name: name.to_owned(),
        points: std::iter::once((0.0, start))
            .chain(report.points.iter().map(|p| (p.sessions as f64, pick(p))))
            .collect(),
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Chart {
        title: format!(
            "memory against idle WebSocket sessions: {:.1} KiB per session at {}",
            report.kib_per_session, report.sessions
        ),
        subtitle: format!(
            "parley-bench idle --steps {}, {} client process(es), one {cores}-core machine",
            report.points.len(),
            report.processes
        ),
        x_label: "open sessions".to_owned(),
        y_label: "resident memory (MiB)".to_owned(),
        series: vec![
            series("server RSS", report.rss_before_mib, |p| p.server_rss_mib),
            series("client RSS (all client processes)", 0.0, |p| p.client_rss_mib),
        ],
        ..Chart::default()
    }
}

async fn measure(args: &IdleArgs, processes: usize, target: &Target) -> anyhow::Result<IdleReport> {
    let pid = target.pid.context("idle measures the server's memory: use --spawn or --server-pid")?;
    let server = Proc::Pid(pid);
    limits::server(pid, args.sessions)?;
    let api = Api::new(target.http_url(""))?;
    let users = args.users.clamp(1, args.sessions.max(1));
    let accounts = setup::register(&api, &setup::run_prefix(), users, setup::REGISTER_CONCURRENCY).await?;
    let tokens: Vec<String> = accounts.into_iter().map(|a| a.token).collect();
    let dial = IdleWorkerArgs {
        ws_url: target.ws_url("/api/v1/ws"),
        server: target.addr,
        connect_concurrency: args.connect_concurrency,
        source_addresses: args.source_addresses,
        offset: 0,
    };
    let mut holder = Holder::start(dial, &tokens, args.sessions, processes).await?;
    // Registration's argon2 buffers come and go: let the allocator settle first.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sample = || server.sample().context("reading the server's /proc");
    let mib = |kib: u64| kib as f64 / 1024.0;
    let before = sample()?;
    let settle = Duration::from_secs_f64(args.settle.max(0.0));
    let (mut points, mut connecting) = (Vec::new(), Connecting::new(before));
    let mut open = 0;
    for total in step_totals(args.sessions, args.steps) {
        let started = sample()?;
        holder.open(total - open).await.context("opening idle sessions")?;
        connecting.add(&started, &sample()?);
        open = total;
        progress::status(&format!("idle: {open}/{} sessions open", args.sessions));
        tokio::time::sleep(settle).await;
        // Opening none checks that every session held is still open.
        holder.open(0).await.context("idle sessions ended while settling")?;
        let after = sample()?;
        points.push(IdlePoint {
            sessions: open,
            server_rss_mib: mib(after.rss_kib),
            kib_per_session: after.rss_kib.saturating_sub(before.rss_kib) as f64 / open.max(1) as f64,
            client_rss_mib: mib(holder.client_rss_kib()),
        });
    }
    progress::end_status();
    holder.close().await;
    tokio::time::sleep(Duration::from_secs_f64(args.settle.max(1.0))).await;
    let closed = sample()?;
    let last = points.last().context("no step ran")?.clone();
    Ok(IdleReport {
        sessions: args.sessions,
        users,
        processes,
        connect_secs: connecting.secs,
        sessions_per_sec: args.sessions as f64 / connecting.secs.max(1e-6),
        rss_before_mib: mib(before.rss_kib),
        rss_after_mib: last.server_rss_mib,
        kib_per_session: last.kib_per_session,
        rss_after_close_mib: mib(closed.rss_kib),
        connect: connecting.figures(),
        client_rss_mib: last.client_rss_mib,
        points,
    })
}

/// The server while sessions connect, over the steps but not the settles between.
struct Connecting {
    first: ProcSample,
    last: ProcSample,
    secs: f64,
    /// CPU percent × seconds, summed over the steps.
    cpu_percent_secs: f64,
}

impl Connecting {
    fn new(first: ProcSample) -> Connecting {
        Connecting { first, last: first, secs: 0.0, cpu_percent_secs: 0.0 }
    }

    fn add(&mut self, started: &ProcSample, done: &ProcSample) {
        let secs = done.at.duration_since(started.at).as_secs_f64();
        self.secs += secs;
        self.cpu_percent_secs += ProcFigures::between(started, done).cpu_percent * secs;
        self.last = *done;
    }

    fn figures(&self) -> ProcFigures {
        let mut figures = ProcFigures::between(&self.first, &self.last);
        figures.cpu_percent = if self.secs > 0.0 { self.cpu_percent_secs / self.secs } else { 0.0 };
        figures
    }
}

/// Client processes for `sessions`: as asked, or one per [`SESSIONS_PER_PROCESS`];
/// at least one, and no more than there are sessions.
fn processes(sessions: usize, asked: usize) -> usize {
    let processes = if asked == 0 { sessions.div_ceil(SESSIONS_PER_PROCESS) } else { asked };
    processes.clamp(1, sessions.max(1))
}

/// Sessions open after each of `steps` equal steps (the last takes the
/// remainder); never more steps than sessions.
fn step_totals(sessions: usize, steps: usize) -> Vec<usize> {
    let steps = steps.clamp(1, sessions.max(1));
    let each = sessions / steps;
    (1..steps).map(|s| s * each).chain([sessions]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_one_process_per_fifteen_thousand_sessions() {
        assert_eq!(processes(5000, 0), 1);
        assert_eq!(processes(15_001, 0), 2);
        assert_eq!(processes(100_000, 0), 7);
        assert_eq!(processes(0, 0), 1);
        assert_eq!(processes(200, 2), 2);
        assert_eq!(processes(3, 8), 3);
    }

    #[test]
    fn steps_are_equal_and_the_last_takes_the_remainder() {
        assert_eq!(step_totals(200, 2), [100, 200]);
        assert_eq!(step_totals(10, 3), [3, 6, 10]);
        assert_eq!(step_totals(5000, 1), [5000]);
        assert_eq!(step_totals(3, 10), [1, 2, 3]);
        assert_eq!(step_totals(0, 4), [0]);
    }
}
