//! Driver errors mapped to the port error where they arise; the sqlx error never leaves this crate.

use parley_core::{Error, ErrorCode};
use sqlx::migrate::MigrateError;

/// A unique violation is `conflict`; a server that is unreachable, shutting
/// down, out of resources, read-only (a standby after failover) or that chose
/// this transaction as a deadlock or serialization victim is `unavailable`
/// (retrying later may work); anything else is `internal`, with the driver's
/// text and the SQLSTATE for the log.
pub(crate) fn db_err(err: sqlx::Error) -> Error {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::conflict("already exists"),
        _ => Error::new(if unavailable(&err) { ErrorCode::Unavailable } else { ErrorCode::Internal }, cause(&err)),
    }
    .with_source(err)
}

/// Whether retrying later may work.
fn unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.code().is_some_and(|code| transient(&code)),
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => true,
        _ => false,
    }
}

/// The driver's text, with the SQLSTATE when the server sent one.
fn cause(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => format!("postgres {}: {err}", db.code().unwrap_or_default()),
        _ => format!("postgres: {err}"),
    }
}

/// SQLSTATEs after which the same request may succeed later.
fn transient(code: &str) -> bool {
    const CLASSES: [&str; 2] = [
        "08", // connection exception
        "53", // insufficient resources: disk full, out of memory, too many connections
    ];
    const CODES: [&str; 8] = [
        "40001", // serialization_failure
        "40P01", // deadlock_detected
        "55P03", // lock_not_available
        "57014", // query_canceled (statement_timeout)
        "57P01", // admin_shutdown
        "57P02", // crash_shutdown
        "57P03", // cannot_connect_now (starting up, recovering)
        "25006", // read_only_sql_transaction (a standby after failover)
    ];
    CLASSES.iter().any(|class| code.starts_with(class)) || CODES.contains(&code)
}

/// Like [`db_err`], with the caller's words for a conflict.
pub(crate) fn conflict_as(message: &'static str) -> impl Fn(sqlx::Error) -> Error {
    move |err| {
        let mapped = db_err(err);
        match mapped.code {
            ErrorCode::Conflict => {
                let mut mapped = mapped;
                mapped.message = message.to_owned();
                mapped
            }
            _ => mapped,
        }
    }
}

/// A failed migration is `unavailable` or `internal` as [`db_err`] would
/// say, never `conflict`, and names the migration.
pub(crate) fn migrate_err(err: MigrateError) -> Error {
    let (err, context) = match err {
        MigrateError::Execute(err) => (err, "postgres migrations".to_owned()),
        MigrateError::ExecuteMigration(err, version) => (err, format!("postgres migration {version}")),
        other => return Error::internal(format!("postgres migrations: {other}")).with_source(other),
    };
    let code = if unavailable(&err) { ErrorCode::Unavailable } else { ErrorCode::Internal };
    Error::new(code, format!("{context}: {}", cause(&err))).with_source(err)
}

#[cfg(test)]
mod tests {
    use super::{db_err, transient};
    use parley_core::ErrorCode;
    use std::error::Error as _;

    #[test]
    fn a_mapped_error_keeps_the_driver_error() {
        let mapped = db_err(sqlx::Error::PoolTimedOut);
        assert_eq!(mapped.code, ErrorCode::Unavailable);
        assert!(mapped.source().and_then(|s| s.downcast_ref::<sqlx::Error>()).is_some(), "{mapped:?}");
    }

    #[test]
    fn transient_codes() {
        for code in ["08006", "08001", "53300", "53100", "40001", "40P01", "57P01", "57P03", "25006"] {
            assert!(transient(code), "{code}");
        }
        for code in ["23505", "23503", "42P01", "22021", "XX000", ""] {
            assert!(!transient(code), "{code}");
        }
    }
}
