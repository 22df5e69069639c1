//! The `parley` binary: parse the command line, load config, start logs, run.

use clap::Parser;
use parley_server::config::{Cli, Command, ServeArgs};
use parley_server::{app, telemetry, Application, Config};

fn main() -> anyhow::Result<()> {
    with_few_malloc_arenas();
    serve()
}

/// glibc's malloc gives a thread that finds its arena busy an arena of its
/// own, up to eight per core, and a server's sessions end up spread over
/// many half-empty heaps: an idle WebSocket measured 11.9 KiB of memory with
/// the default and 7.6 KiB with two arenas (docs/benchmarks.md; mimalloc and
/// jemalloc measured 8.9 and 12.5). glibc reads the setting only when the
/// process starts, so the binary starts itself once more with
/// `MALLOC_ARENA_MAX=2` (same pid, same arguments) unless the environment
/// sets it already, to any value.
fn with_few_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        use std::os::unix::process::CommandExt;
        let Ok(exe) = std::env::current_exe() else { return };
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new(exe);
        if let Some(name) = args.next() {
            command.arg0(name);
        }
        // Returns only if the exec failed; run on with glibc's default then.
        let error = command.args(args).env("MALLOC_ARENA_MAX", "2").exec();
        eprintln!("parley: could not restart with MALLOC_ARENA_MAX=2 ({error}); going on without");
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
