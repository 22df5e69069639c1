//! Parley's `Store` on PostgreSQL, the store of cluster mode.
//!
//! - [`PostgresStore`] (here): the pool, its connection settings, migrations.
//! - `error`: driver errors mapped to the port error where they arise.
//! - `rows`: rows decoded into domain types, refusing malformed ones.
//! - `users`: `UserStore`, `SessionStore`, `InviteStore` and `Health`.
//! - `names`: the look-alike keys of users' names, checked as names are
//!   written under one advisory lock.
//! - `channels`: `ChannelStore`.
//! - `search`: full-text search of messages on a `tsvector`, indexed by the processor.
//! - `events`: `EventLog` reads and the Sequencer's `LogTx`, whose statements
//!   each take a whole batch as array parameters unpacked by `UNNEST`.
//! - `plans` (tests only): the hot queries use the indexes written for them.
//!
//! Unlike SQLite, several processes write at once: every node's gateway, and in
//! cluster mode one Sequencer per Kafka partition owner — possibly two for a
//! moment after a rebalance. A `LogTx` therefore locks the head rows of the
//! channels it appends to (`events::HEADS`), and the `(channel_id, seq)` key
//! stays the last guard. Commits are durable when they return: the server's
//! default `synchronous_commit = on` is kept, and restored on any connection
//! where it was configured `off`.

mod channels;
mod error;
mod events;
mod export;
mod names;
mod outgoing;
#[cfg(test)]
mod plans;
mod rows;
mod search;
mod users;

use std::str::FromStr;
use std::time::Duration;

use parley_core::{Error, Result};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::Executor;

use crate::error::{db_err, migrate_err};

/// Connections per node: the Sequencer holds one for a batch at a time, the
/// rest serve the gateway's reads and small writes. PostgreSQL's default
/// `max_connections` (100) leaves room for several nodes.
const MAX_CONNECTIONS: u32 = 10;
/// How long a statement waits for a pooled connection before the store is
/// reported `unavailable`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections are replaced now and then, so that a failed-over or restarted
/// server's sessions do not live forever.
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// Run on every new connection of the store's pool, in one round trip:
///
/// - `lock_timeout`: a Sequencer waiting longer than this for a channel's head
///   (held by a stuck or partitioned writer) fails its batch as `unavailable`
///   rather than hanging; its caller retries.
/// - `idle_in_transaction_session_timeout`: the server ends a session that sits
///   in an open transaction this long — a writer that lost its network mid-batch
///   — and so releases its head locks without waiting for TCP keepalives.
/// - `synchronous_commit`: an acknowledged message must survive a crash of the
///   server, so a commit may not return before its WAL is flushed. `off` is
///   raised to `on`; `on`, `local` and `remote_*` are left as configured.
const SESSION_SETTINGS: &str = "SELECT set_config('lock_timeout', '10s', false), \
     set_config('idle_in_transaction_session_timeout', '60s', false), \
     CASE WHEN current_setting('synchronous_commit') = 'off' \
       THEN set_config('synchronous_commit', 'on', false) END";

static MIGRATOR: Migrator = sqlx::migrate!();

/// The store. Cheap to clone: the pool is a shared handle.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`) and
    /// brings its schema up to date. Several nodes may start at once: the
    /// migrator serialises them with an advisory lock. A server that does not
    /// answer is retried for `ACQUIRE_TIMEOUT`, then reported `unavailable`.
    pub async fn connect(url: &str) -> Result<PostgresStore> {
        // Migrated on a connection of its own: the settings of the store's
        // pool (`lock_timeout`) would cut short a node waiting for another
        // node's long migration.
        PostgresStore::migrate(url).await?;
        let pool = pool(MAX_CONNECTIONS)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(SESSION_SETTINGS).await?;
                    Ok(())
                })
            })
            .connect_with(connect_options(url)?)
            .await
            .map_err(connect_err)?;
        tracing::info!(max_connections = MAX_CONNECTIONS, "postgres store connected");
        Ok(PostgresStore { pool })
    }

    /// Applies the schema migrations to the database at `url`, then fills in
    /// what they leave to Rust, and disconnects (`parley migrate --database …`).
    pub async fn migrate(url: &str) -> Result<()> {
        let pool = pool(1).connect_with(connect_options(url)?).await.map_err(connect_err)?;
        let result = async {
            MIGRATOR.run(&pool).await.map_err(migrate_err)?;
            users::fill_display_words(&pool).await?;
            search::fill_backlog(&pool).await?;
            names::fill_name_skeletons(&pool).await
        }
        .await;
        pool.close().await;
        result
    }
}

fn pool(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new().max_connections(max_connections).acquire_timeout(ACQUIRE_TIMEOUT).max_lifetime(MAX_LIFETIME)
    // `test_before_acquire` stays on (the default): after a PostgreSQL
    // restart every pooled connection is dead, and the ping replaces it on
    // acquire instead of failing a request, or a whole batch, with it.
}

fn connect_options(url: &str) -> Result<PgConnectOptions> {
    // The error text of a malformed URL never repeats the URL: it may hold a password.
    let options = PgConnectOptions::from_str(url).map_err(|e| Error::internal(format!("invalid postgres url: {e}")))?;
    Ok(options.application_name("parley"))
}

fn connect_err(err: sqlx::Error) -> Error {
    let mut err = db_err(err);
    err.message = format!("connecting to postgres: {}", err.message);
    err
}
