//! One run of a load: open every session, wait until all are ready and the
//! server has gone quiet (connecting makes presence traffic), send for the
//! warm-up and the measured window, drain, then settle the figures.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use tokio::task::JoinHandle;

use super::api::{Api, ServerCounters};
use super::check::{check, Consistency, SenderLog};
use super::plan::{Plan, Protocol};
use super::procstat::{wait_for_idle_machine, MachineFigures, MachineSample, Proc, ProcFigures, ProcSample};
use super::progress::{end_status, status, Progress};
use super::session::{self, Tally};
use super::shared::{Completion, Phase, Phases, Shared};
use super::stats::{Percentiles, Snapshot};

/// What to run.
pub struct RunPlan {
    pub protocol: Protocol,
    pub addr: SocketAddr,
    pub ws_url: String,
    pub sessions: Vec<Plan>,
    /// One per sender for the completion flow, else empty.
    pub completions: Vec<Completion>,
    /// The lowest sender id of this run: a message from below it is an
    /// earlier run's, late (a sweep's rounds share their channels).
    pub first_sender: u32,
    pub warmup: Duration,
    pub duration: Duration,
    /// The most the drain may take after the senders stop.
    pub drain: Duration,
    pub connect_concurrency: usize,
    /// How long to wait for an idle machine before sending.
    pub wait_idle: Duration,
    /// Where senders make their edits and reactions, when they mix any in.
    pub api: Option<Api>,
}

/// Where the server's own figures come from.
pub struct Watch {
    pub server_pid: Option<u32>,
    /// `/metrics`, for Parley.
    pub api: Option<Api>,
}

/// Everything a run measured.
pub struct RunResult {
    pub sessions: usize,
    pub senders: usize,
    pub connect_secs: f64,
    pub window_secs: f64,
    /// The counters at the window's start and end.
    pub start: Snapshot,
    pub end: Snapshot,
    pub drain_secs: f64,
    /// Every answer and delivery arrived before the drain's bound.
    pub drained: bool,
    pub deliver: Percentiles,
    pub ack: Percentiles,
    /// Round trips of the edits and reactions.
    pub change: Percentiles,
    pub last_delivery: Percentiles,
    pub consistency: Consistency,
    pub errors: BTreeMap<String, u64>,
    pub server: Option<ProcFigures>,
    pub client: Option<ProcFigures>,
    pub machine: Option<MachineFigures>,
    pub server_counters: Option<(ServerCounters, ServerCounters)>,
}

/// How long the server must stay silent before the senders start.
const QUIET: Duration = Duration::from_millis(500);
const QUIET_AT_MOST: Duration = Duration::from_secs(60);
/// Busy CPU (percent of one core) under which the machine counts as idle.
const IDLE_MACHINE: f64 = 15.0;

pub async fn run(plan: RunPlan, watch: &Watch) -> anyhow::Result<RunResult> {
    let RunPlan {
        protocol,
        addr,
        ws_url,
        sessions,
        completions,
        first_sender,
        warmup,
        duration,
        drain,
        connect_concurrency,
        wait_idle,
        api,
    } = plan;
    let total = sessions.len();
    let senders = sessions.iter().filter(|p| p.send.is_some()).count();
    let shared =
        Arc::new(Shared::new(protocol, completions, connect_concurrency).from_sender(first_sender).with_api(api));
    let url: Arc<str> = ws_url.into();
    let connecting = Instant::now();
    let (phases, queues) = Phases::new(total);
    let tasks: Vec<JoinHandle<Tally>> = sessions
        .into_iter()
        .zip(queues)
        .map(|(p, queue)| tokio::spawn(session::run(p, addr, url.clone(), shared.clone(), queue)))
        .collect();

    if let Err(error) = wait_until_ready(&shared, total).await {
        phases.announce(Phase::Stop);
        let tallies = collect(tasks).await;
        let reason = tallies.iter().find_map(|t| match &t.end {
            session::End::Refused(why) => Some(why.clone()),
            _ => None,
        });
        bail!("{error}: {}", reason.unwrap_or_default());
    }
    let connect_secs = connecting.elapsed().as_secs_f64();
    end_status();
    eprintln!("{total} sessions ready in {connect_secs:.1} s");
    wait_until_quiet(&shared).await;
    if !wait_idle.is_zero() && !wait_for_idle_machine(wait_idle, IDLE_MACHINE).await {
        end_status();
        eprintln!("the machine stayed busy; starting anyway");
    }

    let mut progress = Progress::new(shared.clone(), watch.server_pid);
    let go = Instant::now();
    let window_start = go + warmup;
    shared.start_window_at(shared.ns_at(window_start));
    phases.announce(Phase::Go);
    progress.until(window_start).await;
    let start = Reading::now(&shared, watch).await;
    progress.until(window_start + duration).await;
    let end = Reading::now(&shared, watch).await;
    phases.announce(Phase::StopSending);

    let draining = Instant::now();
    let drained = progress.drain(draining + drain, senders as u64).await;
    let drain_secs = draining.elapsed().as_secs_f64();
    phases.announce(Phase::Stop);
    let tallies = collect(tasks).await;
    let (consistency, last_delivery, errors) = settle(&tallies, shared.window_start_ns());
    let consistency = consistency.with_changes(&shared.counters.snapshot());
    let (server, client, machine) = start.costs_until(&end);
    Ok(RunResult {
        sessions: total,
        senders,
        connect_secs,
        window_secs: end.counters.at.duration_since(start.counters.at).as_secs_f64(),
        start: start.counters,
        end: end.counters,
        drain_secs,
        drained,
        deliver: shared.deliver.percentiles(),
        ack: shared.ack.percentiles(),
        change: shared.change.percentiles(),
        last_delivery,
        consistency,
        errors,
        server,
        client,
        machine,
        server_counters: start.metrics.zip(end.metrics),
    })
}

