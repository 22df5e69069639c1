//! `fanout`: one channel of N members, each a session, and a few senders
//! (one by default). At `--rate 0` each sender keeps `--window` messages
//! not yet delivered to every member, which finds the most deliveries/s the
//! server sustains; at a set rate it measures each message's last delivery.
//! With `--baseline` the same load runs against the bare broadcast server
//! too, and Parley's deliveries/s are given as a share of the baseline's.

use clap::Args;
use serde::Serialize;
use serde_json::json;

use crate::load::api::Api;
use crate::load::changes::Mix;
use crate::load::limits;
use crate::load::plan::{Plan, Protocol, SendPlan};
use crate::load::report::{write_json, Report, Setup};
use crate::load::run::{self, RunPlan, Watch};
use crate::load::setup::REGISTER_CONCURRENCY;
use crate::load::shared::Completion;
use crate::load::target::{Target, TargetArgs};
use crate::load::LoadArgs;

#[derive(Debug, Clone, Args)]
pub struct FanoutArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Members of the channel, each its own user with one session.
    #[arg(long, default_value_t = 1000)]
    pub members: usize,
    /// Members that send.
    #[arg(long, default_value_t = 1)]
    pub senders: usize,
    /// Registrations in flight at once (argon2 bounds them).
    #[arg(long, default_value_t = REGISTER_CONCURRENCY)]
    pub register_concurrency: usize,
    /// Also run the same load against the bare baseline server, after Parley.
    #[arg(long)]
    pub baseline: bool,
    /// Only the baseline (no Parley server is needed).
    #[arg(long, conflicts_with = "baseline")]
    pub baseline_only: bool,
    /// The baseline sets TCP_NODELAY on its sockets (Parley, as of this
    /// writing, does not: compare both ways).
    #[arg(long)]
    pub baseline_nodelay: bool,
}

/// Both runs, for the JSON.
#[derive(Debug, Serialize)]
struct Both<'a> {
    parley: Option<&'a Report>,
    baseline: Option<&'a Report>,
    parley_percent_of_baseline: Option<f64>,
}

/// Runs the scenario, prints the tables; returns whether every run was consistent.
pub async fn run(args: FanoutArgs) -> anyhow::Result<bool> {
    anyhow::ensure!(args.members >= 2, "--members must be at least 2");
    anyhow::ensure!(args.senders >= 1 && args.senders <= args.members, "--senders must be between 1 and --members");
    limits::client(args.members, 1, args.load.source_addresses, false)?;
    let parley = match args.baseline_only {
        true => None,
        false => {
            let target = Target::open(&args.target)?;
            let report = measure_parley(&args, &target).await;
            target.stop();
            let report = report?;
            println!("{report}");
            Some(report)
        }
    };
    let baseline = match args.baseline || args.baseline_only {
        true => {
            let target = Target::baseline(args.baseline_nodelay)?;
            let report = measure_baseline(&args, &target).await;
            target.stop();
            let report = report?;
            println!("{report}");
            Some(report)
        }
        false => None,
    };
    let share = match (&parley, &baseline) {
        (Some(p), Some(b)) if b.deliveries_per_sec > 0.0 => {
            let share = 100.0 * p.deliveries_per_sec / b.deliveries_per_sec;
            println!(
                "Parley: {:.0} deliveries/s = {share:.1}% of the bare baseline's {:.0}/s (same load, same machine)",
                p.deliveries_per_sec, b.deliveries_per_sec
            );
            Some(share)
        }
        _ => None,
    };
    if let Some(path) = &args.load.json {
        write_json(
            path,
            &Both { parley: parley.as_ref(), baseline: baseline.as_ref(), parley_percent_of_baseline: share },
        )?;
    }
    let consistent = [&parley, &baseline].into_iter().flatten().all(|r| r.consistency.consistent);
    Ok(consistent)
}

fn parameters(args: &FanoutArgs, target: &str) -> serde_json::Value {
    json!({
        "members": args.members, "senders": args.senders, "load": args.load, "target": target,
        "baseline_nodelay": args.baseline_nodelay,
    })
}

/// The session plans: member `i` sends if `i < senders`.
fn sessions(args: &FanoutArgs, channel: &str, tokens: Option<&[String]>) -> Vec<Plan> {
    let (n, s) = (args.members, args.senders);
    (0..n)
        .map(|i| Plan {
            token: tokens.map(|t| t[i].clone()),
            source: args.load.source(i),
            send: (i < s).then(|| SendPlan {
                sender: i as u32,
                channel_id: channel.to_owned(),
                members: n as u32,
                flow: args.load.flow(i, s, true),
                body_size: args.load.body_size,
                mix: Mix::default(),
            }),
        })
        .collect()
}

fn plan(args: &FanoutArgs, protocol: Protocol, target: &Target, sessions: Vec<Plan>) -> RunPlan {
    let completions = (0..args.senders).map(|_| Completion::new(args.members as u32)).collect();
    RunPlan {
        first_sender: 0,
        protocol,
        addr: target.addr,
        ws_url: target.ws_url(if protocol == Protocol::Parley { "/api/v1/ws" } else { "/ws" }),
        sessions,
        completions,
        warmup: args.load.warmup(),
        duration: args.load.duration(),
        drain: args.load.drain(),
        connect_concurrency: args.load.connect_concurrency,
        wait_idle: args.load.wait_idle(),
        api: None,
    }
}

async fn measure_parley(args: &FanoutArgs, target: &Target) -> anyhow::Result<Report> {
    limits::target(target, args.members)?;
    let api = Api::new(target.http_url(""))?.with_metrics(target.metrics_url());
    let (accounts, channels, setup) = super::populate(&api, 1, args.members, args.register_concurrency).await?;
    let tokens: Vec<String> = accounts.into_iter().map(|a| a.token).collect();
    let sessions = sessions(args, &channels[0], Some(&tokens));
    let watch = Watch { server_pid: target.pid, api: Some(api) };
    let result = run::run(plan(args, Protocol::Parley, target, sessions), &watch).await?;
    let where_ = args.target.url.clone().unwrap_or_else(|| format!("spawned on {}", target.addr));
    Ok(Report::new("fanout", "parley", parameters(args, &where_), setup, result, target.log_summary()))
}

async fn measure_baseline(args: &FanoutArgs, target: &Target) -> anyhow::Result<Report> {
    limits::target(target, args.members)?;
    let sessions = sessions(args, "bare", None);
    let watch = Watch { server_pid: target.pid, api: None };
    let result = run::run(plan(args, Protocol::Bare, target, sessions), &watch).await?;
    let where_ = format!("baseline spawned on {}", target.addr);
    Ok(Report::new("fanout", "baseline", parameters(args, &where_), Setup::default(), result, target.log_summary()))
}
