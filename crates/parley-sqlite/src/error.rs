//! Driver errors mapped to the port error where they arise; the sqlx error never leaves this crate.

use parley_core::Error;
use sqlx::migrate::MigrateError;

// SQLite's primary result codes: the low byte of an extended code.
const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;
const SQLITE_IOERR: i32 = 10;
const SQLITE_FULL: i32 = 13;
const SQLITE_CANTOPEN: i32 = 14;

/// A unique violation is `conflict`; a database that is busy, locked, out of
/// space or unreachable is `unavailable` (retrying later may work); anything
/// else is `internal`, with the driver's text for the log.
pub(crate) fn db_err(err: sqlx::Error) -> Error {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::conflict("already exists"),
        sqlx::Error::Database(db) => {
            let primary = db.code().and_then(|code| code.parse::<i32>().ok()).map(|code| code & 0xff);
            match primary {
                Some(SQLITE_BUSY | SQLITE_LOCKED | SQLITE_IOERR | SQLITE_FULL | SQLITE_CANTOPEN) => {
                    Error::unavailable(format!("sqlite: {err}"))
                }
                _ => Error::internal(format!("sqlite: {err}")),
            }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed | sqlx::Error::Io(_) => {
            Error::unavailable(format!("sqlite: {err}"))
        }
        _ => Error::internal(format!("sqlite: {err}")),
    }
}

/// Like [`db_err`], with the caller's words for a conflict.
pub(crate) fn conflict_as(message: &'static str) -> impl Fn(sqlx::Error) -> Error {
    move |err| {
        let mapped = db_err(err);
        match mapped.code {
            parley_core::ErrorCode::Conflict => Error::conflict(message),
            _ => mapped,
        }
    }
}

pub(crate) fn migrate_err(err: MigrateError) -> Error {
    match err {
        MigrateError::Execute(err) => db_err(err),
        other => Error::internal(format!("sqlite migration: {other}")),
    }
}

/// A JSON parameter that could not be built (it always can; this keeps `?` honest).
pub(crate) fn json_err(err: serde_json::Error) -> Error {
    Error::internal(format!("encoding a batch as json: {err}"))
}
