//! Register, login, logout, reset, me (my password and sessions), users,
//! and what the server says of itself before sign-in.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use parley_core::accounts::{self, Admission, Registration};
use parley_core::id::UserId;
use parley_core::model::User;
use parley_core::parse::{DisplayName, Password, Username};
use parley_core::presence::Mine;
use parley_core::search::PeopleQuery;
use parley_core::time::Timestamp;
use parley_core::Error;
use parley_protocol as wire;

use super::error::ApiResult;
use super::extract::{ApiJson, ApiQuery, Authed, SESSION_COOKIE};
use crate::auth::{NewAccount, SESSION_SECONDS};
use crate::client_addr::ClientAddr;
use crate::rate::Class;
use crate::state::AppState;
use crate::Config;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/server", get(server))
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/reset", post(reset))
        .route("/me", get(me).patch(update_me))
        .route("/me/password", post(change_password))
        .route("/me/sessions", get(sessions))
        .route("/me/sessions/{id}", delete(revoke_session))
        .route("/me/blocks", get(blocks))
        .route("/me/blocks/{user_id}", put(block).delete(unblock))
        .route("/users", get(search_users))
        .route("/users/{id}", get(user))
}

/// The session cookie: HttpOnly, SameSite=Lax, and Secure when the server's
/// public URL is https or the request came over TLS (as a proxy in front
/// says with `X-Forwarded-Proto`).
fn session_cookie(config: &Config, headers: &HeaderMap, token: &str, max_age: i64) -> HeaderValue {
    let forwarded = headers.get("x-forwarded-proto").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let secure = forwarded || config.public_url.as_ref().is_some_and(|url| url.is_https());
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("parley_session=; Path=/; Max-Age=0"))
}

fn signed_in(config: &Config, headers: &HeaderMap, status: StatusCode, user: &User, token: String) -> Response {
    let cookie = session_cookie(config, headers, &token, SESSION_SECONDS);
    (status, [(header::SET_COOKIE, cookie)], Json(wire::AuthResponse { user: user.into(), token })).into_response()
}

/// What a sign-up screen shows: the policy, and whether this is a fresh server.
async fn server(State(state): State<AppState>) -> ApiResult<Json<wire::ServerInfo>> {
    let first_account = !state.chat.has_users().await?;
    Ok(Json(wire::ServerInfo { registration: state.config.registration.as_str().to_owned(), first_account }))
}

fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok())
}

async fn register(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<wire::RegisterRequest>,
) -> ApiResult<Response> {
    let username = Username::parse_new(&body.username)?;
    let password = Password::parse(&body.password)?;
    let display_name = body.display_name.as_deref().map(DisplayName::parse).transpose()?;
    if body.invite.as_ref().is_some_and(|code| code.len() > super::invites::MAX_CODE) {
        return Err(accounts::invite_unusable().into());
    }
    if state.config.registration == Registration::Closed {
        return Err(accounts::closed().into());
    }
    // Before the password is hashed: a flood spends none of the hashing.
    state.rates.address(Class::Registrations, client)?;
    let admission =
        Admission { policy: state.config.registration, invite: body.invite.as_deref(), now: Timestamp::now() };
    let new = NewAccount { username, password, display_name, admission, user_agent: user_agent(&headers) };
    let (user, token, invite) = state.auth.register(new).await?;
    tracing::info!(user = %user.id, username = %user.username, role = user.role.as_str(), "registered");
    if let Some(invite) = invite {
        // The account stands either way; a join that fails is theirs to retry
        // with the same link, which spends no use for a member.
        if let Err(error) = state.chat.join_by_used_invite(user.id, &invite).await {
            tracing::warn!(user = %user.id, %error, "could not join the invite's channel at sign-up");
        }
    }
    Ok(signed_in(&state.config, &headers, StatusCode::CREATED, &user, token))
}

/// Throttled per client address and per username before anything is
/// looked up, so a known and an unknown username are refused alike, and
/// refused attempts cost no password hash.
async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<wire::LoginRequest>,
) -> ApiResult<Response> {
    state.rates.address(Class::LoginsPerAddress, client)?;
    state.rates.account(Class::Logins, &body.username)?;
    let (user, token) = state.auth.login(&body.username, &body.password, user_agent(&headers)).await?;
    Ok(signed_in(&state.config, &headers, StatusCode::OK, &user, token))
}

async fn logout(State(state): State<AppState>, headers: HeaderMap, authed: Authed) -> ApiResult<Response> {
    state.auth.logout(&authed.token_hash).await?;
    state.hub.end_sessions(authed.user.id, vec![authed.token_hash]);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, session_cookie(&state.config, &headers, "", 0))]).into_response())
}

