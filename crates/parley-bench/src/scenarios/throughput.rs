//! `throughput`: S senders spread over C channels of M members, each member
//! one session; every acked message must reach all M sessions of its channel.

use clap::Args;
use serde_json::json;

use crate::load::api::Api;
use crate::load::plan::{Plan, Protocol, SendPlan};
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
}

/// Runs the scenario, prints the table; returns whether the run was consistent.
pub async fn run(args: ThroughputArgs) -> anyhow::Result<bool> {
    let (c, m, s) = (args.channels, args.members, args.senders);
    anyhow::ensure!(c >= 1 && m >= 1, "--channels and --members must be at least 1");
    anyhow::ensure!(s >= 1 && s <= c * m, "--senders must be between 1 and channels × members ({})", c * m);
    let target = Target::open(&args.target)?;
    let report = measure(&args, &target).await;
    target.stop();
    let report = report?;
    println!("{report}");
    if let Some(path) = &args.load.json {
        write_json(path, &report)?;
    }
    Ok(report.consistency.consistent)
}

async fn measure(args: &ThroughputArgs, target: &Target) -> anyhow::Result<Report> {
    let (c, m, s) = (args.channels, args.members, args.senders);
    let api = Api::new(target.http_url(""))?;
    let (accounts, channels, setup) = super::populate(&api, c, m, args.register_concurrency).await?;
    // Member m of channel c is sender m·C + c while that is below S: senders
    // fill every channel's first member, then every channel's second, …
    let sessions = (0..c * m)
        .map(|a| {
            let (channel, member) = (a / m, a % m);
            let sender = member * c + channel;
            Plan {
                token: Some(accounts[a].token.clone()),
                source: args.load.source(a),
                send: (sender < s).then(|| SendPlan {
                    sender: sender as u32,
                    channel_id: channels[channel].clone(),
                    members: m as u32,
                    flow: args.load.flow(sender, s, false),
                    body_size: args.load.body_size,
                }),
            }
        })
        .collect();
    let plan = RunPlan {
        protocol: Protocol::Parley,
        addr: target.addr,
        ws_url: target.ws_url("/api/v1/ws"),
        sessions,
        completions: Vec::new(),
        warmup: args.load.warmup(),
        duration: args.load.duration(),
        drain: args.load.drain(),
        connect_concurrency: args.load.connect_concurrency,
        wait_idle: args.load.wait_idle(),
    };
    let watch = Watch { server_pid: target.pid, api: Some(api) };
    let result = run::run(plan, &watch).await?;
    let parameters = json!({
        "senders": s, "channels": c, "members": m, "load": args.load,
        "target": args.target.url.clone().unwrap_or_else(|| format!("spawned on {}", target.addr)),
    });
    Ok(Report::new("throughput", "parley", parameters, setup, result, target.log_summary()))
}
