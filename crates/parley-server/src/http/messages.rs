//! Posting messages, reading the event log, read markers.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use parley_core::chat::{Posted, Submitted};
use parley_core::parse::{parse_seq, Page};
use parley_core::presence::Mine;
use parley_core::writer::Answer;
use parley_protocol as wire;

use super::channel_id;
use super::error::ApiResult;
use super::extract::{ApiJson, ApiQuery, Authed};
use crate::rate::Class;
use crate::send::{self, NewMessage};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/channels/{id}/messages", post(post_message))
        .route("/channels/{id}/events", get(events))
        .route("/channels/{id}/read", post(mark_read))
}

/// 201 with the stored event; a retry with the same `client_msg_id` is 200
/// with the event first stored, past the send rate too. In cluster mode, 202
/// when the stored event did not come back within
/// [`STORED_WITHIN`](parley_core::writer::STORED_WITHIN): the message is
/// durable in the command log either way.
async fn post_message(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<wire::PostMessageRequest>,
) -> ApiResult<Response> {
    let channel = channel_id(&id)?;
    let message = NewMessage::parse(&body.body, &body.client_msg_id, body.reply_to_seq)?;
    let id = message.client_msg_id.as_str().to_owned();
    let budget = state.rates.user(Class::Messages, authed.user.id);
    match send::post(&state.chat, budget, authed.user.id, channel, message, Answer::Stored).await? {
        Submitted::Stored(Posted { event, created }) => {
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            Ok((status, Json(wire::EventResponse { event: (&event).into() })).into_response())
        }
        Submitted::Accepted => {
            let accepted = wire::AcceptedResponse { status: "accepted".into(), client_msg_id: id };
            Ok((StatusCode::ACCEPTED, Json(accepted)).into_response())
        }
    }
}

async fn events(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<wire::EventsQuery>,
) -> ApiResult<Json<wire::EventsResponse>> {
    let channel = channel_id(&id)?;
    let page = Page::parse(query.after, query.before, query.around, query.limit)?;
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
    state.rates.user(Class::ReadMarkers, authed.user.id)?;
    if let Some(marker) = state.chat.mark_read(authed.user.id, channel, seq).await? {
        state.hub.mine(authed.user.id, Mine::Read(marker));
    }
    Ok(StatusCode::NO_CONTENT)
}
