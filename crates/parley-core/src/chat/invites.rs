//! Invites: a code that lets whoever has it join a channel, a number of
//! times or until a time.

use rand::Rng;

use super::Chat;
use crate::id::{ChannelId, UserId};
use crate::model::{Channel, ChannelKind, Invite};
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
        let now = Timestamp::now();
        let invite = Invite {
            code: new_invite_code(),
            channel_id: id,
            created_by: user,
            created_at: now,
            expires_at: expires_in.map(|s| now.plus_seconds(s)),
            max_uses,
            uses: 0,
        };
        self.store.create_invite(&invite).await?;
        Ok(invite)
    }

    /// A usable invite and its channel. Unknown, expired and used-up invites
    /// are all `not_found`.
    pub async fn invite(&self, code: &str) -> Result<(Invite, Channel)> {
        let not_found = || Error::not_found("invite not found, expired or used up");
        let invite = self.store.invite(code).await?.filter(|i| i.usable_at(Timestamp::now())).ok_or_else(not_found)?;
        let channel = self.store.channel(invite.channel_id).await?.ok_or_else(not_found)?;
        Ok((invite, channel))
    }

    /// Joins through an invite. A member accepting again spends no use.
    pub async fn accept_invite(&self, user: UserId, code: &str) -> Result<Channel> {
        let (invite, channel) = self.invite(code).await?;
        if self.store.role(channel.id, user).await?.is_some() {
            return Ok(channel);
        }
        self.store
            .use_invite(code, Timestamp::now())
            .await?
            .ok_or_else(|| Error::not_found("invite not found, expired or used up"))?;
        self.add_member(channel.id, user, invite.created_by).await
    }
}

/// 128 random bits, URL-safe: unguessable, short enough for a link.
fn new_invite_code() -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    // 22 symbols of 62 carry ~131 bits.
    (0..22).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}
