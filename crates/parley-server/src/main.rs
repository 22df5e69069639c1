//! The `parley` binary: parse the command line, load config, start logs, run.

use clap::Parser;
use parley_server::config::{Cli, Command, ServeArgs};
use parley_server::{app, telemetry, Application, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
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
