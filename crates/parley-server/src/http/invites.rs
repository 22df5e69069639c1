//! Invite links: create, preview, accept, list, revoke.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use parley_core::parse::{parse_expires_in, parse_max_uses};
use parley_core::Error;
use parley_protocol as wire;

use super::error::ApiResult;
use super::extract::{Authed, JsonOrEmpty};
use super::{channel_body, channel_id};
use crate::rate::Class;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/channels/{id}/invites", post(create).get(list))
        .route("/invites/{code}", get(preview).delete(revoke))
        .route("/invites/{code}/accept", post(accept))
}

/// Codes are 22 characters; anything much longer is not one of ours.
pub(super) const MAX_CODE: usize = 64;

fn check_code(code: &str) -> Result<(), Error> {
    if code.len() > MAX_CODE {
        return Err(Error::not_found("invite not found, expired or used up"));
    }
    Ok(())
}

async fn create(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    JsonOrEmpty(body): JsonOrEmpty<wire::CreateInviteRequest>,
) -> ApiResult<(StatusCode, Json<wire::InviteResponse>)> {
    let max_uses = parse_max_uses(body.max_uses)?;
    let expires_in = parse_expires_in(body.expires_in_seconds)?;
    let id = channel_id(&id)?;
    state.rates.user(Class::Invites, authed.user.id)?;
    let invite = state.chat.create_invite(authed.user.id, id, max_uses, expires_in).await?;
    Ok((StatusCode::CREATED, Json(wire::InviteResponse { invite: (&invite).into() })))
}

/// Shown to anyone holding the link, signed in or not, so a sign-in page can
/// say where it leads.
async fn preview(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> ApiResult<Json<wire::InvitePreviewResponse>> {
    check_code(&code)?;
    let (invite, channel) = state.chat.invite(&code).await?;
    Ok(Json(wire::InvitePreviewResponse { invite: (&invite).into(), channel: channel.as_ref().map(Into::into) }))
}

async fn accept(
    State(state): State<AppState>,
    authed: Authed,
    Path(code): Path<String>,
) -> ApiResult<Json<wire::ChannelResponse>> {
    check_code(&code)?;
    state.rates.user(Class::Joins, authed.user.id)?;
    let channel = state.chat.accept_invite(authed.user.id, &code).await?;
    Ok(Json(wire::ChannelResponse { channel: channel_body(&state, authed.user.id, &channel).await? }))
}

/// A channel's invites, for its owner and admins.
async fn list(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<wire::InvitesResponse>> {
    let invites = state.chat.channel_invites(&authed.user, channel_id(&id)?).await?;
    Ok(Json(wire::InvitesResponse { invites: invites.iter().map(Into::into).collect() }))
}

async fn revoke(State(state): State<AppState>, authed: Authed, Path(code): Path<String>) -> ApiResult<StatusCode> {
    check_code(&code)?;
    state.chat.revoke_invite(&authed.user, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}
