//! The HTTP API: one router per area, the layers every request passes.

mod admin;
mod auth;
mod changes;
mod channels;
pub mod error;
pub mod extract;
pub mod headers;
mod hooks;
mod invites;
mod messages;
mod ops;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use parley_core::id::UserId;
use parley_core::model::Channel;
use parley_core::Error;
use tower_http::trace::TraceLayer;

use crate::state::AppState;
use error::{ApiError, ApiResult};

/// Request bodies above this are refused with 413.
pub const BODY_LIMIT: usize = 1 << 20;

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(admin::router())
        .merge(auth::router())
        .merge(channels::router())
        .merge(invites::router())
        .merge(messages::router())
        .merge(changes::router())
        .merge(hooks::router())
        .merge(crate::gateway::router())
        .route("/openapi.json", axum::routing::get(openapi))
        .fallback(|| async { ApiError(Error::not_found("no such endpoint")) });
    let router = Router::new()
        .nest("/api/v1", api.layer(headers::no_store()))
        .merge(ops::router())
        .merge(hooks::incoming_router().layer(headers::no_store()))
        .merge(crate::web::router())
        // Outside the API's own layers: its `no-store` is said here.
        .method_not_allowed_fallback(|| async {
            let error = ApiError(Error::bad_request("method not allowed for this endpoint"));
            (StatusCode::METHOD_NOT_ALLOWED, [(header::CACHE_CONTROL, headers::API_CACHE_CONTROL)], error)
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(crate::connections::body::answer_too_slow))
        .layer(middleware::from_fn_with_state(state.clone(), count_responses))
        .layer(TraceLayer::new_for_http());
    headers::every_response(router, &state.config).with_state(state)
}

/// A processor-only node serves the operations endpoints alone.
pub fn ops_router(state: AppState) -> Router {
    let router = Router::new()
        .merge(ops::router())
        .fallback(|| async { ApiError(Error::not_found("this node runs the processor only")) });
    headers::every_response(router, &state.config).with_state(state)
}

/// `--metrics-listen`'s: `/metrics`, `/healthz` and `/readyz`, no token asked.
pub fn metrics_router(state: AppState) -> Router {
    let router = Router::new()
        .merge(ops::private_router())
        .fallback(|| async { ApiError(Error::not_found("this address serves /metrics, /healthz and /readyz")) });
    headers::every_response(router, &state.config).with_state(state)
}

/// The OpenAPI 3.1 document of this API, written by hand next to the routes
/// (`openapi.json`) and checked against them by the API tests.
async fn openapi() -> impl axum::response::IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], include_str!("openapi.json"))
}

async fn count_responses(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    state.metrics.response(response.status().as_u16());
    if response.status().is_server_error() {
        state.metrics.store_error();
    }
    response
}

/// A channel id from a path: a malformed one names no channel.
fn channel_id(raw: &str) -> Result<parley_core::id::ChannelId, ApiError> {
    raw.parse().map_err(|_| ApiError(Error::not_found("channel not found")))
}

/// A channel as `user` is answered it ([`channel_body`](crate::gateway::session::channel_body)).
async fn channel_body(state: &AppState, user: UserId, channel: &Channel) -> ApiResult<parley_protocol::Channel> {
    Ok(crate::gateway::session::channel_body(state, user, channel).await?)
}
