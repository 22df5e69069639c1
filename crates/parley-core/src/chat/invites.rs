//! Invites: a code that lets whoever has it join a channel, or (a join link,
//! with no channel) sign up on an invite-only server, a number of times or
//! until a time.

use rand::Rng;

use super::Chat;
use crate::accounts::invite_unusable;
use crate::id::{ChannelId, UserId};
use crate::model::{Channel, ChannelKind, Invite, User};
use crate::time::Timestamp;
use crate::{Error, Result};

impl Chat {
    pub async fn create_invite(
        &self,
        user: UserId,
        id: ChannelId,
        max_uses: Option<u32>,
        expires_in: Option<i64>,
    ) -> Result<Invite> {
        let (channel, _) = self.as_member(user, id).await?;
        if channel.kind == ChannelKind::Direct {
            return Err(Error::forbidden("direct channels have no invites"));
        }
        let invite = new_invite(user, Some(id), max_uses, expires_in);
        self.store.create_invite(&invite).await?;
        Ok(invite)
    }

    /// A join link: sign-up on the server, made by an admin.
    pub async fn create_join_link(
        &self,
        admin: &User,
        max_uses: Option<u32>,
        expires_in: Option<i64>,
    ) -> Result<Invite> {
        super::admin::as_admin(admin)?;
        let invite = new_invite(admin.id, None, max_uses, expires_in);
        self.store.create_invite(&invite).await?;
        let detail = format!(r#"{{"code":"{}"}}"#, invite.code);
        self.audit(admin.id, "join_link.create", None, None, detail).await?;
        Ok(invite)
    }

    /// The server's join links, usable or not.
    pub async fn join_links(&self, admin: &User) -> Result<Vec<Invite>> {
        super::admin::as_admin(admin)?;
        self.store.invites(None).await
    }

    /// A channel's invites, for its owner and admins (and the server's admins).
    pub async fn channel_invites(&self, user: &User, id: ChannelId) -> Result<Vec<Invite>> {
        let (_, role) = self.as_member(user.id, id).await?;
        if !role.moderates() && !user.is_admin() {
            return Err(Error::forbidden("only the channel's owner and admins see its invites"));
        }
        self.store.invites(Some(id)).await
    }

    /// Revokes an invite: its maker may, and so may the channel's owner and
    /// admins, and the server's admins. An invite the caller may not see is
    /// `not_found`.
    pub async fn revoke_invite(&self, user: &User, code: &str) -> Result<()> {
        let invite = self.store.invite(code).await?.ok_or_else(invite_unusable)?;
        let allowed = invite.created_by == user.id
            || user.is_admin()
            || match invite.channel_id {
                Some(channel) => self.store.role(channel, user.id).await?.is_some_and(|r| r.moderates()),
                None => false,
            };
        if !allowed {
            return Err(invite_unusable());
        }
        self.store.delete_invite(code).await?;
        let action = if invite.channel_id.is_some() { "invite.revoke" } else { "join_link.revoke" };
        self.audit(user.id, action, None, invite.channel_id, format!(r#"{{"code":"{code}"}}"#)).await
    }

    /// A usable invite and its channel (none for a join link). Unknown,
    /// expired and used-up invites are all `not_found`.
    pub async fn invite(&self, code: &str) -> Result<(Invite, Option<Channel>)> {
        let invite =
            self.store.invite(code).await?.filter(|i| i.usable_at(Timestamp::now())).ok_or_else(invite_unusable)?;
        let channel = match invite.channel_id {
            Some(id) => Some(self.store.channel(id).await?.ok_or_else(invite_unusable)?),
            None => None,
        };
        Ok((invite, channel))
    }

    /// Joins through an invite. A member accepting again spends no use.
    pub async fn accept_invite(&self, user: UserId, code: &str) -> Result<Channel> {
        let (invite, channel) = self.invite(code).await?;
        let channel =
            channel.ok_or_else(|| Error::bad_request("a join link is for signing up, and you have an account"))?;
        if self.store.role(channel.id, user).await?.is_some() {
            return Ok(channel);
        }
        self.store.use_invite(code, Timestamp::now()).await?.ok_or_else(invite_unusable)?;
        self.add_member(channel.id, user, invite.created_by).await
    }

    /// Joins the channel of an invite that was already counted (at sign-up).
    pub async fn join_by_used_invite(&self, user: UserId, invite: &Invite) -> Result<Option<Channel>> {
        match invite.channel_id {
            Some(channel) => self.add_member(channel, user, invite.created_by).await.map(Some),
            None => Ok(None),
        }
    }
}

fn new_invite(by: UserId, channel_id: Option<ChannelId>, max_uses: Option<u32>, expires_in: Option<i64>) -> Invite {
    let now = Timestamp::now();
    Invite {
        code: new_invite_code(),
        channel_id,
        created_by: by,
        created_at: now,
        expires_at: expires_in.map(|s| now.plus_seconds(s)),
        max_uses,
        uses: 0,
    }
}

/// 128 random bits, URL-safe: unguessable, short enough for a link.
fn new_invite_code() -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    // 22 symbols of 62 carry ~131 bits.
    (0..22).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}
