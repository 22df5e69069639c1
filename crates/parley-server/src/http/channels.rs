//! Channels: create, list, get, change (rename, topic, archive), delete,
//! join, leave, members; and DMs.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use parley_core::command::Change;
use parley_core::directory::DirectoryPage;
use parley_core::id::UserId;
use parley_core::model::{ChannelKind, Notify};
use parley_core::parse::{ChannelName, ClientMsgId, Topic};
use parley_core::presence::Mine;
use parley_core::Error;
use parley_protocol as wire;

use super::error::ApiResult;
use super::extract::{ApiJson, ApiQuery, Authed};
use super::{channel_body, channel_id};
use crate::gateway::session::channel_bodies;
use crate::rate::Class;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/channels", post(create).get(mine))
        .route("/channels/public", get(public))
        .route("/channels/{id}", get(one).patch(update).delete(delete))
        .route("/channels/{id}/join", post(join))
        .route("/channels/{id}/leave", post(leave))
        .route("/channels/{id}/members", get(members))
        .route("/channels/{id}/preferences", put(set_preferences))
        .route("/dms", post(open_dm))
}

async fn create(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(body): ApiJson<wire::CreateChannelRequest>,
) -> ApiResult<(StatusCode, Json<wire::ChannelResponse>)> {
    let name = ChannelName::parse(&body.name)?;
    let kind = match body.kind.as_str() {
        "public" => ChannelKind::Public,
        "private" => ChannelKind::Private,
        _ => return Err(Error::bad_request("kind must be \"public\" or \"private\"").into()),
    };
    let topic = body.topic.as_deref().map(Topic::parse).transpose()?;
    state.rates.user(Class::Channels, authed.user.id)?;
    let channel = state.chat.create_channel(authed.user.id, name, kind, topic).await?;
    tracing::info!(channel = %channel.id, kind = kind.as_str(), user = %authed.user.id, "channel created");
    Ok((
        StatusCode::CREATED,
        Json(wire::ChannelResponse { channel: channel_body(&state, authed.user.id, &channel).await? }),
    ))
}

/// One change to the channel itself, an event of its log: `name`, `topic`
/// or `archived`, by its owner or admins or a server admin.
async fn update(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<wire::UpdateChannelRequest>,
) -> ApiResult<Response> {
    let change = match (body.name, body.topic, body.archived) {
        (Some(name), None, None) => Change::Rename { name: ChannelName::parse(&name)? },
        (None, Some(topic), None) => Change::SetTopic { topic: Topic::parse(&topic)? },
        (None, None, Some(archived)) => Change::Archive { archived },
        _ => return Err(Error::bad_request("give exactly one of name, topic and archived").into()),
    };
    super::changes::make(&state, &authed, &id, Some(&body.client_msg_id), change).await
}

/// A server admin deletes a channel, naming it in `confirm`.
async fn delete(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<wire::DeleteChannelQuery>,
) -> ApiResult<Response> {
    let channel = channel_id(&id)?;
    let key = query.client_msg_id.ok_or_else(|| Error::bad_request("client_msg_id is required"))?;
    let client_msg_id = ClientMsgId::parse(&key)?;
    let confirm = query.confirm.ok_or_else(|| Error::bad_request("confirm is required: the channel's name"))?;
    let written = state.chat.delete_channel(&authed.user, channel, &confirm, client_msg_id).await?;
    super::changes::answer(written, key)
}

async fn mine(State(state): State<AppState>, authed: Authed) -> ApiResult<Json<wire::ChannelsResponse>> {
    let mine = state.chat.my_channels(authed.user.id).await?;
    Ok(Json(wire::ChannelsResponse { channels: channel_bodies(&state, &mine).await? }))
}

/// A page of the public channels by name; without `limit`, up to 1000.
async fn public(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(query): ApiQuery<wire::PublicChannelsQuery>,
) -> ApiResult<Json<wire::PublicChannelsResponse>> {
    directory(&state, &authed, &query, false).await
}

/// A page of the directory, of every channel but DMs when `every` (admins only).
pub(super) async fn directory(
    state: &AppState,
    authed: &Authed,
    query: &wire::PublicChannelsQuery,
    every: bool,
) -> ApiResult<Json<wire::PublicChannelsResponse>> {
    let mut page = DirectoryPage::parse(query.q.as_deref(), query.after.as_deref(), query.limit)?;
    if every {
        page = page.of_every_channel();
    }
    state.rates.user(Class::Searches, authed.user.id)?;
    let page = state.chat.directory(&authed.user, &page).await?;
    Ok(Json(wire::PublicChannelsResponse {
        channels: page.channels.iter().map(wire::Channel::from).collect(),
        has_more: page.has_more,
    }))
}

async fn one(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<wire::ChannelResponse>> {
    let (channel, _) = state.chat.visible(authed.user.id, channel_id(&id)?).await?;
    Ok(Json(wire::ChannelResponse { channel: channel_body(&state, authed.user.id, &channel).await? }))
}

async fn join(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<wire::ChannelResponse>> {
    let id = channel_id(&id)?;
    state.rates.user(Class::Joins, authed.user.id)?;
    let channel = state.chat.join(authed.user.id, id).await?;
    Ok(Json(wire::ChannelResponse { channel: channel_body(&state, authed.user.id, &channel).await? }))
}

async fn leave(State(state): State<AppState>, authed: Authed, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id = channel_id(&id)?;
    state.rates.user(Class::Joins, authed.user.id)?;
    state.chat.leave(authed.user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn members(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<wire::MembersResponse>> {
    let members = state.chat.members(authed.user.id, channel_id(&id)?).await?;
    Ok(Json(wire::MembersResponse { members: members.iter().map(wire::Member::from).collect() }))
}

async fn open_dm(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(body): ApiJson<wire::OpenDmRequest>,
) -> ApiResult<Json<wire::ChannelResponse>> {
    if body.user_ids.len() > 64 {
        return Err(Error::bad_request("a DM needs 1 to 8 other people").into());
    }
    let others = body.user_ids.iter().map(|id| id.parse::<UserId>()).collect::<Result<Vec<_>, _>>()?;
    state.rates.user(Class::Dms, authed.user.id)?;
    let channel = state.chat.open_dm(authed.user.id, &others).await?;
    Ok(Json(wire::ChannelResponse { channel: channel_body(&state, authed.user.id, &channel).await? }))
}

/// Sets my preferences in a channel (docs/protocol.md, "Channels").
async fn set_preferences(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<wire::PreferencesRequest>,
) -> ApiResult<Json<wire::PreferencesResponse>> {
    let channel = channel_id(&id)?;
    if body.notify.is_none() && body.muted.is_none() {
        return Err(Error::bad_request("give notify, muted or both").into());
    }
    let notify = body.notify.as_deref().map(Notify::parse).transpose()?;
    // A person's own settings, at the pace of clicks: the budget of read markers.
    state.rates.user(Class::ReadMarkers, authed.user.id)?;
    let preferences = state.chat.set_preferences(authed.user.id, channel, notify, body.muted).await?;
    state.hub.mine(authed.user.id, Mine::Preferences(channel, preferences));
    Ok(Json(wire::PreferencesResponse { preferences: (&preferences).into() }))
}
