//! Extractors whose rejections use the app's own error body, and the
//! authenticated caller.

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use parley_core::model::User;
use parley_core::Error;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::state::AppState;

/// `Json<T>` whose rejection is a `bad_request` (or `payload_too_large` over the body limit).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(ApiError(json_rejection(&rejection))),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> Error {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return Error::too_large("request body is larger than 1 MiB");
    }
    match rejection {
        JsonRejection::MissingJsonContentType(_) => Error::bad_request("expected Content-Type: application/json"),
        other => Error::bad_request(format!("malformed JSON body: {}", other.body_text())),
    }
}

/// A JSON body that may also be left out entirely, meaning `T::default()`.
pub struct JsonOrEmpty<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for JsonOrEmpty<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::too_large("request body is larger than 1 MiB")
            } else {
                Error::bad_request(rejection.body_text())
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonOrEmpty(T::default()));
        }
        serde_json::from_slice(&bytes)
            .map(JsonOrEmpty)
            .map_err(|e| ApiError(Error::bad_request(format!("malformed JSON body: {e}"))))
    }
}

/// `Query<T>` whose rejection is a `bad_request`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(ApiError(query_rejection(&rejection))),
        }
    }
}

fn query_rejection(rejection: &QueryRejection) -> Error {
    Error::bad_request(format!("malformed query: {}", rejection.body_text()))
}

pub const SESSION_COOKIE: &str = "parley_session";

/// The caller, authenticated by `Authorization: Bearer` or the session cookie.
/// A cookie-authenticated request that changes state must come from an
/// allowed Origin: that is the CSRF defence (the cookie is also SameSite=Lax).
pub struct Authed {
    pub user: User,
    /// The hash of the presented token: what logout revokes.
    pub token_hash: String,
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (token, via_cookie) = match bearer_token(&parts.headers) {
            Some(token) => (token, false),
            None => match cookie_token(&parts.headers) {
                Some(token) => (token, true),
                None => return Err(Error::unauthenticated("sign in first").into()),
            },
        };
        if via_cookie && !is_safe(&parts.method) && !state.origin_allowed(&parts.headers) {
            return Err(Error::forbidden("this request must come from an allowed Origin").into());
        }
        let (user, token_hash) = state.auth.authenticate(&token).await?;
        Ok(Authed { user, token_hash })
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

pub fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn finds_tokens() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; parley_session=xyz; b=2"));
        assert_eq!(bearer_token(&headers).as_deref(), Some("abc"));
        assert_eq!(cookie_token(&headers).as_deref(), Some("xyz"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
    }
}
