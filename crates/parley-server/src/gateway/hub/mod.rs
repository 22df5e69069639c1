//! The hub: which local sessions follow which channels, and the dispatcher
//! that copies each stored event from the feed into those sessions' queues.
//!
//! Slow-consumer policy, enforced in [`Hub::deliver`]: every session has a
//! bounded queue ([`SESSION_QUEUE`]); an event that does not fit closes that
//! session with 1008, and it resumes like any reconnect. The dispatcher never
//! waits for a session, so one slow reader never slows a channel.
//!
//! Presence follows the rule of [`parley_core::presence`]: a channel shows
//! its members' presence to each other, except that a DM shows only the
//! people who opened it or wrote in it ([`Shown`]). The hub knows which
//! channels followed here are DMs and who shows in each, and learns who
//! writes from the events it delivers.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use parley_core::chat::Chat;
use parley_core::feed::FeedSubscription;
use parley_core::id::{ChannelId, UserId};
use parley_core::model::{Channel, ChannelKind, Event};
use parley_core::presence::{Mine, Presence};
use parley_core::stored::StoredWaiters;
use parley_protocol::ServerFrame;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::close::CloseCode;
use crate::metrics::Metrics;
use carrier::{Carrier, Here, Relayed};
use state::{Entry, State};

mod carrier;
mod link;
mod state;

pub use link::{Delivery, EventFrame, Frame, SessionLink};

/// Frames a session may have waiting before it counts as too slow.
pub const SESSION_QUEUE: usize = 4_096;

/// Presence is pushed within a channel while at most this many of its
/// sessions are here: beyond that, each arrival would tell every other
/// member (a frame each) and be told of every one, so connecting a channel's
/// members would cost the square of their number. DMs and ordinary channels
/// are far below it; a channel that large shows no presence.
pub const PRESENCE_MAX_SESSIONS: usize = 1_000;

/// DMs, each with the people whose presence it shows: who opened it and who
/// wrote in it (`Store::dm_shown`). A channel not in it shows everyone's.
pub type Shown = HashMap<ChannelId, HashSet<UserId>>;

pub struct Hub {
    state: Mutex<State>,
    queue_bound: usize,
    next_id: AtomicU64,
    metrics: Arc<Metrics>,
    /// Changes waiting for their stored event (cluster mode): resolved with
    /// every event delivered.
    stored: Arc<StoredWaiters>,
    /// Where presence, typing and read markers go: this node's sessions, or
    /// every node's.
    carrier: Box<dyn Carrier>,
}

/// What this node tells the others (cluster mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relay {
    /// The user's first session on this node opened (`true`) or the last closed.
    Online(UserId, bool),
    Typing(ChannelId, UserId),
    /// A member joined a channel: introduce them and the channel's members
    /// online on any node to each other, here ([`Hub::introduce`]).
    Joined(ChannelId, UserId),
    /// The user shows in the channel from now on (wrote in a DM for the
    /// first time), and has no session here: if they are online on another
    /// node, the channel's sessions here learn so.
    Shown(ChannelId, UserId),
    /// For the user's own sessions on every node: a read marker that
    /// moved, preferences that changed.
    Mine(UserId, Mine),
}

impl Hub {
    /// `queue_bound`: frames one session may have waiting ([`SESSION_QUEUE`]
    /// by default); `stored`: what changes wait for their events.
    pub fn new(metrics: Arc<Metrics>, queue_bound: usize, stored: Arc<StoredWaiters>) -> Hub {
        Hub {
            state: Mutex::new(State::default()),
            queue_bound: queue_bound.max(1),
            next_id: AtomicU64::new(1),
            metrics,
            stored,
            carrier: Box::new(Here),
        }
    }

    /// Presence, typing and read markers go through `relay` to every node
    /// (and come back to each, this one included, as notices of `presence`)
    /// instead of straight to this node's sessions.
    pub fn relaying(self, relay: mpsc::UnboundedSender<Relay>, presence: Arc<dyn Presence>) -> Hub {
        Hub { carrier: Box::new(Relayed { relay, presence }), ..self }
    }