/// A reset link's token and a new password: every session of the account
/// ends, and this one begins.
async fn reset(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<wire::ResetPasswordRequest>,
) -> ApiResult<Response> {
    let password = Password::parse(&body.password)?;
    state.rates.address(Class::LoginsPerAddress, client)?;
    let (user, token, ended) = state.auth.reset_password(&body.token, password, user_agent(&headers)).await?;
    state.hub.end_sessions(user.id, ended);
    Ok(signed_in(&state.config, &headers, StatusCode::OK, &user, token))
}

/// My password, given the current one; my other sessions end.
async fn change_password(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(body): ApiJson<wire::ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    let new = Password::parse(&body.new_password)?;
    state.rates.account(Class::Logins, authed.user.username.as_str())?;
    let ended = state.auth.change_password(&authed.user, &body.current_password, new, &authed.token_hash).await?;
    state.hub.end_sessions(authed.user.id, ended);
    Ok(StatusCode::NO_CONTENT)
}

async fn sessions(State(state): State<AppState>, authed: Authed) -> ApiResult<Json<wire::SessionsResponse>> {
    let sessions = state.auth.sessions(authed.user.id).await?;
    let sessions = sessions
        .iter()
        .map(|s| wire::SessionInfo {
            id: s.public_id().to_owned(),
            created_at: s.created_at.to_rfc3339(),
            last_seen_at: s.last_seen_at.to_rfc3339(),
            user_agent: s.user_agent.clone(),
            current: s.token_hash == authed.token_hash,
        })
        .collect();
    Ok(Json(wire::SessionsResponse { sessions }))
}

async fn revoke_session(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let ended = state.auth.revoke_session(authed.user.id, &id).await?;
    state.hub.end_sessions(authed.user.id, vec![ended]);
    Ok(StatusCode::NO_CONTENT)
}

async fn me(authed: Authed) -> Json<wire::UserResponse> {
    Json(wire::UserResponse { user: (&authed.user).into() })
}

async fn update_me(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(body): ApiJson<wire::UpdateMeRequest>,
) -> ApiResult<Json<wire::UserResponse>> {
    let mut user = authed.user;
    if let Some(raw) = body.display_name {
        let name = DisplayName::parse(&raw)?;
        state.rates.user(Class::Profile, user.id)?;
        state.chat.set_display_name(user.id, &name).await?;
        user.display_name = name.into_string();
    }
    Ok(Json(wire::UserResponse { user: (&user).into() }))
}

async fn blocks(State(state): State<AppState>, authed: Authed) -> ApiResult<Json<wire::UsersResponse>> {
    let users = state.chat.blocked(authed.user.id).await?;
    Ok(Json(wire::UsersResponse { users: users.iter().map(wire::User::from).collect() }))
}

fn other_user(raw: &str) -> Result<UserId, Error> {
    raw.parse().map_err(|_| Error::not_found("user not found"))
}

/// Their messages in a DM with me are refused from now on.
async fn block(State(state): State<AppState>, authed: Authed, Path(id): Path<String>) -> ApiResult<StatusCode> {
    set_blocked(&state, &authed, &id, true).await
}

async fn unblock(State(state): State<AppState>, authed: Authed, Path(id): Path<String>) -> ApiResult<StatusCode> {
    set_blocked(&state, &authed, &id, false).await
}

/// Blocks or unblocks someone; every session of mine hears of it (`blocked`).
async fn set_blocked(state: &AppState, authed: &Authed, id: &str, blocked: bool) -> ApiResult<StatusCode> {
    let other = other_user(id)?;
    state.chat.block(authed.user.id, other, blocked).await?;
    state.hub.mine(authed.user.id, Mine::Blocked { other, blocked });
    Ok(StatusCode::NO_CONTENT)
}

/// How many users one search returns.
const SEARCH_LIMIT: u32 = 20;

async fn search_users(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(query): ApiQuery<wire::UsersQuery>,
) -> ApiResult<Json<wire::UsersResponse>> {
    let query = PeopleQuery::parse(query.q.as_deref().unwrap_or_default())?;
    state.rates.user(Class::Searches, authed.user.id)?;
    let users = state.chat.search_users(&query, SEARCH_LIMIT).await?;
    Ok(Json(wire::UsersResponse { users: users.iter().map(wire::User::from).collect() }))
}

async fn user(
    State(state): State<AppState>,
    _authed: Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<wire::UserResponse>> {
    let not_found = || Error::not_found("user not found");
    let id: UserId = id.parse().map_err(|_| not_found())?;
    let user = state.chat.user(id).await?.ok_or_else(not_found)?;
    Ok(Json(wire::UserResponse { user: (&user).into() }))
}
