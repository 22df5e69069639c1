//! The server's admins: users (find, role, deactivate, reset link), join
//! links, and the audit log. Every route answers 403 to anyone else.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use parley_core::id::UserId;
use parley_core::model::ServerRole;
use parley_core::parse::{parse_expires_in, parse_max_uses};
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
        .route("/admin/join-links", get(join_links).post(create_join_link))
        .route("/admin/audit", get(audit))
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
