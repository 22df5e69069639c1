//! The `parley` binary: parse the command line, load config, start logs, run.

use clap::Parser;
use parley_server::config::{Cli, Command, ServeArgs};
use parley_server::{app, telemetry, Application, Config};

fn main() -> anyhow::Result<()> {
    with_malloc_settings();
    serve()
}

/// glibc's malloc settings for a long-running server, measured in
/// docs/benchmarks.md:
///
/// - `MALLOC_ARENA_MAX=4`: a thread that finds its arena busy gets one of
///   its own, up to eight per core, and sessions end up spread over many
///   half-empty heaps: an idle WebSocket measured 11.9 KiB with the default,
///   7.6 KiB with two arenas (mimalloc 8.9, jemalloc 12.5); at 19,000
///   sessions, later, 7.1 KiB with two and 7.4 with four.
///   Two was too few for the SQLite writer thread, which then shares an
///   arena's lock with a runtime worker: 1000 senders stored 44.3–44.5k
///   messages/s with two, 43.5k with three, 49.0–50.6k with four.
/// - `MALLOC_MMAP_THRESHOLD_=1048576`: argon2's 19 MiB of working memory per
///   password hash would otherwise move glibc's threshold up and be kept in
///   the heap once freed: 300 sign-ups left the server at 850 MiB, and at
///   22 MiB with the threshold fixed.
///
/// glibc reads them only when the process starts, so the binary starts
/// itself once more with those the environment does not set already (same
/// pid, same arguments).
fn with_malloc_settings() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        const SETTINGS: [(&str, &str); 2] = [("MALLOC_ARENA_MAX", "4"), ("MALLOC_MMAP_THRESHOLD_", "1048576")];
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