    /// Who among the people `me` is shown is online on other nodes: what a
    /// new session is told after `ready`, besides who is online here.
    pub async fn online_elsewhere(&self, chat: &Chat, me: UserId) -> parley_core::Result<Vec<UserId>> {
        self.carrier.online_elsewhere(chat, me).await
    }

    /// Which of `users` are online, on any node: whom `@here` reaches.
    pub async fn online_among(&self, users: &[UserId]) -> parley_core::Result<Vec<UserId>> {
        self.carrier.online_among(self, users).await
    }

    /// Tells the sessions here that share one of `channels` with `user` that
    /// `user` came online or went offline (a notice from the cluster).
    pub fn announce(&self, user: UserId, online: bool, channels: &[ChannelId]) {
        let state = self.lock();
        let frame = presence_frame(user, online);
        let mut told = HashSet::new();
        for channel in channels.iter().filter(|channel| state.shows(**channel, user)) {
            for (id, link) in state.presence_sessions(*channel).into_iter().flatten() {
                if link.user != user && told.insert(*id) {
                    link.offer(Delivery::Frame(frame.clone()));
                }
            }
        }
    }

    /// `user` joined `channel`; `online` are those of its members online on
    /// any node (cluster mode): they and `user` learn of each other here.
    pub fn introduce(&self, channel: ChannelId, user: UserId, online: &[UserId]) {
        let online: HashSet<UserId> = online.iter().copied().collect();
        self.lock().introduce(user, channel, &online);
    }

    /// What a channel joined here is, read from the store by a session of
    /// the joiner (or, in a cluster, for the introduction): a channel that
    /// is not a DM shows everyone from now on.
    pub fn learned(&self, channel: &Channel) {
        let dm = (channel.kind == ChannelKind::Direct).then(|| HashSet::from([channel.created_by]));
        let mut state = self.lock();
        let newly = state.learn(channel.id, dm.as_ref());
        self.now_shown(&state, channel.id, &newly);
    }

