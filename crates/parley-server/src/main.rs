//! The `parley` binary: parse the command line, load config, start logs, run.

use clap::Parser;
use parley_server::config::{Cli, Command, ServeArgs};
use parley_server::{app, telemetry, Application, Config};

/// mimalloc (its 2.x line) for Rust's allocations: glibc's malloc and free
/// were a sixth of the runtime workers' time. The C libraries (SQLite,
/// librdkafka) keep the system's malloc. Measured in docs/benchmarks.md ("The
/// allocator"), which also says why not mimalloc's 3.x line.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    with_allocator_settings();
    serve()
}

/// `MIMALLOC_PURGE_DELAY=0` and `MIMALLOC_ARENA_EAGER_COMMIT=0`: memory
/// that is freed goes back to the system at once, and arenas are not
/// committed up front. With mimalloc's defaults the 19 MiB of every
/// password hash (argon2) stayed resident: a storm of logins left the
/// server at 141 MiB, against 17 MiB with these.
///
/// mimalloc reads them only when the process starts, so the binary starts
/// itself once more with those the environment does not set already (same
/// pid, same arguments).
fn with_allocator_settings() {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        const SETTINGS: [(&str, &str); 2] = [("MIMALLOC_PURGE_DELAY", "0"), ("MIMALLOC_ARENA_EAGER_COMMIT", "0")];
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
        // Returns only if the exec failed; run on with mimalloc's defaults then.
        let error = command.exec();
        eprintln!("parley: could not restart with its allocator settings ({error}); going on without");
    }
}

#[tokio::main]
async fn serve() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init();
    match cli.command.unwrap_or(Command::Serve(Box::default())) {
        Command::Serve(args) => {
            let config = Config::load(cli.config.as_deref(), *args)?;
            Application::build(config).await?.run_until_stopped(app::shutdown_signal()).await
        }
        Command::Migrate(store) => {
            let args = ServeArgs { store, ..ServeArgs::default() };
            let config = Config::load(cli.config.as_deref(), args)?;
            match &config.database {
                Some(url) => {
                    parley_postgres::PostgresStore::migrate(url.expose()).await?;
                    tracing::info!("postgres migrations applied");
                }
                None => {
                    parley_core::ports::Health::close(&parley_sqlite::SqliteStore::open(&config.data_dir).await?).await;
                    tracing::info!(data_dir = %config.data_dir.display(), "migrations applied");
                }
            }
            Ok(())
        }
        Command::Export(export) => {
            let args = ServeArgs { store: export.store, ..ServeArgs::default() };
            let config = Config::load(cli.config.as_deref(), args)?;
            let counts = parley_server::export::run(&config, &export.out, export.with_credentials).await?;
            println!(
                "exported {} users, {} channels, {} memberships, {} events to {}",
                counts.users,
                counts.channels,
                counts.members,
                counts.events,
                export.out.display()
            );
            Ok(())
        }
        Command::Import(import) => {
            let args = ServeArgs { store: import.store, ..ServeArgs::default() };
            let config = Config::load(cli.config.as_deref(), args)?;
            if import.slack {
                let counts = parley_server::import::slack::run(&config, &import.source).await?;
                println!(
                    "added {} users, {} channels, {} messages, {} reactions from {} \
                     (left out: {} messages, {} reactions; docs/operations.md says which)",
                    counts.users,
                    counts.channels,
                    counts.messages,
                    counts.reactions,
                    import.source.display(),
                    counts.skipped_messages,
                    counts.skipped_reactions
                );
                return Ok(());
            }
            let counts = parley_server::import::run(&config, &import.source).await?;
            println!(
                "imported {} users, {} channels, {} memberships, {} events from {}",
                counts.users,
                counts.channels,
                counts.members,
                counts.events,
                import.source.display()
            );
            Ok(())
        }
        Command::Admin(admin) => {
            let args = ServeArgs { store: admin.store, ..ServeArgs::default() };
            let config = Config::load(cli.config.as_deref(), args)?;
            parley_server::admin::run(&config, admin.action).await
        }
    }
}
