//! What the hub knows, behind its one lock: the sessions here, who follows
//! which channel, and which DMs show whom.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parley_core::id::{ChannelId, UserId};

use super::{presence_frame, Delivery, EventFrame, SessionLink, Shown, PRESENCE_MAX_SESSIONS};

pub(super) struct Entry {
    pub(super) link: Arc<SessionLink>,
    pub(super) channels: HashSet<ChannelId>,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) sessions: HashMap<u64, Entry>,
    pub(super) by_channel: HashMap<ChannelId, HashMap<u64, Arc<SessionLink>>>,
    pub(super) by_user: HashMap<UserId, HashSet<u64>>,
    /// The DMs followed here. A channel joined here whose kind is not known
    /// yet is one too, showing only the senders of its events, until a
    /// session reads it from the store ([`Hub::learned`]): never more than
    /// the rule allows in the meantime. Dropped with the channel's last
    /// session here.
    pub(super) dms: Shown,
}

impl State {
    pub(super) fn subscribe(&mut self, id: u64, channel: ChannelId) {
        if let Some(entry) = self.sessions.get_mut(&id) {
            if entry.channels.insert(channel) {
                self.by_channel.entry(channel).or_default().insert(id, entry.link.clone());
            }
        }
    }

    pub(super) fn unsubscribe(&mut self, id: u64, channel: ChannelId) {
        if let Some(entry) = self.sessions.get_mut(&id) {
            entry.channels.remove(&channel);
        }
        if let Some(set) = self.by_channel.get_mut(&channel) {
            set.remove(&id);
            if set.is_empty() {
                self.by_channel.remove(&channel);
                self.dms.remove(&channel);
            }
        }
    }

    /// Whether `channel` shows `user`'s presence to its other members.
    pub(super) fn shows(&self, channel: ChannelId, user: UserId) -> bool {
        self.dms.get(&channel).is_none_or(|shown| shown.contains(&user))
    }

    /// What the store says `channel` is: a DM showing `dm`, or (`None`) a
    /// channel showing everyone. Called before a session follows it. Returns
    /// the people it shows now and did not before.
    pub(super) fn learn(&mut self, channel: ChannelId, dm: Option<&HashSet<UserId>>) -> Vec<UserId> {
        let Some(followers) = self.by_channel.get(&channel) else {
            if let Some(shown) = dm {
                self.dms.insert(channel, shown.clone());
            }
            return Vec::new();
        };
        // Not a DM here: it shows everyone already, and kinds do not change.
        let Some(shown) = self.dms.get_mut(&channel) else { return Vec::new() };
        let mut newly: Vec<UserId> = match dm {
            Some(people) => people.iter().filter(|person| shown.insert(**person)).copied().collect(),
            None => {
                let before = self.dms.remove(&channel).unwrap_or_default();
                followers.values().map(|link| link.user).filter(|user| !before.contains(user)).collect()
            }
        };
        newly.sort_unstable();
        newly.dedup();
        newly
    }

    /// The senders of `events` of `channel` show in it from now on (a DM's
    /// opener adds its members; anyone else sends messages). Returns who did
    /// not before.
    pub(super) fn spoke(&mut self, channel: ChannelId, events: &[Arc<EventFrame>]) -> Vec<UserId> {
        let Some(shown) = self.dms.get_mut(&channel) else { return Vec::new() };
        events.iter().map(|e| e.sender).filter(|sender| shown.insert(*sender)).collect()
    }

    /// Tells the other sessions here following `channel` that `user` is online.
    pub(super) fn tell_online(&self, channel: ChannelId, user: UserId) {
        let frame = presence_frame(user, true);
        for link in self.presence_sessions(channel).into_iter().flat_map(|s| s.values()) {
            if link.user != user {
                link.offer(Delivery::Frame(frame.clone()));
            }
        }
    }

    /// `user` joined `channel`; `online` are its members online (`user`
    /// too, if so). The channel's sessions here learn `user` is online if it
    /// shows them, and `user`'s sessions here learn which of `online` it
    /// shows. Telling someone who knew already is harmless; presence frames
    /// only set a state.
    pub(super) fn introduce(&self, user: UserId, channel: ChannelId, online: &HashSet<UserId>) {
        if self.presence_sessions(channel).is_none() {
            return;
        }
        if online.contains(&user) && self.shows(channel, user) {
            self.tell_online(channel, user);
        }
        let sessions = self.user_sessions(user);
        for other in online.iter().filter(|other| **other != user && self.shows(channel, **other)) {
            let frame = presence_frame(*other, true);
            for entry in sessions.iter().filter_map(|id| self.sessions.get(id)) {
                entry.link.offer(Delivery::Frame(frame.clone()));
            }
        }
    }

    /// `user` has a session here.
    pub(super) fn has_sessions(&self, user: UserId) -> bool {
        self.by_user.get(&user).is_some_and(|ids| !ids.is_empty())
    }

    pub(super) fn user_sessions(&self, user: UserId) -> Vec<u64> {
        self.by_user.get(&user).map(|ids| ids.iter().copied().collect()).unwrap_or_default()
    }

    /// The sessions here following `channel`, if it carries presence
    /// ([`PRESENCE_MAX_SESSIONS`]).
    pub(super) fn presence_sessions(&self, channel: ChannelId) -> Option<&HashMap<u64, Arc<SessionLink>>> {
        self.by_channel.get(&channel).filter(|sessions| sessions.len() <= PRESENCE_MAX_SESSIONS)
    }

    /// Sessions of other users shown `user`'s presence through a channel of
    /// `user`'s session `id`.
    pub(super) fn audience(&self, id: u64, user: UserId) -> HashMap<u64, Arc<SessionLink>> {
        let mut found = HashMap::new();
        for channel in self.sessions.get(&id).into_iter().flat_map(|e| &e.channels) {
            if !self.shows(*channel, user) {
                continue;
            }
            for (other, link) in self.presence_sessions(*channel).into_iter().flatten() {
                if link.user != user {
                    found.entry(*other).or_insert_with(|| link.clone());
                }
            }
        }
        found
    }

    /// The other users online here whose presence `user`'s session `id` is
    /// shown through one of its channels.
    pub(super) fn seen_by(&self, id: u64, user: UserId) -> HashSet<UserId> {
        let mut found = HashSet::new();
        for channel in self.sessions.get(&id).into_iter().flat_map(|e| &e.channels) {
            let shown = self.dms.get(channel);
            for link in self.presence_sessions(*channel).into_iter().flat_map(|s| s.values()) {
                if link.user != user && shown.is_none_or(|shown| shown.contains(&link.user)) {
                    found.insert(link.user);
                }
            }
        }
        found
    }
}
