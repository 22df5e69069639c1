//! Changes to messages and roles, each an event of the channel's log
//! (docs/protocol.md, "Changing messages"), and the reads of a thread and of
//! a channel's pins and of my mentions. A change costs one unit of the
//! sender's message budget.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, put};
use axum::{Json, Router};
use parley_core::chat::Placed;
use parley_core::command::Change;
use parley_core::emoji::Emoji;
use parley_core::error::Error;
use parley_core::id::{ChannelId, EventId, UserId};
use parley_core::model::Role;
use parley_core::parse::{parse_seq, Body, ClientMsgId, PageLimit};
use parley_core::writer::Written;
use parley_protocol as wire;

use super::channel_id;
use super::error::ApiResult;
use super::extract::{ApiJson, ApiQuery, Authed};
use crate::rate::Class;
use crate::send;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/channels/{id}/messages/{seq}", patch(edit).delete(delete))
        .route("/channels/{id}/messages/{seq}/reactions/{emoji}", put(react).delete(unreact))
        .route("/channels/{id}/pins", get(pins))
        .route("/channels/{id}/pins/{seq}", put(pin).delete(unpin))
        .route("/channels/{id}/threads/{seq}", get(thread))
        .route("/channels/{id}/members/{user_id}", put(set_role).delete(remove))
        .route("/channels/{id}/bans", get(bans))
        .route("/channels/{id}/bans/{user_id}", put(ban).delete(unban))
        .route("/mentions", get(mentions))
        .route("/search", get(search))
}

async fn edit(
    State(state): State<AppState>,
    authed: Authed,
    Path((id, seq)): Path<(String, String)>,
    ApiJson(body): ApiJson<wire::EditRequest>,
) -> ApiResult<Response> {
    let change = Change::Edit { target: target(&seq)?, body: Body::parse(&body.body)?, broadcast: Vec::new() };
    make(&state, &authed, &id, Some(&body.client_msg_id), change).await
}

