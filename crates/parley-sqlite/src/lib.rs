//! Parley's `Store` on SQLite: one file, `parley.db`, in the data directory.
//!
//! - [`SqliteStore`] (here): opening the file, migrations, the writer and the readers.
//! - `writer`: the one writer connection, on a thread of its own.
//! - `error`: driver errors mapped to the port error where they arise.
//! - `rows`: rows decoded into domain types, refusing malformed ones.
//! - `users`: `UserStore`, `SessionStore`, `InviteStore` and `Health`.
//! - `names`: the look-alike keys of users' names, checked as names are written.
//! - `channels`: `ChannelStore`.
//! - `search`: full-text search of messages on FTS5, indexed by the writer.
//! - `events`: `EventLog` reads and the Sequencer's `LogTx`, which runs on
//!   the writer thread.
//!
//! SQLite has one writer at a time, so every write goes through the one writer
//! connection (`writer`): writes queue in-process instead of failing with
//! `SQLITE_BUSY`, and the Sequencer's transaction never meets a competing
//! writer. Reads go through a read-only sqlx pool; in WAL mode they never wait
//! for the writer.

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
mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use parley_core::{Error, Result};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::error::{db_err, migrate_err};
use crate::writer::Writer;

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "parley.db";

/// Connections of the read pool: enough for the gateways' concurrent history
/// and channel-list reads on a small machine.
const READERS: u32 = 4;
/// How long a read waits for a pooled connection before the store is reported
/// `unavailable`. Reads take milliseconds, so waiting this long means
/// something is wrong.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long SQLite itself retries a locked database (another process, or a
/// checkpoint) before answering `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

static MIGRATOR: Migrator = sqlx::migrate!();

/// The store. Cheap to clone: the writer and the read pool are shared handles.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    writer: Writer,
    read: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if need be) `data_dir/parley.db` and brings its schema
    /// up to date.
    pub async fn open(data_dir: &Path) -> Result<SqliteStore> {
        let path = db_path(data_dir)?;
        Self::migrate(data_dir).await?;
        // Opening waits on the file (up to BUSY_TIMEOUT if another process holds it).
        let writer = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || Writer::open(&path, BUSY_TIMEOUT))
                .await
                .map_err(|e| Error::internal(format!("opening the sqlite writer: {e}")).with_source(e))??
        };
        // Opened after the migration: it has created the file and put it in
        // WAL mode, which read-only connections can neither do nor undo.
        let read = SqlitePoolOptions::new()
            .max_connections(READERS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A local file cannot drop a connection; a ping per acquire would
            // only add a round trip to the connection's worker thread.
            .test_before_acquire(false)
            .connect_with(base_options(&path).read_only(true).pragma("cache_size", "-16384"))
            .await
            .map_err(db_err)?;
        tracing::info!(path = %path.display(), "sqlite store open");
        Ok(SqliteStore { writer, read })
    }

    /// Applies the schema migrations to `data_dir/parley.db`, then fills in
    /// what they leave to Rust, and closes it.
    pub async fn migrate(data_dir: &Path) -> Result<()> {
        let pool = migration_pool(&db_path(data_dir)?).await?;
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

fn db_path(data_dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(data_dir).map_err(|e| {
        Error::unavailable(format!("cannot create data directory {}: {e}", data_dir.display())).with_source(e)
    })?;
    Ok(data_dir.join(DB_FILE))
}

fn base_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new().filename(path).busy_timeout(BUSY_TIMEOUT).pragma("temp_store", "memory")
}

/// A connection for the migrations, which sqlx runs: it creates the file and
/// puts it in WAL mode, and is closed before the writer opens.
async fn migration_pool(path: &Path) -> Result<SqlitePool> {
    let options = base_options(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true);
    SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(db_err)
}
