//! The server's admins: users (find, role, deactivate, reset link), every
//! channel, join links, and the audit log. Every route answers 403 to
//! anyone else.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use parley_core::id::UserId;
use parley_core::model::ServerRole;
use parley_core::parse::{parse_expires_in, parse_max_uses, DisplayName, Username};
use parley_core::search::PeopleQuery;
use parley_core::Error;
use parley_protocol as wire;

use super::error::ApiResult;
use super::extract::{ApiJson, ApiQuery, Authed, JsonOrEmpty};
use crate::auth::Auth;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users))
        .route("/admin/users/{id}", patch(update_user))
        .route("/admin/users/{id}/reset-link", post(reset_link))
        .route("/admin/channels", get(channels))
        .route("/admin/join-links", get(join_links).post(create_join_link))
        .route("/admin/audit", get(audit))
        .route("/admin/bots", post(create_bot))
        .route("/admin/bots/{id}/tokens", get(tokens).post(create_token))
        .route("/admin/bots/{id}/tokens/{token}", axum::routing::delete(revoke_token))
}

/// How many users or audit entries one page holds, by default and at most.
const PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

fn page_limit(limit: Option<u32>) -> Result<u32, Error> {
    match limit {
        None => Ok(PAGE),
        Some(n @ 1..=MAX_PAGE) => Ok(n),
        Some(_) => Err(Error::bad_request(format!("limit must be between 1 and {MAX_PAGE}"))),
    }
}

fn user_id(raw: &str) -> Result<UserId, Error> {
    raw.parse().map_err(|_| Error::not_found("user not found"))
}

/// Every user whose name matches `q` (every user when it is empty),
/// deactivated ones too, by username.
async fn users(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(query): ApiQuery<wire::AdminUsersQuery>,
) -> ApiResult<Json<wire::UsersResponse>> {
    let limit = page_limit(query.limit)?;
    let query = PeopleQuery::parse(query.q.as_deref().unwrap_or_default())?;
    let users = state.chat.admin_users(&authed.user, &query, limit).await?;
    Ok(Json(wire::UsersResponse { users: users.iter().map(wire::User::from).collect() }))
}

/// Every channel but DMs, private and archived ones too, a page at a time
/// by name, as the public directory pages.
async fn channels(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(query): ApiQuery<wire::PublicChannelsQuery>,
) -> ApiResult<Json<wire::PublicChannelsResponse>> {
    super::channels::directory(&state, &authed, &query, true).await
}

/// `{"role"}` and/or `{"deactivated"}`; a deactivated user's sessions end
/// and their sockets close (4003) on every node.
async fn update_user(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<wire::AdminUserRequest>,
) -> ApiResult<Json<wire::UserResponse>> {
    let id = user_id(&id)?;
    let role = body.role.as_deref().map(ServerRole::parse).transpose()?;
    if role.is_none() && body.deactivated.is_none() {
        return Err(Error::bad_request("give role or deactivated").into());
    }
    let mut user = match state.chat.user(id).await? {
        Some(user) => user,
        None => return Err(Error::not_found("user not found").into()),
    };
    if let Some(role) = role {
        user = state.chat.set_server_role(&authed.user, id, role).await?;
    }
    if let Some(deactivated) = body.deactivated {
        let (changed, ended) = state.chat.set_deactivated(&authed.user, id, deactivated).await?;
        state.hub.end_sessions(id, ended);
        user = changed;
    }
    Ok(Json(wire::UserResponse { user: (&user).into() }))
}

/// A one-use link, for an hour, with which the user sets a new password.
async fn reset_link(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<wire::ResetLinkResponse>)> {
    let (token, reset) = Auth::new_reset(user_id(&id)?);
    state.chat.create_reset(&authed.user, &reset).await?;
    let body =
        wire::ResetLinkResponse { path: format!("/reset/{token}"), token, expires_at: reset.expires_at.to_rfc3339() };
    Ok((StatusCode::CREATED, Json(body)))
}

