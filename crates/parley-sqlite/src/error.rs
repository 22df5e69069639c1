//! Driver errors mapped to the port error where they arise; neither driver's
//! error (sqlx for reads, rusqlite for the writer) leaves this crate.

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
    let mapped = match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::conflict("already exists"),
        sqlx::Error::Database(db) => match db.code().and_then(|code| code.parse::<i32>().ok()) {
            Some(code) => by_code(code, &err),
            None => Error::internal(format!("sqlite: {err}")),
        },
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed | sqlx::Error::Io(_) => {
            Error::unavailable(format!("sqlite: {err}"))
        }
        _ => Error::internal(format!("sqlite: {err}")),
    };
    mapped.with_source(err)
}

/// The writer's errors, by the same rules as [`db_err`].
pub(crate) fn write_err(err: rusqlite::Error) -> Error {
    use rusqlite::ffi;
    let mapped = match &err {
        rusqlite::Error::SqliteFailure(failure, _) => match failure.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => Error::conflict("already exists"),
            code => by_code(code, &err),
        },
        _ => Error::internal(format!("sqlite: {err}")),
    };
    mapped.with_source(err)
}

/// A result code other than a unique violation: `unavailable` when the
/// database is busy, locked, out of space or unreachable, else `internal`.
fn by_code(code: i32, err: &dyn std::fmt::Display) -> Error {
    match code & 0xff {
        SQLITE_BUSY | SQLITE_LOCKED | SQLITE_IOERR | SQLITE_FULL | SQLITE_CANTOPEN => {
            Error::unavailable(format!("sqlite: {err}"))
        }
        _ => Error::internal(format!("sqlite: {err}")),
    }
}

/// A conflict told in the caller's words; any other error as it is.
pub(crate) fn conflict_as(message: &'static str) -> impl Fn(Error) -> Error {
    move |err| match err.code {
        parley_core::ErrorCode::Conflict => {
            let mut err = err;
            err.message = message.to_owned();
            err
        }
        _ => err,
    }
}

pub(crate) fn migrate_err(err: MigrateError) -> Error {
    match err {
        MigrateError::Execute(err) => db_err(err),
        other => Error::internal(format!("sqlite migration: {other}")).with_source(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_core::ErrorCode;
    use std::error::Error as _;

    #[test]
    fn a_mapped_error_keeps_the_driver_error() {
        let mapped = db_err(sqlx::Error::PoolClosed);
        assert_eq!(mapped.code, ErrorCode::Unavailable);
        assert!(mapped.source().and_then(|s| s.downcast_ref::<sqlx::Error>()).is_some(), "{mapped:?}");
        let conflict = conflict_as("a channel named \"x\" already exists")(mapped.clone());
        assert!(conflict.source().is_some(), "rewording keeps the source");
    }
}
