//! Posting messages, reading the event log, read markers.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use parley_core::parse::{parse_seq, Body, ClientMsgId, Page};
use parley_protocol as wire;

use super::channel_id;
use super::error::ApiResult;
use super::extract::{ApiJson, ApiQuery, Authed};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/channels/{id}/messages", post(post_message))
        .route("/channels/{id}/events", get(events))
        .route("/channels/{id}/read", post(mark_read))
}

/// 201 with the stored event; a retry with the same `client_msg_id` is 200
/// with the event first stored.
async fn post_message(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<wire::PostMessageRequest>,
) -> ApiResult<(StatusCode, Json<wire::EventResponse>)> {
    let channel = channel_id(&id)?;
    let text = Body::parse(&body.body)?;
    let client_msg_id = ClientMsgId::parse(&body.client_msg_id)?;
    let reply_to_seq = body.reply_to_seq.map(|s| parse_seq(s, "reply_to_seq")).transpose()?;
    state.sends.check(authed.user.id)?;
    let posted = state.chat.post(authed.user.id, channel, client_msg_id, text, reply_to_seq).await?;
    let status = if posted.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(wire::EventResponse { event: (&posted.event).into() })))
}

async fn events(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<wire::EventsQuery>,
) -> ApiResult<Json<wire::EventsResponse>> {
    let channel = channel_id(&id)?;
    let page = Page::parse(query.after, query.before, query.limit)?;
    let page = state.chat.events(authed.user.id, channel, page).await?;
    Ok(Json(wire::EventsResponse {
        events: page.events.iter().map(wire::Event::from).collect(),
        has_more: page.has_more,
    }))
}

async fn mark_read(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<wire::ReadRequest>,
) -> ApiResult<StatusCode> {
    let channel = channel_id(&id)?;
    let seq = parse_seq(body.seq, "seq")?;
    state.chat.mark_read(authed.user.id, channel, seq).await?;
    Ok(StatusCode::NO_CONTENT)
}
