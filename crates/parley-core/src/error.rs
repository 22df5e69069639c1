//! One neutral error: a code every transport maps, and a message for the caller or the log.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What went wrong, independent of transport. HTTP status, WebSocket `error`
/// frames and log levels are all derived from this code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    BadRequest,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    PayloadTooLarge,
    RateLimited,
    Unavailable,
    Internal,
}

impl ErrorCode {
    /// The wire name of the code, as in PROTOCOL.md.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }
}

/// An error with its code. For `Internal` and `Unavailable` the message holds
/// the cause for the log; transports never show an `Internal` message to callers.
#[derive(Debug, Clone)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    /// `RateLimited`: when to try again (HTTP's `Retry-After`), if known.
    pub retry_after: Option<Duration>,
    /// What an adapter's driver said (a database, Kafka or Redis error),
    /// kept whole for the log and for `std::error::Error::source`.
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

/// Two errors are the same when they say the same; where they came from
/// is for the log.
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        (self.code, &self.message, self.retry_after) == (other.code, &other.message, other.retry_after)
    }
}

impl Eq for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error { code, message: message.into(), retry_after: None, source: None }
    }
    /// Keeps `source`, the driver's error this one was mapped from.
    pub fn with_source(self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error { source: Some(Arc::new(source)), ..self }
    }
    /// Over a rate limit, until `retry_after` has passed.
    pub fn rate_limited(message: impl Into<String>, retry_after: Duration) -> Self {
        Error { retry_after: Some(retry_after), ..Self::new(ErrorCode::RateLimited, message) }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::PayloadTooLarge, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|source| source as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn a_mapped_error_keeps_its_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let error = Error::unavailable("store: refused").with_source(io);
        let source = error.source().expect("the driver's error");
        assert_eq!(source.to_string(), "refused");
        assert!(source.downcast_ref::<std::io::Error>().is_some());
        assert_eq!(error.clone().source().map(|s| s.to_string()), Some("refused".into()), "kept by a clone");
        assert_eq!(error, Error::unavailable("store: refused"), "compared by what it says");
    }
}