/// Everything read at one edge of the measured window.
struct Reading {
    counters: Snapshot,
    server: Option<ProcSample>,
    client: Option<ProcSample>,
    machine: Option<MachineSample>,
    metrics: Option<ServerCounters>,
}

impl Reading {
    async fn now(shared: &Shared, watch: &Watch) -> Reading {
        let metrics = match &watch.api {
            Some(api) => api.counters().await,
            None => None,
        };
        Reading {
            counters: shared.counters.snapshot(),
            server: watch.server_pid.and_then(|p| Proc::Pid(p).sample()),
            client: Proc::Myself.sample(),
            machine: MachineSample::now(),
            metrics,
        }
    }

    /// The server's, this client's and the machine's CPU and memory from here to `end`.
    fn costs_until(&self, end: &Reading) -> (Option<ProcFigures>, Option<ProcFigures>, Option<MachineFigures>) {
        let between =
            |a: &Option<ProcSample>, b: &Option<ProcSample>| Some(ProcFigures::between(a.as_ref()?, b.as_ref()?));
        let (server, client) = (between(&self.server, &end.server), between(&self.client, &end.client));
        let machine = self.machine.zip(end.machine).map(|(start, end)| {
            let cpu_percent = end.percent_since(&start);
            MachineFigures {
                cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
                cpu_percent,
                others_cpu_percent: server
                    .zip(client)
                    .map(|(s, c)| (cpu_percent - s.cpu_percent - c.cpu_percent).max(0.0)),
            }
        });
        (server, client, machine)
    }
}

/// The verdict over every session's tally, the last-delivery latencies, and the errors by kind.
fn settle(tallies: &[Tally], window_start_ns: u64) -> (Consistency, Percentiles, BTreeMap<String, u64>) {
    // Indexed by sender id; a sender whose task was lost leaves an empty log
    // (its messages then count as stray).
    let count = tallies.iter().filter_map(|t| t.sender.as_ref()).map(|(id, _)| *id as usize + 1).max().unwrap_or(0);
    let mut logs = vec![SenderLog::default(); count];
    for (id, log) in tallies.iter().filter_map(|t| t.sender.as_ref()) {
        logs[*id as usize] = log.clone();
    }
    let (gaps, regressions) = tallies.iter().fold((0, 0), |(g, r), t| (g + t.seq_gaps, r + t.seq_regressions));
    let deliveries = tallies.iter().map(|t| t.deliveries.as_slice());
    let (consistency, last_delivery) = check(&logs, deliveries, gaps, regressions, window_start_ns);
    let mut errors = BTreeMap::new();
    for tally in tallies {
        for (what, count) in &tally.errors {
            *errors.entry(what.clone()).or_default() += count;
        }
    }
    (consistency, last_delivery, errors)
}

/// Waits until every session is ready; fails as soon as one is refused.
async fn wait_until_ready(shared: &Shared, total: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut shown = Instant::now();
    loop {
        let ready = shared.counters.ready.load(Relaxed) as usize;
        let refused = shared.counters.ended_early.load(Relaxed);
        if refused > 0 {
            bail!("{refused} sessions failed to connect");
        }
        if ready >= total {
            return Ok(());
        }
        if shown.elapsed() >= Duration::from_secs(1) {
            let rate = ready as f64 / started.elapsed().as_secs_f64();
            status(&format!("connecting: {ready}/{total} ready ({rate:.0}/s)"));
            shown = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until no frame has arrived for [`QUIET`] (at most [`QUIET_AT_MOST`]).
async fn wait_until_quiet(shared: &Shared) {
    let started = Instant::now();
    let mut last = shared.counters.frames.load(Relaxed);
    let mut still_since = Instant::now();
    while started.elapsed() < QUIET_AT_MOST {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = shared.counters.frames.load(Relaxed);
        if now != last {
            last = now;
            still_since = Instant::now();
        } else if still_since.elapsed() >= QUIET {
            return;
        }
    }
    eprintln!("the server never went quiet after connecting ({last} frames); starting anyway");
}

async fn collect(tasks: Vec<JoinHandle<Tally>>) -> Vec<Tally> {
    let mut tallies = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok(tally) => tallies.push(tally),
            Err(error) => eprintln!("a session task failed: {error}"),
        }
    }
    tallies
}
