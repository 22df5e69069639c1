//! Reads for a live session, of channels it already follows: the
//! membership was checked when the session began to follow the channel (or
//! the log itself says the user just joined it), so these do not check it
//! again on every event.

use super::Chat;
use crate::id::{ChannelId, UserId};
use crate::model::{Channel, Event};
use crate::parse::Seq;
use crate::Result;

impl Chat {
    /// The channel as it is now, with its newest `seq`.
    pub async fn followed_channel(&self, id: ChannelId) -> Result<Option<Channel>> {
        self.store.channel(id).await
    }

    /// Up to `limit` events of `channel` after `after`, oldest first, each
    /// message with its state as `reader` sees it: what a session replays.
    pub async fn followed_events(
        &self,
        reader: UserId,
        channel: ChannelId,
        after: Seq,
        limit: u32,
    ) -> Result<Vec<Event>> {
        let mut events = self.store.events_after(channel, after, limit).await?;
        self.with_reactions(channel, Some(reader), &mut events).await?;
        Ok(events)
    }
}
