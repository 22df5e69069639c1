//! Posting messages, reading the event log, read markers.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use parley_core::chat::Submitted;
use parley_core::parse::{parse_seq, Body, ClientMsgId, Page};
use parley_core::time::Timestamp;
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

/// How long a REST send waits for its stored event in cluster mode before
/// answering 202: the message is durable in the command log either way.
const STORED_WITHIN: Duration = Duration::from_secs(5);

/// 201 with the stored event; a retry with the same `client_msg_id` is 200
/// with the event first stored. In cluster mode, 202 when the stored event
/// did not come back within [`STORED_WITHIN`].
async fn post_message(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<wire::PostMessageRequest>,
) -> ApiResult<Response> {
    let channel = channel_id(&id)?;
    let text = Body::parse(&body.body)?;
    let client_msg_id = ClientMsgId::parse(&body.client_msg_id)?;
    let reply_to_seq = body.reply_to_seq.map(|s| parse_seq(s, "reply_to_seq")).transpose()?;
    state.sends.check(authed.user.id)?;
    let asked = Timestamp::now();
    let waiter = state.hub.stored.wait(channel, authed.user.id, client_msg_id.as_str());
    let id = client_msg_id.as_str().to_owned();
    let (event, created) = match state.chat.post(authed.user.id, channel, client_msg_id, text, reply_to_seq).await? {
        Submitted::Stored(posted) => (posted.event, posted.created),
        Submitted::Accepted => match waiter.within(STORED_WITHIN).await {
            // A retry's event was stored before this request came.
            Some(event) => {
                let created = event.created_at >= asked;
                (event, created)
            }
            None => {
                let accepted = wire::AcceptedResponse { status: "accepted".into(), client_msg_id: id };
                return Ok((StatusCode::ACCEPTED, Json(accepted)).into_response());
            }
        },
    };
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(wire::EventResponse { event: (&event).into() })).into_response())
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