async fn delete(
    State(state): State<AppState>,
    authed: Authed,
    Path((id, seq)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<wire::ChangeQuery>,
) -> ApiResult<Response> {
    make(&state, &authed, &id, query.client_msg_id.as_deref(), Change::Delete { target: target(&seq)? }).await
}

async fn react(
    State(state): State<AppState>,
    authed: Authed,
    Path((id, seq, emoji)): Path<(String, String, String)>,
    ApiQuery(query): ApiQuery<wire::ChangeQuery>,
) -> ApiResult<Response> {
    let change = Change::React { target: target(&seq)?, emoji: Emoji::parse(&emoji)?, add: true };
    make(&state, &authed, &id, query.client_msg_id.as_deref(), change).await
}

async fn unreact(
    State(state): State<AppState>,
    authed: Authed,
    Path((id, seq, emoji)): Path<(String, String, String)>,
    ApiQuery(query): ApiQuery<wire::ChangeQuery>,
) -> ApiResult<Response> {
    let change = Change::React { target: target(&seq)?, emoji: Emoji::parse(&emoji)?, add: false };
    make(&state, &authed, &id, query.client_msg_id.as_deref(), change).await
}

async fn pin(
    State(state): State<AppState>,
    authed: Authed,
    Path((id, seq)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<wire::ChangeQuery>,
) -> ApiResult<Response> {
    make(&state, &authed, &id, query.client_msg_id.as_deref(), Change::Pin { target: target(&seq)?, pin: true }).await
}

async fn unpin(
    State(state): State<AppState>,
    authed: Authed,
    Path((id, seq)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<wire::ChangeQuery>,
) -> ApiResult<Response> {
    make(&state, &authed, &id, query.client_msg_id.as_deref(), Change::Pin { target: target(&seq)?, pin: false }).await
}

async fn set_role(
    State(state): State<AppState>,
    authed: Authed,
    Path((id, user)): Path<(String, String)>,
    ApiJson(body): ApiJson<wire::RoleRequest>,
) -> ApiResult<Response> {
    let user: UserId = user.parse().map_err(|_| Error::not_found("user is not a member of this channel"))?;
    let role = match body.role.as_str() {
        "admin" => Role::Admin,
        "member" => Role::Member,
        _ => return Err(Error::bad_request("role must be admin or member").into()),
    };
    make(&state, &authed, &id, Some(&body.client_msg_id), Change::SetRole { user, role }).await
}

/// A member's id in a path: a malformed one is no member.
fn member(raw: &str) -> Result<UserId, Error> {
    raw.parse().map_err(|_| Error::not_found("user is not a member of this channel"))
}

/// Anyone's id in a path (a ban need not name a member).
fn person(raw: &str) -> Result<UserId, Error> {
    raw.parse().map_err(|_| Error::not_found("user not found"))
}

async fn remove(
    State(state): State<AppState>,
    authed: Authed,
    Path((id, user)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<wire::ChangeQuery>,
) -> ApiResult<Response> {
    make(&state, &authed, &id, query.client_msg_id.as_deref(), Change::Remove { user: member(&user)? }).await
}

async fn ban(
    State(state): State<AppState>,
    authed: Authed,
    Path((id, user)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<wire::ChangeQuery>,
) -> ApiResult<Response> {
    make(&state, &authed, &id, query.client_msg_id.as_deref(), Change::Ban { user: person(&user)?, banned: true }).await
}

async fn unban(
    State(state): State<AppState>,
    authed: Authed,
    Path((id, user)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<wire::ChangeQuery>,
) -> ApiResult<Response> {
    make(&state, &authed, &id, query.client_msg_id.as_deref(), Change::Ban { user: person(&user)?, banned: false })
        .await
}

async fn bans(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<wire::BansResponse>> {
    let bans = state.chat.bans(&authed.user, channel_id(&id)?).await?;
    let bans = bans
        .iter()
        .map(|b| wire::Ban { user: (&b.user).into(), banned_by: b.by.to_string(), banned_at: b.at.to_rfc3339() })
        .collect();
    Ok(Json(wire::BansResponse { bans }))
}

async fn thread(
    State(state): State<AppState>,
    authed: Authed,
    Path((id, seq)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<wire::ThreadQuery>,
) -> ApiResult<Json<wire::ThreadResponse>> {
    let channel = channel_id(&id)?;
    let after = parse_seq(query.after.unwrap_or(0), "after")?;
    let thread =
        state.chat.thread(authed.user.id, channel, target(&seq)?, after, PageLimit::parse(query.limit)?).await?;
    Ok(Json(wire::ThreadResponse {
        root: (&thread.root).into(),
        replies: thread.replies.events.iter().map(wire::Event::from).collect(),
        has_more: thread.replies.has_more,
    }))
}

async fn pins(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<wire::PinsResponse>> {
    let pins = state.chat.pins(authed.user.id, channel_id(&id)?).await?;
    Ok(Json(wire::PinsResponse { pins: pins.iter().map(wire::Event::from).collect() }))
}

async fn mentions(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(query): ApiQuery<wire::MentionsQuery>,
) -> ApiResult<Json<wire::MentionsResponse>> {
    let before = query.before.as_deref().map(str::parse::<EventId>).transpose()?;
    let page = state.chat.mentions(authed.user.id, before, PageLimit::parse(query.limit)?).await?;
    let mentions =
        page.mentions.iter().map(|p| wire::Mention { channel: channel(p), event: (&p.event).into() }).collect();
    Ok(Json(wire::MentionsResponse { mentions, has_more: page.has_more }))
}

async fn search(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(params): ApiQuery<wire::SearchParams>,
) -> ApiResult<Json<wire::SearchResponse>> {
    let q = params.q.as_deref().ok_or_else(|| Error::bad_request("q is required: what to search for"))?;
    state.rates.user(Class::Searches, authed.user.id)?;
    let before = params.before.as_deref().map(place).transpose()?;
    let page = state.chat.search(authed.user.id, q, before, PageLimit::parse(params.limit)?).await?;
    let results = page
        .results
        .iter()
        .map(|found| wire::SearchResult {
            channel: channel(&found.placed),
            event: (&found.placed.event).into(),
            highlights: found.highlights.iter().map(|(start, end)| [*start, *end]).collect(),
        })
        .collect();
    Ok(Json(wire::SearchResponse { results, has_more: page.has_more }))
}

/// A message's place, `<channel_id>:<seq>`, as a search pages by.
fn place(raw: &str) -> Result<(ChannelId, i64), Error> {
    let malformed = || Error::bad_request("before must be a message's place, <channel_id>:<seq>");
    let (channel, seq) = raw.split_once(':').ok_or_else(malformed)?;
    let seq = seq.parse::<i64>().ok().filter(|s| *s >= 1).ok_or_else(malformed)?;
    Ok((channel.parse().map_err(|_| malformed())?, seq))
}

/// The channel a message is in, as `GET /channels/{id}` serves it.
fn channel(placed: &Placed) -> wire::Channel {
    wire::Channel::from(&placed.channel).with_members(placed.people.clone())
}

/// A message's `seq` in a path.
fn target(raw: &str) -> Result<i64, Error> {
    send::message_seq(raw.parse::<i64>().map_err(|_| Error::not_found("message not found"))?)
}

/// Makes the change within the sender's message budget. 201 with the event
/// it stored; 200 with the event first stored for a retry, or with `null`
/// when it changed nothing; in cluster mode 202 when its event did not come
/// back in time (the change is durable in the command log either way).
pub(super) async fn make(
    state: &AppState,
    authed: &Authed,
    id: &str,
    client_msg_id: Option<&str>,
    change: Change,
) -> ApiResult<Response> {
    let channel = channel_id(id)?;
    let client_msg_id =
        ClientMsgId::parse(client_msg_id.ok_or_else(|| Error::bad_request("client_msg_id is required"))?)?;
    state.rates.user(Class::Messages, authed.user.id)?;
    let key = client_msg_id.as_str().to_owned();
    answer(state.chat.act(&authed.user, channel, client_msg_id, change).await?, key)
}

/// What became of a change: 201 with the event it stored, 200 with the
/// first event of a retry or `null`, 202 when accepted into the command log.
pub(super) fn answer(written: Written, key: String) -> ApiResult<Response> {
    match written {
        Written::Stored(appended) => {
            let status = if appended.created { StatusCode::CREATED } else { StatusCode::OK };
            let event = appended.events.first().map(wire::Event::from);
            Ok((status, Json(wire::ChangeResponse { event })).into_response())
        }
        Written::Accepted => {
            let accepted = wire::AcceptedResponse { status: "accepted".into(), client_msg_id: key };
            Ok((StatusCode::ACCEPTED, Json(accepted)).into_response())
        }
    }
}
