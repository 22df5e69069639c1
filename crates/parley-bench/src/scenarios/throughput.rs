//! `throughput`: S senders spread over C channels of M members, each member
//! one session; every acked message must reach all M sessions of its channel.
//! With `--rates` it runs once per rate over the same users and channels —
//! latency against load — and can draw that as an SVG (`--plot`). With
//! `--edits` and `--reactions` some of each sender's operations are edits of
//! and reactions to its own messages (`change` frames, or REST requests), whose events every
//! member must receive too.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use crate::load::api::{Account, Api};
use crate::load::changes::{Mix, Via};
use crate::load::limits;
use crate::load::plan::{Plan, Protocol, SendPlan};
use crate::load::plot::{Chart, Series};
use crate::load::report::{write_json, Report};
use crate::load::run::{self, RunPlan, Watch};
use crate::load::setup::REGISTER_CONCURRENCY;
use crate::load::target::{Target, TargetArgs};
use crate::load::LoadArgs;

#[derive(Debug, Clone, Args)]
pub struct ThroughputArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Sessions that send, spread evenly over the channels (at most channels × members).
    #[arg(long, default_value_t = 100)]
    pub senders: usize,
    /// Public channels, each of --members members.
    #[arg(long, default_value_t = 10)]
    pub channels: usize,
    /// Members of each channel, each its own user with one session.
    #[arg(long, default_value_t = 10)]
    pub members: usize,
    /// Registrations in flight at once (argon2 bounds them).
    #[arg(long, default_value_t = REGISTER_CONCURRENCY)]
    pub register_concurrency: usize,
    /// Run once per rate (messages/s, all senders together; 0 = as fast as
    /// acks allow), in this order, on the same users and channels.
    #[arg(long, value_delimiter = ',', conflicts_with = "rate", value_name = "RATE,…")]
    pub rates: Vec<f64>,
    /// Draw send→deliver and ack percentiles against acked messages/s, one
    /// point per run, as an SVG to this file.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// The share of each sender's operations (at --rate, of the rate) that
    /// edit its latest message.
    #[arg(long, default_value_t = 0.0, value_name = "SHARE")]
    pub edits: f64,
    /// The share that add a reaction to one of its recent messages.
    #[arg(long, default_value_t = 0.0, value_name = "SHARE")]
    pub reactions: f64,
    /// How the edits and reactions are made: `change` frames on each
    /// sender's socket, or REST requests.
    #[arg(long, value_enum, default_value_t = Via::Ws)]
    pub changes_over: Via,
}

