//! The one HTTP error: a core [`Error`] answered as PROTOCOL.md's error body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use parley_core::{Error, ErrorCode};
use parley_protocol::{ErrorBody, ErrorDetail};

/// A handler's error. Logging happens here, once: `internal` with its whole
/// cause and without revealing it, `unavailable` as a warning.
#[derive(Debug)]
pub struct ApiError(pub Error);

pub type ApiResult<T> = Result<T, ApiError>;

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError(error)
    }
}

pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The message a caller may see: an internal cause is only logged, with the
/// driver's error it came from (`source`) when an adapter kept it.
pub fn public_message(error: &Error) -> String {
    let source = std::error::Error::source(error);
    match error.code {
        ErrorCode::Internal => {
            tracing::error!(cause = %error.message, source = ?source, "internal error");
            "internal error".to_owned()
        }
        ErrorCode::Unavailable => {
            tracing::warn!(cause = %error.message, source = ?source, "unavailable");
            "the service is unavailable, retry shortly".to_owned()
        }
        _ => error.message.clone(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(self.0.code);
        let body = ErrorBody {
            error: ErrorDetail { code: self.0.code.as_str().to_owned(), message: public_message(&self.0) },
        };
        let mut response = (status, Json(body)).into_response();
        if self.0.code == ErrorCode::RateLimited {
            let seconds = self.0.retry_after.map_or(1, |wait| wait.as_secs().max(1));
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
