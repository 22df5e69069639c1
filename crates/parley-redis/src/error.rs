//! Redis errors mapped to the port error where they arise; `RedisError` never leaves this crate.

use std::future::Future;
use std::time::Duration;

use parley_core::{Error, Result};
use redis::{ErrorKind, RedisError, RedisResult, ServerErrorKind};

/// `unavailable` when Redis could not be reached or could not answer now
/// (connection refused or dropped, a timeout, loading, read-only replica):
/// retrying later may work. `internal` otherwise: a script or a reply this
/// crate did not expect is a bug.
pub(crate) fn redis_err(what: &str, err: RedisError) -> Error {
    let passing = err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || matches!(
            err.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ReadOnly
            )
        );
    let message = format!("redis: {what}: {err}");
    let mapped = if passing { Error::unavailable(message) } else { Error::internal(message) };
    mapped.with_source(err)
}

/// Runs one call to Redis within `limit`, mapping its error. The driver has
/// timeouts of its own, but not on every path (a reconnect in progress, the
/// pub/sub handshake), so this is the bound callers can count on.
pub(crate) async fn bounded<T>(what: &str, limit: Duration, call: impl Future<Output = RedisResult<T>>) -> Result<T> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result.map_err(|err| redis_err(what, err)),
        Err(_) => Err(Error::unavailable(format!("redis: {what}: no answer within {limit:?}"))),
    }
}