/// Runs the scenario (once, or once per `--rates`), prints the tables;
/// returns whether every run was consistent.
pub async fn run(args: ThroughputArgs) -> anyhow::Result<bool> {
    let (c, m, s) = (args.channels, args.members, args.senders);
    anyhow::ensure!(c >= 1 && m >= 1, "--channels and --members must be at least 1");
    anyhow::ensure!(s >= 1 && s <= c * m, "--senders must be between 1 and channels × members ({})", c * m);
    anyhow::ensure!(args.rates.iter().all(|r| r.is_finite() && *r >= 0.0), "--rates must be 0 or more");
    let shares = [args.edits, args.reactions];
    anyhow::ensure!(
        shares.iter().all(|s| (0.0..1.0).contains(s)) && args.edits + args.reactions < 1.0,
        "--edits and --reactions are shares from 0 to 1, together below 1"
    );
    limits::client(c * m, 1, args.load.source_addresses, false)?;
    let target = Target::open(&args.target)?;
    let reports = measure(&args, &target).await;
    target.stop();
    let reports = reports?;
    if reports.len() > 1 {
        print!("{}", sweep_table(&reports));
    }
    if let Some(path) = &args.load.json {
        match reports.as_slice() {
            [one] if args.rates.is_empty() => write_json(path, one)?,
            all => write_json(path, &json!({ "sweep": all }))?,
        }
    }
    if let Some(path) = &args.plot {
        latency_chart(&args, &reports).write(path)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(reports.iter().all(|r| r.consistency.consistent))
}

async fn measure(args: &ThroughputArgs, target: &Target) -> anyhow::Result<Vec<Report>> {
    limits::target(target, args.channels * args.members)?;
    let api = Api::new(target.http_url(""))?.with_metrics(target.metrics_url());
    let (accounts, channels, setup) =
        super::populate(&api, args.channels, args.members, args.register_concurrency).await?;
    let rates = if args.rates.is_empty() { vec![args.load.rate] } else { args.rates.clone() };
    let watch = Watch { server_pid: target.pid, api: Some(api) };
    let mut reports = Vec::with_capacity(rates.len());
    for (round, rate) in rates.into_iter().enumerate() {
        let load = LoadArgs { rate, ..args.load.clone() };
        if round > 0 {
            eprintln!("run {} of the sweep: {rate} msg/s", round + 1);
        }
        let mut plan = plan(args, &load, target, &accounts, &channels, round);
        plan.api = watch.api.clone();
        let result = run::run(plan, &watch).await?;
        let parameters = json!({
            "senders": args.senders, "channels": args.channels, "members": args.members, "load": load,
            "edits": args.edits, "reactions": args.reactions, "changes_over": args.changes_over,
            "target": args.target.url.clone().unwrap_or_else(|| format!("spawned on {}", target.addr)),
        });
        let report = Report::new("throughput", "parley", parameters, setup, result, target.log_summary());
        println!("{report}");
        reports.push(report);
    }
    Ok(reports)
}

/// The sessions of one run. Member m of channel c is sender m·C + c while
/// that is below S: senders fill every channel's first member, then every
/// channel's second, … Round r of a sweep numbers its senders from r·S, so
/// its `client_msg_id`s are new and no send is taken for a retry of an
/// earlier round's.
fn plan(
    args: &ThroughputArgs,
    load: &LoadArgs,
    target: &Target,
    accounts: &[Account],
    channels: &[String],
    round: usize,
) -> RunPlan {
    let (c, m, s) = (args.channels, args.members, args.senders);
    let sessions = (0..c * m)
        .map(|a| {
            let (channel, member) = (a / m, a % m);
            let sender = member * c + channel;
            Plan {
                token: Some(accounts[a].token.clone()),
                source: load.source(a),
                send: (sender < s).then(|| SendPlan {
                    sender: (round * s + sender) as u32,
                    channel_id: channels[channel].clone(),
                    members: m as u32,
                    flow: load.flow(sender, s, false),
                    body_size: load.body_size,
                    mix: Mix { edits: args.edits, reactions: args.reactions, over: args.changes_over },
                }),
            }
        })
        .collect();
    RunPlan {
        first_sender: (round * s) as u32,
        protocol: Protocol::Parley,
        addr: target.addr,
        ws_url: target.ws_url("/api/v1/ws"),
        sessions,
        completions: Vec::new(),
        warmup: load.warmup(),
        duration: load.duration(),
        drain: load.drain(),
        connect_concurrency: load.connect_concurrency,
        wait_idle: load.wait_idle(),
        api: None,
    }
}

/// One line per run of a sweep.
fn sweep_table(reports: &[Report]) -> String {
    let mut table = format!(
        "{:>10} {:>10} {:>10} | {:>8} {:>8} | {:>8} {:>8} {:>8} {:>8} {:>8} | {}\n",
        "rate",
        "acked/s",
        "deliv/s",
        "ack p50",
        "ack p99",
        "del p50",
        "del p90",
        "del p99",
        "del p99.9",
        "del max",
        "consistent"
    );
    for r in reports {
        let (a, d) = (&r.ack_latency, &r.deliver_latency);
        let rate = r.parameters["load"]["rate"].as_f64().unwrap_or(0.0);
        table += &format!(
            "{:>10} {:>10.0} {:>10.0} | {:>8.2} {:>8.2} | {:>8.2} {:>8.2} {:>8.2} {:>9.2} {:>8.2} | {}\n",
            if rate > 0.0 { format!("{rate}") } else { "max".to_owned() },
            r.acked_per_sec,
            r.deliveries_per_sec,
            a.p50_ms,
            a.p99_ms,
            d.p50_ms,
            d.p90_ms,
            d.p99_ms,
            d.p999_ms,
            d.max_ms,
            r.consistency.consistent
        );
    }
    table
}

/// Send→deliver p50, p90, p99, p99.9 and ack p99 against acked messages/s.
fn latency_chart(args: &ThroughputArgs, reports: &[Report]) -> Chart {
    let series = |name: &str, pick: fn(&Report) -> f64| Series {
        name: name.to_owned(),
        points: reports.iter().map(|r| (r.acked_per_sec, pick(r))).collect(),
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let stored = reports.iter().map(|r| r.acked_per_sec).filter(|r| *r > 0.0);
    let spread = stored.clone().fold(0.0, f64::max) / stored.fold(f64::INFINITY, f64::min);
    Chart {
        title: format!(
            "send→deliver latency against load: {} senders, {} channels of {} members",
            args.senders, args.channels, args.members
        ),
        subtitle: format!("parley-bench throughput --rates …, server and client on one {cores}-core machine"),
        x_label: format!(
            "acked messages per second: stored (accepted, in cluster mode){}",
            if spread > 20.0 { ", log scale" } else { "" }
        ),
        y_label: "latency (ms, log scale)".to_owned(),
        log_x: spread > 20.0,
        log_y: true,
        series: vec![
            series("send→deliver p50", |r| r.deliver_latency.p50_ms),
            series("send→deliver p90", |r| r.deliver_latency.p90_ms),
            series("send→deliver p99", |r| r.deliver_latency.p99_ms),
            series("send→deliver p99.9", |r| r.deliver_latency.p999_ms),
            series("ack p99", |r| r.ack_latency.p99_ms),
        ],
    }
}
