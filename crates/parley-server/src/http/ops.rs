//! `/healthz`, `/readyz` and `/metrics`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// 200 when the store answers, and in cluster mode Kafka and Redis too.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if let Err(error) = state.chat.store().ping().await {
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

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}
