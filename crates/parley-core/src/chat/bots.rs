//! Bots and incoming webhooks. A bot is an account an admin makes, with no
//! password: it signs in with API tokens (sessions that last a century), so
//! it uses the same REST and WebSocket API as a person and gets the same
//! delivery contract, in the channels it is a member of. An incoming
//! webhook is a secret URL that posts into one channel as a bot of its own,
//! made with it by the channel's owner or admins; an outgoing webhook
//! POSTs each new message of a channel to a URL (delivered by the server's
//! `webhooks` module).

use super::admin::as_admin;
use super::Chat;
use crate::accounts::Admission;
use crate::id::{ChannelId, WebhookId};
use crate::model::{Channel, ChannelKind, OutgoingHook, Session, User, Webhook};
use crate::{Error, Result};

impl Chat {
    /// Stores `bot` (an account with `bot` set, and a hash of a password
    /// nobody knows), made by `admin`.
    pub async fn create_bot(&self, admin: &User, bot: &User, password_hash: &str) -> Result<User> {
        as_admin(admin)?;
        self.store_bot(bot, password_hash).await?;
        let detail = format!(r#"{{"username":"{}"}}"#, bot.username);
        self.audit(admin.id, "bot.create", Some(bot.id), None, detail).await?;
        Ok(bot.clone())
    }

    async fn store_bot(&self, bot: &User, password_hash: &str) -> Result<()> {
        if !bot.bot {
            return Err(Error::internal("a bot account must be marked as one"));
        }
        self.store.create_user(bot, password_hash, &Admission::by_owner()).await.map(drop)
    }

    /// A bot of the server's, for an admin.
    async fn bot(&self, admin: &User, id: crate::id::UserId) -> Result<User> {
        as_admin(admin)?;
        match self.store.user(id).await? {
            Some(user) if user.bot => Ok(user),
            _ => Err(Error::not_found("bot not found")),
        }
    }

    /// Keeps a new API token of a bot (its session).
    pub async fn add_token(&self, admin: &User, session: &Session) -> Result<()> {
        let bot = self.bot(admin, session.user_id).await?;
        if bot.deactivated_at.is_some() {
            return Err(Error::conflict("reactivate this bot before giving it a token"));
        }
        self.store.create_session(session).await?;
        self.audit(admin.id, "bot.token", Some(bot.id), None, "{}".to_owned()).await
    }

    /// A bot's tokens, the last used first.
    pub async fn tokens(&self, admin: &User, bot: crate::id::UserId) -> Result<Vec<Session>> {
        let bot = self.bot(admin, bot).await?;
        self.store.sessions(bot.id, crate::time::Timestamp::now()).await
    }

    /// Revokes a bot's token by its public id: the token hash revoked,
    /// whose sockets the caller closes.
    pub async fn revoke_token(&self, admin: &User, bot: crate::id::UserId, public_id: &str) -> Result<String> {
        let tokens = self.tokens(admin, bot).await?;
        let token = tokens
            .into_iter()
            .find(|s| s.public_id() == public_id)
            .ok_or_else(|| Error::not_found("token not found"))?;
        self.store.delete_session(&token.token_hash).await?;
        self.audit(admin.id, "bot.token_revoke", Some(bot), None, "{}".to_owned()).await?;
        Ok(token.token_hash)
    }

    /// The channel whose webhooks `user` manages: its owner or admins, or
    /// a server admin; not a DM.
    async fn hooks_of(&self, user: &User, id: ChannelId) -> Result<Channel> {
        let not_found = || Error::not_found("channel not found");
        let channel = self.store.channel(id).await?.ok_or_else(not_found)?;
        let role = self.store.role(id, user.id).await?;
        if role.is_none() && !user.is_admin() && channel.kind != ChannelKind::Public {
            return Err(not_found());
        }
        if channel.kind == ChannelKind::Direct {
            return Err(Error::forbidden("a direct channel has no webhooks"));
        }
        if !role.is_some_and(|r| r.moderates()) && !user.is_admin() {
            return Err(Error::forbidden("only the channel's owner and admins manage its webhooks"));
        }
        Ok(channel)
    }

    /// A new incoming webhook of channel `hook.channel_id`, made by `user`,
    /// posting as `bot` (stored here, and made a member of the channel).
    pub async fn create_hook(&self, user: &User, hook: &Webhook, bot: &User, password_hash: &str) -> Result<()> {
        let channel = self.hooks_of(user, hook.channel_id).await?;
        self.store_bot(bot, password_hash).await?;
        self.add_member(channel.id, bot.id, user.id).await?;
        self.store.create_hook(hook).await?;
        let detail = format!(r#"{{"webhook":"{}"}}"#, hook.id);
        self.audit(user.id, "webhook.create", Some(bot.id), Some(channel.id), detail).await
    }

    /// The webhooks of a channel, the newest first.
    pub async fn hooks(&self, user: &User, channel: ChannelId) -> Result<Vec<Webhook>> {
        self.hooks_of(user, channel).await?;
        self.store.hooks(channel).await
    }

    /// Revokes a webhook: its URL stops working; its bot's messages stay.
    pub async fn revoke_hook(&self, user: &User, id: WebhookId) -> Result<()> {
        let not_found = || Error::not_found("webhook not found");
        let hook = self.store.hook(id).await?.ok_or_else(not_found)?;
        self.hooks_of(user, hook.channel_id).await.map_err(|_| not_found())?;
        self.store.delete_hook(id).await?;
        let detail = format!(r#"{{"webhook":"{id}"}}"#);
        self.audit(user.id, "webhook.revoke", Some(hook.bot_id), Some(hook.channel_id), detail).await
    }

    /// The webhook whose secret has this hash.
    pub async fn hook_by_token(&self, token_hash: &str) -> Result<Option<Webhook>> {
        self.store.hook_by_token(token_hash).await
    }

    /// A new outgoing webhook of channel `hook.channel_id`, by `user`: it
    /// delivers the messages after the channel's head as it is now.
    pub async fn create_outgoing(&self, user: &User, hook: &mut OutgoingHook) -> Result<()> {
        let channel = self.hooks_of(user, hook.channel_id).await?;
        hook.delivery.delivered_seq = channel.last_seq;
        self.store.create_outgoing(hook).await?;
        let detail = format!(r#"{{"outgoing_webhook":"{}"}}"#, hook.id);
        self.audit(user.id, "outgoing_webhook.create", None, Some(channel.id), detail).await
    }

    /// A channel's outgoing webhooks with their delivery state, the newest first.
    pub async fn outgoing_of(&self, user: &User, channel: ChannelId) -> Result<Vec<OutgoingHook>> {
        self.hooks_of(user, channel).await?;
        self.store.outgoing_of(channel).await
    }

    pub async fn revoke_outgoing(&self, user: &User, id: WebhookId) -> Result<()> {
        let not_found = || Error::not_found("webhook not found");
        let hook = self.store.outgoing(id).await?.ok_or_else(not_found)?;
        self.hooks_of(user, hook.channel_id).await.map_err(|_| not_found())?;
        self.store.delete_outgoing(id).await?;
        let detail = format!(r#"{{"outgoing_webhook":"{id}"}}"#);
        self.audit(user.id, "outgoing_webhook.revoke", None, Some(hook.channel_id), detail).await
    }
}
