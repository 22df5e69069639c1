//! The `parley` binary: parse the command line, load config, start logs, run.

use clap::Parser;
use parley_server::config::{Cli, Command, ServeArgs};
use parley_server::{app, telemetry, Application, Config};

/// mimalloc (its 2.x line) for Rust's allocations: a sixth of the runtime
/// workers' samples were in glibc's malloc and free. Back to back on 2 cores,
/// 1000 senders stored 48.1–50.7k messages/s with glibc and 57.2–60.4k with
/// mimalloc; see docs/benchmarks.md, which also says why not its 3.x line
/// (idle sessions connected three times slower).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    with_malloc_settings();
    serve()
}

/// Allocator settings for a long-running server, measured in
/// docs/benchmarks.md:
///
/// - `MIMALLOC_PURGE_DELAY=0`, `MIMALLOC_ARENA_EAGER_COMMIT=0`: memory that
///   is freed goes back to the system at once, and none is committed before
///   it is used. With mimalloc's defaults a storm of logins (argon2 takes
///   19 MiB per hash) left the server at 141 MiB instead of 15, and the
///   server started at 50 MiB; with these, 17 MiB and 15 MiB, and the same
///   throughput. An idle WebSocket costs 7.1 KiB at 19,000 sessions.
/// - `MALLOC_ARENA_MAX=4`: glibc still serves the C libraries, SQLite among
///   them. A thread that finds its arena busy gets one of its own, up to
///   eight per core, each a heap of its own; and with two, the SQLite writer
///   thread shared an arena's lock with another thread: 1000 senders stored
///   44.3–44.5k messages/s with two, 43.5k with three, 49.0–50.6k with four
///   (measured before mimalloc, when glibc served everything).
///
/// Both read these only when the process starts, so the binary starts
/// itself once more with those the environment does not set already (same
/// pid, same arguments).
fn with_malloc_settings() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        const SETTINGS: [(&str, &str); 3] =
            [("MIMALLOC_PURGE_DELAY", "0"), ("MIMALLOC_ARENA_EAGER_COMMIT", "0"), ("MALLOC_ARENA_MAX", "4")];
        let missing: Vec<_> = SETTINGS.iter().filter(|(name, _)| std::env::var_os(name).is_none()).collect();
        if missing.is_empty() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else { return };
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new(exe);
        if let Some(name) = args.next() {
            command.arg0(name);
        }
        command.args(args).envs(missing.iter().map(|(name, value)| (name, value)));
        // Returns only if the exec failed; run on with glibc's defaults then.
        let error = command.exec();
        eprintln!("parley: could not restart with its malloc settings ({error}); going on without");
    }
}

#[tokio::main]
async fn serve() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init();
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => {
            let config = Config::load(cli.config.as_deref(), &args)?;
            Application::build(config).await?.run_until_stopped(app::shutdown_signal()).await
        }
        Command::Migrate(store) => {
            let args = ServeArgs { store, ..ServeArgs::default() };
            let config = Config::load(cli.config.as_deref(), &args)?;
            match &config.database {
                Some(url) => {
                    parley_postgres::PostgresStore::migrate(url.expose()).await?;
                    tracing::info!("postgres migrations applied");
                }
                None => {
                    parley_sqlite::SqliteStore::open(&config.data_dir).await?.close().await;
                    tracing::info!(data_dir = %config.data_dir.display(), "migrations applied");
                }
            }
            Ok(())
        }
    }
}
