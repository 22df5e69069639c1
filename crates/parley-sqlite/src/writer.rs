//! The one writer connection, on a thread of its own.
//!
//! Every write of the store runs here, one after another, as a closure over
//! the connection. SQLite has one writer at a time, so writes queue in-process
//! instead of failing with `SQLITE_BUSY`, and the Sequencer's transaction
//! never meets a competing writer.
//!
//! The thread calls SQLite directly (rusqlite, over the same bundled library
//! as sqlx). A Sequencer batch — begin, its reads, its inserts, commit — is one
//! closure: one hand-off between threads each way, where a connection driven
//! from async code pays two per statement, each a wait for a turn on a busy
//! runtime. On a loaded machine those waits were a quarter of every batch.
//!
//! A second thread, the checkpointer, copies the WAL back into the database
//! file every 250 ms with a connection of its own. SQLite would otherwise do
//! it inside the commit that takes the WAL past 1,000 pages, which under load
//! is every commit: each batch paid for copying the pages it had just
//! written, and the same right-edge pages over and over.
//!
//! The checkpointer alone does not bound the WAL. SQLite starts the WAL over
//! only when a write transaction begins with every frame copied back, and
//! under steady writes the checkpointer, running beside the writer, never
//! leaves it so. A commit therefore still checkpoints by itself once the
//! WAL passes 64 MiB: it copies what the checkpointer has not yet (a fraction
//! of a second's writes) and the next transaction starts the WAL over, so
//! under load the file cycles up to about 80 MB. A reader that holds an old
//! snapshot for long (an online backup) holds the restart back meanwhile.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use parley_core::{Error, Result};
use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use crate::error::write_err;

/// The writer's page cache: the Sequencer's working set (channel heads,
/// memberships, the right edge of the log and of its dedupe index) stays warm.
const CACHE_KIB: i64 = 65_536;
/// Statements kept prepared: every statement the store writes with, with room.
const STATEMENT_CACHE: usize = 64;
/// How often the checkpointer copies the WAL back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// The WAL size, in pages, at which a commit checkpoints by itself, which is
/// what lets the WAL start over (64 MiB at the 4 KiB page size).
const BACKSTOP_PAGES: i64 = 16_384;

/// A write; called with `None` when the connection is already closed.
type Job = Box<dyn FnOnce(Option<&mut Connection>) + Send>;

enum Message {
    Run(Job),
    /// Close the connection (the last one checkpoints the WAL), then stop.
    Close(oneshot::Sender<()>),
}

/// A handle to the writer thread. The thread ends when [`Writer::close`] is
/// called or every handle is dropped, after the jobs sent before.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Message>,
}

impl Writer {
    /// Opens the database file, which must exist with its schema, for writing.
    pub(crate) fn open(path: &Path, busy_timeout: Duration) -> Result<Writer> {
        let conn = connect(path, busy_timeout)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).map_err(write_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::unavailable(format!("sqlite: cannot use WAL mode (journal_mode is {mode})")));
        }
        conn.pragma_update(None, "foreign_keys", true).map_err(write_err)?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB).map_err(write_err)?;
        conn.pragma_update(None, "temp_store", "MEMORY").map_err(write_err)?;
        conn.pragma_update(None, "wal_autocheckpoint", BACKSTOP_PAGES).map_err(write_err)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let checkpointer = Checkpointer::start(path, busy_timeout)?;

        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-writer".to_owned())
            .spawn(move || serve(conn, queue, checkpointer))
            .map_err(|e| Error::unavailable(format!("cannot start the sqlite writer thread: {e}")).with_source(e))?;
        Ok(Writer { jobs })
    }

    /// Runs `job` on the writer connection after the jobs queued before it.
    /// Dropping the returned future does not cancel a job already queued.
    pub(crate) async fn run<T, F>(&self, job: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = match conn {
                Some(conn) => catch_unwind(AssertUnwindSafe(|| job(conn))).unwrap_or_else(|_| {
                    tracing::error!("sqlite writer: a write panicked");
                    Err(Error::internal("sqlite writer: the write failed unexpectedly"))
                }),
                None => Err(closed()),
            };
            let _ = reply.send(result);
        });
        self.jobs.send(Message::Run(job)).map_err(|_| closed())?;
        // Every job is answered, if only with `None` for a closed store; an
        // answer lost means the thread is gone.
        answer.await.map_err(|_| closed())?
    }

    /// Runs one statement with `params`; how many rows it changed.
    pub(crate) async fn execute<P>(&self, sql: &'static str, params: P) -> Result<usize>
    where
        P: rusqlite::Params + Send + 'static,
    {
        self.run(move |conn| {
            conn.prepare_cached(sql).and_then(|mut statement| statement.execute(params)).map_err(write_err)
        })
        .await
    }

    /// Runs `sql`, a statement that changes at most one row and returns it
    /// (`UPDATE … RETURNING`); the row as `read` makes it, `None` when none
    /// changed. Stepped to the end, not `query_row`: in autocommit the
    /// statement commits as it finishes, and only a last step reports a
    /// commit that failed.
    pub(crate) async fn returning<P, T, F>(&self, sql: &'static str, params: P, read: F) -> Result<Option<T>>
    where
        P: rusqlite::Params + Send + 'static,
        T: Send + 'static,
        F: FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T> + Send + 'static,
    {
        self.run(move |conn| {
            conn.prepare_cached(sql)
                .and_then(|mut statement| statement.query_map(params, read)?.collect::<rusqlite::Result<Vec<_>>>())
                .map(|rows| rows.into_iter().next())
                .map_err(write_err)
        })
        .await
    }

    /// Waits for the jobs queued before, then closes the connection. Writes
    /// after this fail as `unavailable`.
    pub(crate) async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.jobs.send(Message::Close(done)).is_ok() {
            let _ = closed.await;
        }
    }
}

