//! `/healthz`, `/readyz` and `/metrics`. `/metrics` is for operators: on
//! the public port only with `--metrics-token` (as a bearer token), and
//! openly on `--metrics-listen`'s address.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use parley_core::Error;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::extract::bearer_token;
use crate::state::AppState;

/// The public port's: `/metrics` behind the token, when there is one.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(public_metrics).layer(super::headers::no_store()))
}

/// `--metrics-listen`'s: an address only operators reach.
pub fn private_router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics).layer(super::headers::no_store()))
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// 200 when the store answers, and in cluster mode Kafka and Redis too.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if let Err(error) = state.chat.ping().await {
        tracing::warn!(error = %error, "store not ready");
        return (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n".to_owned());
    }
    for (name, check) in &state.ready_checks {
        if let Err(error) = check.ping().await {
            tracing::warn!(error = %error, "{name} not ready");
            return (StatusCode::SERVICE_UNAVAILABLE, format!("{name} unavailable\n"));
        }
    }
    (StatusCode::OK, "ready\n".to_owned())
}

/// Without `--metrics-token` the public port has no `/metrics` (404, as
/// any unknown path); with one, it needs `Authorization: Bearer <token>`.
async fn public_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(expected) = &state.config.metrics_token else {
        return ApiError(Error::not_found("no such endpoint")).into_response();
    };
    // Digests compared: how long the comparison takes says nothing of the token.
    let presented = bearer_token(&headers).unwrap_or_default();
    if Sha256::digest(presented.as_bytes()) != Sha256::digest(expected.expose().as_bytes()) {
        let mut refused = ApiError(Error::unauthenticated("/metrics needs the metrics token")).into_response();
        refused.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        return refused;
    }
    metrics(State(state)).await.into_response()
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}
