//! People: who a user is, finding them by name, changing one's own name,
//! and whose presence a user is shown.

use super::Chat;
use crate::id::{ChannelId, UserId};
use crate::model::User;
use crate::parse::DisplayName;
use crate::search::PeopleQuery;
use crate::time::Timestamp;
use crate::{Error, Result};

impl Chat {
    pub async fn user(&self, id: UserId) -> Result<Option<User>> {
        self.store.user(id).await
    }

    /// Whether any account exists: a fresh server has none.
    pub async fn has_users(&self) -> Result<bool> {
        self.store.has_users().await
    }

    /// Up to `limit` users whose name matches `query` (see [`crate::search`]).
    pub async fn search_users(&self, query: &PeopleQuery, limit: u32) -> Result<Vec<User>> {
        self.store.search_users(query, limit).await
    }

    /// `user` blocks `other` (`blocked`) or no longer: their messages in a
    /// DM with `user` are refused; a client hides them elsewhere.
    pub async fn block(&self, user: UserId, other: UserId, blocked: bool) -> Result<()> {
        if user == other {
            return Err(Error::bad_request("you cannot block yourself"));
        }
        if self.store.user(other).await?.is_none() {
            return Err(Error::not_found("user not found"));
        }
        self.store.set_blocked(user, other, blocked.then(Timestamp::now)).await
    }

    /// Whom `user` blocks, the latest first.
    pub async fn blocked(&self, user: UserId) -> Result<Vec<User>> {
        self.store.blocked(user).await
    }

    /// `conflict` when `name` looks like another user's name.
    pub async fn set_display_name(&self, user: UserId, name: &DisplayName) -> Result<()> {
        self.store.set_display_name(user, name.as_str()).await
    }

    /// For each DM `user` is in, the people it shows besides its opener
    /// (those who have written in it): see [`crate::presence`].
    pub async fn dm_shown(&self, user: UserId) -> Result<Vec<(ChannelId, UserId)>> {
        self.store.dm_shown(user).await
    }

    /// The people whose presence `user` is shown, from channels of at most
    /// `max_members` members.
    pub async fn presence_peers(&self, user: UserId, max_members: u32) -> Result<Vec<UserId>> {
        self.store.presence_peers(user, max_members).await
    }
}