/// A read-write connection to the existing file. `synchronous=FULL`: every
/// commit is on disk before it returns, so an acknowledged message survives a
/// crash of the process or the machine (and a checkpoint syncs what it copies).
fn connect(path: &Path, busy_timeout: Duration) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(write_err)?;
    conn.busy_timeout(busy_timeout).map_err(write_err)?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(write_err)?;
    Ok(conn)
}

fn closed() -> Error {
    Error::unavailable("sqlite writer: the store is closed")
}

fn serve(mut conn: Connection, queue: mpsc::Receiver<Message>, checkpointer: Checkpointer) {
    let mut closing = None;
    while let Ok(message) = queue.recv() {
        match message {
            Message::Run(job) => {
                job(Some(&mut conn));
                // A job ends its transaction, committed or rolled back; one
                // left open would swallow every write after it.
                if !conn.is_autocommit() {
                    tracing::error!("sqlite writer: a write left its transaction open; rolling it back");
                    if let Err(error) = conn.execute_batch("ROLLBACK") {
                        tracing::error!(%error, "sqlite writer: rollback failed");
                    }
                }
            }
            Message::Close(done) => {
                closing = Some(done);
                break;
            }
        }
    }
    // Stopped first, so that the writer is the last connection and its close
    // checkpoints what is left and removes the WAL.
    checkpointer.stop();
    if let Err((_, error)) = conn.close() {
        tracing::warn!(%error, "sqlite writer: closing the connection failed");
    }
    if let Some(done) = closing {
        let _ = done.send(());
    }
    // What was sent after the close is answered as closed.
    for message in queue.try_iter() {
        match message {
            Message::Run(job) => job(None),
            Message::Close(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// The thread that checkpoints the WAL; it stops when told or when the writer
/// thread ends.
struct Checkpointer {
    stop: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Checkpointer {
    fn start(path: &Path, busy_timeout: Duration) -> Result<Checkpointer> {
        let conn = connect(path, busy_timeout)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".to_owned())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
                    // PASSIVE: copies what no reader still needs, without
                    // waiting for readers or holding up the writer.
                    if let Err(error) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::warn!(%error, "sqlite checkpoint failed; the next one retries");
                    }
                }
                let _ = conn.close();
            })
            .map_err(|e| {
                Error::unavailable(format!("cannot start the sqlite checkpoint thread: {e}")).with_source(e)
            })?;
        Ok(Checkpointer { stop, thread })
    }

    /// Stops the thread and waits until its connection is closed.
    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

#[cfg(test)]
mod tests {
    use parley_core::ErrorCode;

    use super::*;

    #[tokio::test]
    async fn a_write_that_panics_or_leaves_its_transaction_open_is_rolled_back_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        Connection::open(&path).unwrap().execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY)").unwrap();
        let writer = Writer::open(&path, Duration::from_secs(1)).unwrap();

        let panicked = writer
            .run(|conn| -> Result<()> {
                conn.execute_batch("BEGIN; INSERT INTO t VALUES (1)").map_err(write_err)?;
                panic!("a bug in a write");
            })
            .await;
        assert_eq!(panicked.unwrap_err().code, ErrorCode::Internal);
        writer.run(|conn| conn.execute_batch("BEGIN; INSERT INTO t VALUES (2)").map_err(write_err)).await.unwrap();
        assert_eq!(writer.execute("INSERT INTO t VALUES (3)", []).await.unwrap(), 1);

        writer.close().await;
        let after_close = writer.execute("INSERT INTO t VALUES (4)", []).await;
        assert_eq!(after_close.unwrap_err().code, ErrorCode::Unavailable);
        assert!(!dir.path().join("t.db-wal").exists(), "the writer, closing last, removes the WAL");
        let kept: String =
            Connection::open(&path).unwrap().query_row("SELECT group_concat(x) FROM t", [], |row| row.get(0)).unwrap();
        assert_eq!(kept, "3", "only the write that committed is stored");
    }
}
