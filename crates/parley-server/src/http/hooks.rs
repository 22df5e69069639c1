//! Webhooks, made and revoked by a channel's owner or admins: incoming
//! ones, whose `POST /hooks/{secret}` posts into the channel as the
//! webhook's bot within the bot's send rate, exactly once per
//! `Idempotency-Key`; and outgoing ones, delivered by [`crate::webhooks`].

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use parley_core::chat::{Posted, Submitted};
use parley_core::id::WebhookId;
use parley_core::model::{Delivery, OutgoingHook, Webhook};
use parley_core::parse::{ChannelName, Username};
use parley_core::time::Timestamp;
use parley_core::writer::Answer;
use parley_core::Error;
use parley_protocol as wire;
use rand::Rng;

use super::channel_id;
use super::error::ApiResult;
use super::extract::{ApiJson, Authed};
use crate::auth::{token_hash, Auth};
use crate::rate::Class;
use crate::send::{self, NewMessage};
use crate::state::AppState;
use crate::webhooks;

/// Under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/channels/{id}/webhooks", get(list).post(create))
        .route("/webhooks/{id}", delete(revoke))
        .route("/channels/{id}/outgoing-webhooks", get(list_outgoing).post(create_outgoing))
        .route("/outgoing-webhooks/{id}", delete(revoke_outgoing))
}

/// At the root: the URL a webhook's user is given.
pub fn incoming_router() -> Router<AppState> {
    Router::new().route("/hooks/{secret}", post(incoming))
}

async fn create(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<wire::CreateWebhookRequest>,
) -> ApiResult<(StatusCode, Json<wire::WebhookCreatedResponse>)> {
    let channel = channel_id(&id)?;
    // A webhook's name is shown as its bot's: a channel name's rules fit.
    let name = ChannelName::parse(&body.name)?.into_string();
    let username = Username::parse_new(&format!("hook-{}", short_id()))?;
    let (bot, hash) = state.auth.new_bot(username, name.clone()).await?;
    let (secret, secret_hash) = Auth::new_hook_secret();
    let hook = Webhook {
        id: WebhookId::generate(),
        token_hash: secret_hash,
        channel_id: channel,
        bot_id: bot.id,
        name,
        created_by: authed.user.id,
        created_at: Timestamp::now(),
    };
    state.chat.create_hook(&authed.user, &hook, &bot, &hash).await?;
    let body = wire::WebhookCreatedResponse { webhook: (&hook).into(), path: format!("/hooks/{secret}") };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Ten lower-case letters and digits, for a webhook bot's username.
fn short_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..10).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

async fn list(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<wire::WebhooksResponse>> {
    let hooks = state.chat.hooks(&authed.user, channel_id(&id)?).await?;
    Ok(Json(wire::WebhooksResponse { webhooks: hooks.iter().map(Into::into).collect() }))
}

async fn revoke(State(state): State<AppState>, authed: Authed, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id: WebhookId = id.parse().map_err(|_| Error::not_found("webhook not found"))?;
    state.chat.revoke_hook(&authed.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Each new message of the channel POSTed to `url`, signed with the
/// secret answered here (once).
async fn create_outgoing(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<wire::CreateOutgoingRequest>,
) -> ApiResult<(StatusCode, Json<wire::OutgoingCreatedResponse>)> {
    let channel = channel_id(&id)?;
    let url = webhooks::parse_url(&body.url)?;
    webhooks::checked_address(&url, state.config.webhook_allow_private).await?;
    let (secret, _) = Auth::new_hook_secret();
    let mut hook = OutgoingHook {
        id: WebhookId::generate(),
        channel_id: channel,
        url: url.to_string(),
        secret: secret.clone(),
        created_by: authed.user.id,
        created_at: Timestamp::now(),
        delivery: Delivery::default(),
    };
    state.chat.create_outgoing(&authed.user, &mut hook).await?;
    Ok((StatusCode::CREATED, Json(wire::OutgoingCreatedResponse { webhook: (&hook).into(), secret })))
}

async fn list_outgoing(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<wire::OutgoingWebhooksResponse>> {
    let hooks = state.chat.outgoing_of(&authed.user, channel_id(&id)?).await?;
    Ok(Json(wire::OutgoingWebhooksResponse { webhooks: hooks.iter().map(Into::into).collect() }))
}

async fn revoke_outgoing(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: WebhookId = id.parse().map_err(|_| Error::not_found("webhook not found"))?;
    state.chat.revoke_outgoing(&authed.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Secrets are 43 characters; anything much longer is not one.
const MAX_SECRET: usize = 64;

/// `{"text"}` posts a message as the webhook's bot: 200 `{"ok": true,
/// "seq"}` once stored (also for a retry with the same `Idempotency-Key`),
/// 202 in a cluster when not back within 5 s.
async fn incoming(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<wire::IncomingWebhook>,
) -> ApiResult<Response> {
    let unknown = || Error::not_found("no such webhook: it may have been revoked");
    if secret.len() > MAX_SECRET {
        return Err(unknown().into());
    }
    let hook = state.chat.hook_by_token(&token_hash(&secret)).await?.ok_or_else(unknown)?;
    let text = body.text.ok_or_else(|| Error::bad_request("text is required"))?;
    let key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        Some(Ok(key)) => key.to_owned(),
        Some(Err(_)) => return Err(Error::bad_request("Idempotency-Key must be visible ASCII").into()),
        None => format!("hook-{}", short_id()),
    };
    let message = NewMessage::parse(&text, &key, None)?;
    let budget = state.rates.user(Class::Messages, hook.bot_id);
    match send::post(&state.chat, budget, hook.bot_id, hook.channel_id, message, Answer::Stored).await? {
        Submitted::Stored(Posted { event, .. }) => {
            Ok((StatusCode::OK, Json(serde_json::json!({"ok": true, "seq": event.seq}))).into_response())
        }
        Submitted::Accepted => Ok((StatusCode::ACCEPTED, Json(serde_json::json!({"ok": true}))).into_response()),
    }
}