    /// `people` show in `channel` from now on: its sessions here learn which
    /// of them are online. One with a session here is; any other is asked
    /// about on the cluster's presence, or is offline (embedded).
    fn now_shown(&self, state: &State, channel: ChannelId, people: &[UserId]) {
        for person in people {
            if state.by_user.contains_key(person) {
                state.tell_online(channel, *person);
            } else {
                self.carrier.shown(channel, *person);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a session following `channels`, of which `dms` are DMs (with who
    /// shows in each, as the store said). Returns its link, its queue, and
    /// the users online here whose presence it is shown. Announces the user
    /// online, where they show, if this is their first session.
    pub fn register(
        &self,
        user: UserId,
        token_hash: String,
        channels: &[ChannelId],
        dms: &Shown,
    ) -> (Arc<SessionLink>, mpsc::Receiver<Delivery>, Vec<UserId>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (queue, receiver) = mpsc::channel(self.queue_bound);
        let link = Arc::new(SessionLink::new(id, user, token_hash, queue));
        let mut state = self.lock();
        state.sessions.insert(id, Entry { link: link.clone(), channels: HashSet::new() });
        for channel in channels {
            // What this session read may be newer than what the hub knew.
            let newly = state.learn(*channel, dms.get(channel));
            self.now_shown(&state, *channel, &newly);
            state.subscribe(id, *channel);
        }
        let sessions = state.by_user.entry(user).or_default();
        sessions.insert(id);
        let first = sessions.len() == 1;
        let online = state.seen_by(id, user);
        if first {
            self.carrier.online(&state, id, user, true);
        }
        self.metrics.sessions_opened();
        (link, receiver, online.into_iter().collect())
    }

    /// Removes a session; announces the user offline if it was their last.
    pub fn unregister(&self, id: u64) {
        let mut state = self.lock();
        let Some(entry) = state.sessions.get(&id) else { return };
        let user = entry.link.user;
        let last = state.by_user.get(&user).is_some_and(|s| s.len() == 1);
        if last {
            self.carrier.online(&state, id, user, false);
        }
        let channels: Vec<ChannelId> = entry.channels.iter().copied().collect();
        for channel in channels {
            state.unsubscribe(id, channel);
        }
        state.sessions.remove(&id);
        if let Some(sessions) = state.by_user.get_mut(&user) {
            sessions.remove(&id);
            if sessions.is_empty() {
                state.by_user.remove(&user);
            }
        }
        self.metrics.sessions_closed();
    }

    /// Follows `channel` from now on (a channel joined while connecting).
    pub fn subscribe(&self, id: u64, channel: &Channel) {
        let dm = (channel.kind == ChannelKind::Direct).then(|| HashSet::from([channel.created_by]));
        let mut state = self.lock();
        let newly = state.learn(channel.id, dm.as_ref());
        self.now_shown(&state, channel.id, &newly);
        state.subscribe(id, channel.id);
    }

    /// Tells the other members' sessions in `channel` that `user` is typing
    /// (through every node, in cluster mode).
    pub fn typing(&self, from: u64, user: UserId, channel: ChannelId) {
        if !self.lock().sessions.get(&from).is_some_and(|e| e.channels.contains(&channel)) {
            return;
        }
        self.carrier.typing(self, channel, user);
    }

    /// Tells this node's sessions in `channel`, except `user`'s, that `user`
    /// is typing; not in a DM that does not show them yet, where it would
    /// tell they are online.
    pub fn relay_typing(&self, channel: ChannelId, user: UserId) {
        let state = self.lock();
        if !state.shows(channel, user) {
            return;
        }
        let frame =
            Arc::new(Frame::new(&ServerFrame::Typing { channel_id: channel.to_string(), user_id: user.to_string() }));
        for link in state.by_channel.get(&channel).into_iter().flat_map(|s| s.values()) {
            if link.user != user {
                link.offer(Delivery::Frame(frame.clone()));
            }
        }
    }

    /// Something for `user` alone — their read marker moved, their
    /// preferences in a channel changed, they blocked someone: every session of theirs learns it
    /// (on every node, in cluster mode), the one that changed it included,
    /// and nobody else. Not an event of a channel's log: a session that
    /// connects later reads both in `ready`.
    pub fn mine(&self, user: UserId, what: Mine) {
        self.carrier.mine(self, user, what);
    }

    /// Tells `user`'s sessions on this node.
    pub fn relay_mine(&self, user: UserId, what: Mine) {
        let state = self.lock();
        let Some(sessions) = state.by_user.get(&user) else { return };
        let frame = match what {
            Mine::Read(marker) => ServerFrame::ReadMarker {
                channel_id: marker.channel_id.to_string(),
                last_read_seq: marker.last_read_seq,
                unread_count: marker.unread_count,
                mention_count: marker.mention_count,
            },
            Mine::Preferences(channel, preferences) => {
                ServerFrame::Preferences { channel_id: channel.to_string(), preferences: (&preferences).into() }
            }
            Mine::Blocked { other, blocked } => ServerFrame::Blocked { user_id: other.to_string(), blocked },
            Mine::Ended(ended) => {
                let links = sessions.iter().filter_map(|id| state.sessions.get(id)).map(|entry| &entry.link);
                for link in links.filter(|link| ended.contains(&link.token_hash)) {
                    link.close(CloseCode::Revoked);
                }
                return;
            }
        };
        let frame = Arc::new(Frame::new(&frame));
        for entry in sessions.iter().filter_map(|id| state.sessions.get(id)) {
            entry.link.offer(Delivery::Frame(frame.clone()));
        }
    }

    /// Closes, with 4003 on every node, the sockets of `user`'s sessions
    /// that `ended` (their token hashes): signed out, revoked, deactivated.
    pub fn end_sessions(&self, user: UserId, ended: Vec<String>) {
        if !ended.is_empty() {
            self.mine(user, Mine::Ended(ended));
        }
    }

    /// Asks every session to close with `code`.
    pub fn close_all(&self, code: CloseCode) {
        for entry in self.lock().sessions.values() {
            entry.link.close(code);
        }
    }

    /// Copies each event into the queues of the sessions following its
    /// channel. A `member_joined` first makes the joining user's sessions
    /// follow the channel; a `member_left` stops them after this event.
    /// Waiters are resolved last, so that a join is answered once its
    /// user's sessions here follow the channel.
    ///
    /// A batch's events are taken channel by channel (each channel's in
    /// order; order across channels is not part of the contract), and each
    /// run of messages between membership events is offered to a session
    /// back to back: the session then finds the whole run queued when it
    /// wakes and writes it with one flush — one `send` for many deliveries
    /// instead of one each.
    pub fn deliver(&self, events: &[Event]) {
        let mut by_channel: Vec<(ChannelId, Vec<Arc<EventFrame>>)> = Vec::new();
        let mut index: HashMap<ChannelId, usize> = HashMap::new();
        for event in events {
            let frame = Arc::new(EventFrame::new(event));
            let at = *index.entry(frame.channel).or_insert_with(|| {
                by_channel.push((frame.channel, Vec::new()));
                by_channel.len() - 1
            });
            by_channel[at].1.push(frame);
        }
        let mut state = self.lock();
        for (channel, frames) in &by_channel {
            // Messages in runs; each membership event a run of its own.
            let plain = |f: &Arc<EventFrame>| !f.changes_who_follows();
            for run in frames.chunk_by(|a, b| plain(a) && plain(b)) {
                let membership = run[0].membership;
                if let Some((user, true)) = membership {
                    self.joining(&mut state, *channel, user);
                }
                let newly = state.spoke(*channel, run);
                self.now_shown(&state, *channel, &newly);
                let mut delivered = 0u64;
                for link in state.by_channel.get(channel).into_iter().flat_map(|s| s.values()) {
                    for frame in run {
                        link.offer(Delivery::Event(frame.clone()));
                    }
                    delivered += run.len() as u64;
                }
                self.metrics.fanned_out(delivered);
                if let Some((user, false)) = membership {
                    for id in state.user_sessions(user) {
                        state.unsubscribe(id, *channel);
                    }
                }
                if run[0].closes {
                    let following: Vec<u64> =
                        state.by_channel.get(channel).map(|s| s.keys().copied().collect()).unwrap_or_default();
                    for id in following {
                        state.unsubscribe(id, *channel);
                    }
                }
            }
        }
        drop(state);
        self.stored.resolve(events);
    }

    /// Before a `member_joined` of `user` is offered: its sessions here
    /// follow `channel`, and presence is exchanged with who is online in it.
    /// A channel new here counts as a DM until it is [`learned`](Hub::learned)
    /// (its events do not say): `user` shows in it once they send one.
    fn joining(&self, state: &mut State, channel: ChannelId, user: UserId) {
        let sessions = state.user_sessions(user);
        if !sessions.is_empty() && !state.by_channel.contains_key(&channel) {
            state.dms.insert(channel, HashSet::new());
        }
        for id in &sessions {
            state.subscribe(*id, channel);
        }
        self.carrier.joined(state, channel, user, !sessions.is_empty());
    }

    /// Reads the feed until `stop`. If the feed says events were lost to this
    /// node, every session is closed with 1008 so that each resumes from the store.
    pub async fn run_dispatcher(self: Arc<Self>, mut feed: Box<dyn FeedSubscription>, stop: CancellationToken) {
        loop {
            let next = tokio::select! {
                () = stop.cancelled() => return,
                next = feed.next() => next,
            };
            match next {
                Ok(batch) => self.deliver(&batch),
                Err(error) => {
                    tracing::warn!(error = %error, "feed lost events: closing every session so each resumes");
                    self.close_all(CloseCode::Overflow);
                }
            }
        }
    }
}

fn presence_frame(user: UserId, online: bool) -> Arc<Frame> {
    Arc::new(Frame::new(&ServerFrame::Presence {
        user_id: user.to_string(),
        status: if online { "online" } else { "offline" }.to_owned(),
    }))
}

#[cfg(test)]
mod tests;

#[async_trait::async_trait]
impl parley_core::presence::Online for Hub {
    async fn online_among(&self, users: &[UserId]) -> parley_core::Result<Vec<UserId>> {
        Hub::online_among(self, users).await
    }
}
