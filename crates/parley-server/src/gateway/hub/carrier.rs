//! Where presence, typing and read markers go, chosen once when the hub is
//! built: straight to this node's sessions ([`Here`]: embedded mode, or a
//! cluster without Redis), or to every node through the cluster's presence
//! ([`Relayed`]), from where they come back to each node as notices
//! ([`crate::gateway::presence`]) and reach its sessions the way [`Here`]
//! sends them.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use parley_core::chat::Chat;
use parley_core::id::{ChannelId, UserId};
use parley_core::presence::{Mine, Presence};
use parley_core::Result;
use tokio::sync::mpsc;

use super::state::State;
use super::{presence_frame, Delivery, Hub, Relay};

#[async_trait]
pub(super) trait Carrier: Send + Sync {
    /// `user`'s first session here, `session`, opened (`online`), or their
    /// last one closed.
    fn online(&self, state: &State, session: u64, user: UserId, online: bool);
    /// `person` shows in `channel` from now on and has no session here.
    fn shown(&self, channel: ChannelId, person: UserId);
    /// `user` joined `channel`; `here`: they have sessions on this node.
    fn joined(&self, state: &State, channel: ChannelId, user: UserId, here: bool);
    fn typing(&self, hub: &Hub, channel: ChannelId, user: UserId);
    /// Something for `user`'s own sessions, on every node.
    fn mine(&self, hub: &Hub, user: UserId, what: Mine);
    /// Who among the people `me` is shown is online on other nodes.
    async fn online_elsewhere(&self, chat: &Chat, me: UserId) -> Result<Vec<UserId>>;
    /// Which of `users` are online, on any node.
    async fn online_among(&self, hub: &Hub, users: &[UserId]) -> Result<Vec<UserId>>;
}

/// Every session is on this node.
pub(super) struct Here;

#[async_trait]
impl Carrier for Here {
    fn online(&self, state: &State, session: u64, user: UserId, online: bool) {
        let frame = presence_frame(user, online);
        for link in state.audience(session, user).values() {
            link.offer(Delivery::Frame(frame.clone()));
        }
    }

    /// Nobody without a session here is online.
    fn shown(&self, _: ChannelId, _: UserId) {}

    fn joined(&self, state: &State, channel: ChannelId, user: UserId, here: bool) {
        if here {
            let sessions = state.presence_sessions(channel);
            let online: HashSet<UserId> = sessions.into_iter().flat_map(|m| m.values()).map(|l| l.user).collect();
            state.introduce(user, channel, &online);
        }
    }

    fn typing(&self, hub: &Hub, channel: ChannelId, user: UserId) {
        hub.relay_typing(channel, user);
    }

    fn mine(&self, hub: &Hub, user: UserId, what: Mine) {
        hub.relay_mine(user, what);
    }

    async fn online_elsewhere(&self, _: &Chat, _: UserId) -> Result<Vec<UserId>> {
        Ok(Vec::new())
    }

    async fn online_among(&self, hub: &Hub, users: &[UserId]) -> Result<Vec<UserId>> {
        let state = hub.lock();
        Ok(users.iter().copied().filter(|user| state.has_sessions(*user)).collect())
    }
}

/// Cluster mode with Redis. Unbounded: changes are one per first or last
/// session, typing at most one a second per session and channel, read
/// markers one per store write that moved one.
pub(super) struct Relayed {
    pub(super) relay: mpsc::UnboundedSender<Relay>,
    pub(super) presence: Arc<dyn Presence>,
}

impl Relayed {
    fn send(&self, relay: Relay) {
        // Closed only at shutdown, when nobody is left to tell.
        let _ = self.relay.send(relay);
    }
}

#[async_trait]
impl Carrier for Relayed {
    fn online(&self, _: &State, _: u64, user: UserId, online: bool) {
        self.send(Relay::Online(user, online));
    }

    fn shown(&self, channel: ChannelId, person: UserId) {
        self.send(Relay::Shown(channel, person));
    }

    /// Who is online is known cluster-wide, not here.
    fn joined(&self, _: &State, channel: ChannelId, user: UserId, _: bool) {
        self.send(Relay::Joined(channel, user));
    }

    fn typing(&self, _: &Hub, channel: ChannelId, user: UserId) {
        self.send(Relay::Typing(channel, user));
    }

    fn mine(&self, _: &Hub, user: UserId, what: Mine) {
        self.send(Relay::Mine(user, what));
    }

    async fn online_elsewhere(&self, chat: &Chat, me: UserId) -> Result<Vec<UserId>> {
        crate::gateway::presence::online_neighbours(self.presence.as_ref(), chat, me).await
    }

    async fn online_among(&self, _: &Hub, users: &[UserId]) -> Result<Vec<UserId>> {
        self.presence.online_among(users).await
    }
}
