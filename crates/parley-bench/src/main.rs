//! `parley-bench`: `check` reads a history (JSON lines) and reports breaches
//! of the delivery contract; exits 1 when it finds any.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use parley_bench::checker::{check, History};

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
}

fn main() -> anyhow::Result<ExitCode> {
    match Cli::parse().command {
        Command::Check { files, json } => {
            let mut history = History::default();
            for path in &files {
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
    }
}