async fn join_links(State(state): State<AppState>, authed: Authed) -> ApiResult<Json<wire::InvitesResponse>> {
    let invites = state.chat.join_links(&authed.user).await?;
    Ok(Json(wire::InvitesResponse { invites: invites.iter().map(Into::into).collect() }))
}

async fn create_join_link(
    State(state): State<AppState>,
    authed: Authed,
    JsonOrEmpty(body): JsonOrEmpty<wire::CreateInviteRequest>,
) -> ApiResult<(StatusCode, Json<wire::InviteResponse>)> {
    let max_uses = parse_max_uses(body.max_uses)?;
    let expires_in = parse_expires_in(body.expires_in_seconds)?;
    let invite = state.chat.create_join_link(&authed.user, max_uses, expires_in).await?;
    Ok((StatusCode::CREATED, Json(wire::InviteResponse { invite: (&invite).into() })))
}

/// The newest entries first; `before` an entry's id for the page after it.
async fn audit(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(query): ApiQuery<wire::AuditQuery>,
) -> ApiResult<Json<wire::AuditResponse>> {
    let limit = page_limit(query.limit)?;
    let mut entries = state.chat.audit_log(&authed.user, query.before, limit + 1).await?;
    let has_more = entries.len() > limit as usize;
    entries.truncate(limit as usize);
    Ok(Json(wire::AuditResponse { entries: entries.iter().map(Into::into).collect(), has_more }))
}

/// A bot and its first API token (shown once).
async fn create_bot(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(body): ApiJson<wire::CreateBotRequest>,
) -> ApiResult<(StatusCode, Json<wire::BotTokenResponse>)> {
    let username = Username::parse_new(&body.username)?;
    let display_name = match body.display_name.as_deref() {
        Some(name) => DisplayName::parse(name)?.into_string(),
        None => username.to_string(),
    };
    if !authed.user.is_admin() {
        return Err(Error::forbidden("only the server's admins may do this").into());
    }
    let (bot, hash) = state.auth.new_bot(username, display_name).await?;
    let bot = state.chat.create_bot(&authed.user, &bot, &hash).await?;
    let (token, session) = Auth::new_api_token(bot.id, "first");
    state.chat.add_token(&authed.user, &session).await?;
    let body = wire::BotTokenResponse { user: (&bot).into(), token, token_id: session.public_id().to_owned() };
    Ok((StatusCode::CREATED, Json(body)))
}

async fn create_token(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    JsonOrEmpty(body): JsonOrEmpty<wire::CreateTokenRequest>,
) -> ApiResult<(StatusCode, Json<wire::BotTokenResponse>)> {
    let name = body.name.unwrap_or_else(|| "token".to_owned());
    if name.chars().count() > 64 {
        return Err(Error::bad_request("name must be at most 64 characters").into());
    }
    let bot_id = user_id(&id)?;
    let (token, session) = Auth::new_api_token(bot_id, &name);
    state.chat.add_token(&authed.user, &session).await?;
    let bot = state.chat.user(bot_id).await?.ok_or_else(|| Error::not_found("bot not found"))?;
    let body = wire::BotTokenResponse { user: (&bot).into(), token, token_id: session.public_id().to_owned() };
    Ok((StatusCode::CREATED, Json(body)))
}

/// A bot's tokens, as sessions are listed.
async fn tokens(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<wire::SessionsResponse>> {
    let tokens = state.chat.tokens(&authed.user, user_id(&id)?).await?;
    let sessions = tokens
        .iter()
        .map(|s| wire::SessionInfo {
            id: s.public_id().to_owned(),
            created_at: s.created_at.to_rfc3339(),
            last_seen_at: s.last_seen_at.to_rfc3339(),
            user_agent: s.user_agent.clone(),
            current: false,
        })
        .collect();
    Ok(Json(wire::SessionsResponse { sessions }))
}

/// The token stops working at once; the bot's sockets opened with it close (4003).
async fn revoke_token(
    State(state): State<AppState>,
    authed: Authed,
    Path((id, token)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let bot = user_id(&id)?;
    let ended = state.chat.revoke_token(&authed.user, bot, &token).await?;
    state.hub.end_sessions(bot, vec![ended]);
    Ok(StatusCode::NO_CONTENT)
}
