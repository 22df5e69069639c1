//! `parley-bench`: the load generator (`throughput`, `fanout`, `idle`,
//! `resume`, `history`, `login`), the bare
//! `baseline` server, and `check`, which reads a history (JSON lines) and
//! reports breaches of the delivery contract. Exits 1 when a check or a
//! run's consistency fails.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use parley_bench::baseline::{self, BaselineArgs};
use parley_bench::checker::{check, History};
use parley_bench::scenarios::fanout::{self, FanoutArgs};
use parley_bench::scenarios::history::{self, HistoryArgs};
use parley_bench::scenarios::idle::{self, IdleArgs};
use parley_bench::scenarios::idle_worker::{self, IdleWorkerArgs};
use parley_bench::scenarios::login::{self, LoginArgs};
use parley_bench::scenarios::resume::{self, ResumeArgs};
use parley_bench::scenarios::search::{self, SearchArgs};
use parley_bench::scenarios::throughput::{self, ThroughputArgs};

#[derive(Parser)]
#[command(name = "parley-bench", version, about = "Parley's load generator and delivery checker")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Checks a recorded history against the delivery contract.
    Check {
        /// History files (JSON lines), read in order as one history.
        files: Vec<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// S senders in C channels of M members: stored messages/s, deliveries/s, latencies.
    Throughput(Box<ThroughputArgs>),
    /// One channel of N members: deliveries/s and last-delivery latency, against the baseline too.
    Fanout(Box<FanoutArgs>),
    /// N idle sessions: the server's memory per session.
    Idle(Box<IdleArgs>),
    /// Holds a share of a parent `idle` run's sessions, driven over stdin.
    #[command(hide = true)]
    IdleWorker(IdleWorkerArgs),
    /// A reconnect after K missed events: time to the last one.
    Resume(Box<ResumeArgs>),
    /// REST paging of a channel's log: pages/s and page latency.
    History(Box<HistoryArgs>),
    /// A storm of logins: logins/s (argon2-bound).
    Login(Box<LoginArgs>),
    /// Full-text search over many messages: query latency, the index's cost.
    Search(Box<SearchArgs>),
    /// The bare WebSocket broadcast server fan-out is compared with.
    Baseline(BaselineArgs),
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    if let Command::Check { files, json } = cli.command {
        return check_files(&files, json);
    }
    // Every session is a socket; the soft limit is often far below the hard one.
    if let Err(error) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("could not raise the open-file limit: {error}");
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    let consistent = runtime.block_on(async {
        match cli.command {
            Command::Throughput(args) => throughput::run(*args).await,
            Command::Fanout(args) => fanout::run(*args).await,
            Command::Idle(args) => idle::run(*args).await,
            Command::IdleWorker(args) => idle_worker::run(args).await.map(|()| true),
            Command::Resume(args) => resume::run(*args).await,
            Command::History(args) => history::run(*args).await,
            Command::Login(args) => login::run(*args).await,
            Command::Search(args) => search::run(*args).await,
            Command::Baseline(args) => baseline::run(args).await.map(|()| true),
            Command::Check { .. } => Ok(true),
        }
    })?;
    Ok(if consistent { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn check_files(files: &[PathBuf], json: bool) -> anyhow::Result<ExitCode> {
    let mut history = History::default();
    for path in files {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        history.read(BufReader::new(file)).with_context(|| format!("reading {}", path.display()))?;
    }
    let report = check(&history);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(if report.is_clean() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
