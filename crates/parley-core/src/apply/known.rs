//! What one batch reads before it applies anything ([`Keys`]: every key of
//! its commands, so that each read takes them all at once) and what it then
//! knows ([`Known`]), kept current as each command applies.

use std::collections::{HashMap, HashSet};

use super::{change, Batch};
use crate::command::Command;
use crate::id::{ChannelId, UserId};
use crate::mentions::mentions;
use crate::model::{Event, Mentions, Role};
use crate::parse::Seq;
use crate::ports::{HeadState, LogTx, PostKey, Reaction, Target};
use crate::Result;

/// Every key of a batch, gathered before anything is read, so that each
/// read takes the whole batch's keys at once.
#[derive(Default)]
pub(super) struct Keys<'c> {
    pub(super) channels: Vec<ChannelId>,
    pub(super) pairs: Vec<(ChannelId, UserId)>,
    pub(super) posts: Vec<PostKey<'c>>,
    pub(super) names: Vec<String>,
    /// The usernames bodies mention, and where: the users are read first,
    /// then their memberships with the others.
    pub(super) usernames: Vec<String>,
    pub(super) mentioned: Vec<(ChannelId, String)>,
    pub(super) targets: Vec<(ChannelId, Seq)>,
    pub(super) reacted: Vec<(ChannelId, Seq)>,
    pub(super) pinned: Vec<ChannelId>,
    /// Who joins or is banned where: the bans to read.
    pub(super) bans: Vec<(ChannelId, UserId)>,
}

impl<'c> Keys<'c> {
    pub(super) fn of(commands: &'c [Command]) -> Keys<'c> {
        let mut keys = Keys::default();
        for command in commands {
            match command {
                Command::Post { channel, sender, client_msg_id, reply_to_seq, body, broadcast } => {
                    keys.channels.push(*channel);
                    keys.pairs.push((*channel, *sender));
                    keys.mentions(*channel, body.as_str(), broadcast);
                    keys.posts.push(PostKey {
                        channel_id: *channel,
                        sender_id: *sender,
                        client_msg_id: client_msg_id.as_str(),
                    });
                    keys.targets.extend(reply_to_seq.map(|r| (*channel, r)));
                }
                Command::Join { channel, user, .. } => {
                    keys.channels.push(*channel);
                    keys.pairs.push((*channel, *user));
                    keys.bans.push((*channel, *user));
                }
                Command::Leave { channel, user, .. } => {
                    keys.channels.push(*channel);
                    keys.pairs.push((*channel, *user));
                }
                Command::Create { channel, .. } => keys.names.extend(channel.name_key()),
                Command::Change { channel, actor, client_msg_id, change, .. } => {
                    keys.channels.push(*channel);
                    keys.pairs.push((*channel, *actor));
                    keys.posts.push(PostKey {
                        channel_id: *channel,
                        sender_id: *actor,
                        client_msg_id: client_msg_id.as_str(),
                    });
                    change::keys(*channel, change, &mut keys);
                }
            }
        }
        fn tidy<T: Ord>(list: &mut Vec<T>) {
            list.sort_unstable();
            list.dedup();
        }
        tidy(&mut keys.channels);
        tidy(&mut keys.pairs);
        keys.posts.sort_unstable_by_key(|k| (k.channel_id, k.sender_id, k.client_msg_id));
        keys.posts.dedup();
        tidy(&mut keys.names);
        tidy(&mut keys.usernames);
        tidy(&mut keys.targets);
        tidy(&mut keys.reacted);
        tidy(&mut keys.pinned);
        tidy(&mut keys.bans);
        keys
    }

    /// What a body's mentions need read: the users it names, and the
    /// memberships of those its `@channel` or `@here` reaches.
    pub(super) fn mentions(&mut self, channel: ChannelId, body: &str, broadcast: &[UserId]) {
        if !body.contains('@') {
            return;
        }
        for name in mentions(body).names {
            self.usernames.push(name.clone());
            self.mentioned.push((channel, name));
        }
        self.pairs.extend(broadcast.iter().map(|user| (channel, *user)));
    }

    /// Adds the memberships of the mentioned `users`, once they are known.
    pub(super) fn with_mentioned(&mut self, users: &HashMap<String, UserId>) {
        if self.mentioned.is_empty() {
            return;
        }
        self.pairs.extend(self.mentioned.iter().filter_map(|(c, name)| users.get(name).map(|u| (*c, *u))));
        self.pairs.sort_unstable();
        self.pairs.dedup();
    }
}

/// What the batch knows, read once and kept current as each command applies.
pub(super) struct Known<'c> {
    pub(super) heads: HashMap<ChannelId, Seq>,
    pub(super) states: HashMap<ChannelId, HeadState>,
    /// Channels deleted by this batch: gone for the commands after.
    pub(super) deleted: HashSet<ChannelId>,
    pub(super) banned: HashSet<(ChannelId, UserId)>,
    /// DM posts whose sender someone in the DM blocks.
    pub(super) blocked: HashSet<(ChannelId, UserId)>,
    pub(super) members: HashMap<(ChannelId, UserId), Role>,
    /// Each stored change's first event: read before, or appended here.
    pub(super) firsts: HashMap<(ChannelId, UserId, &'c str), First>,
    pub(super) stored: Vec<Event>,
    pub(super) named: HashMap<String, ChannelId>,
    /// The users mentioned by name, by username.
    pub(super) users: HashMap<String, UserId>,
    pub(super) targets: HashMap<(ChannelId, Seq), Target>,
    pub(super) reactions: HashSet<(ChannelId, Seq, String, UserId)>,
    /// How many reacted with each emoji of a message: its distinct emoji.
    pub(super) emoji: HashMap<(ChannelId, Seq), HashMap<String, u32>>,
    pub(super) pins: HashMap<ChannelId, u32>,
}

impl<'c> Known<'c> {
    pub(super) async fn read(
        tx: &mut (dyn LogTx + '_),
        keys: &Keys<'c>,
        users: HashMap<String, UserId>,
    ) -> Result<Known<'c>> {
        let read = if keys.channels.is_empty() { Vec::new() } else { tx.heads(&keys.channels).await? };
        let heads = read.iter().map(|h| (h.id, h.last_seq)).collect();
        let states: HashMap<ChannelId, HeadState> = read.iter().map(|h| (h.id, h.state)).collect();
        let banned =
            if keys.bans.is_empty() { HashSet::new() } else { tx.bans(&keys.bans).await?.into_iter().collect() };
        // Who acts in a DM (a sender among them): is someone in it blocking them?
        let dm_posts: Vec<(ChannelId, UserId)> = keys
            .pairs
            .iter()
            .copied()
            .filter(|(channel, _)| states.get(channel).is_some_and(|s: &HeadState| s.direct))
            .collect();
        let blocked =
            if dm_posts.is_empty() { HashSet::new() } else { tx.blocked_in(&dm_posts).await?.into_iter().collect() };
        let members = if keys.pairs.is_empty() {
            HashMap::new()
        } else {
            tx.memberships(&keys.pairs).await?.into_iter().map(|(c, u, role)| ((c, u), role)).collect()
        };
        let stored = if keys.posts.is_empty() { Vec::new() } else { tx.find_posts(&keys.posts).await? };
        let named = if keys.names.is_empty() {
            HashMap::new()
        } else {
            tx.find_named(&keys.names).await?.into_iter().collect()
        };
        let targets = if keys.targets.is_empty() {
            HashMap::new()
        } else {
            tx.messages(&keys.targets).await?.into_iter().map(|t| ((t.channel_id, t.seq), t)).collect()
        };
        let mut known = Known {
            heads,
            states,
            deleted: HashSet::new(),
            banned,
            blocked,
            members,
            firsts: HashMap::with_capacity(keys.posts.len()),
            stored: Vec::new(),
            named,
            users,
            targets,
            reactions: HashSet::new(),
            emoji: HashMap::new(),
            pins: HashMap::new(),
        };
        // Keyed by the commands' own text, which outlives what was read,
        // found in the sorted keys without building anything.
        for (i, event) in stored.iter().enumerate() {
            let Some(id) = event.kind.client_msg_id() else { continue };
            let wanted = (event.channel_id, event.sender_id, id);
            let at = keys.posts.binary_search_by(|k| (k.channel_id, k.sender_id, k.client_msg_id).cmp(&wanted));
            if let Ok(at) = at {
                known
                    .firsts
                    .insert((event.channel_id, event.sender_id, keys.posts[at].client_msg_id), First::Stored(i));
            }
        }
        known.stored = stored;
        if !keys.reacted.is_empty() {
            for Reaction { channel_id, seq, emoji, user_id, .. } in tx.reactions(&keys.reacted).await? {
                *known.emoji.entry((channel_id, seq)).or_default().entry(emoji.clone()).or_default() += 1;
                known.reactions.insert((channel_id, seq, emoji, user_id));
            }
        }
        if !keys.pinned.is_empty() {
            known.pins = tx.pin_counts(&keys.pinned).await?.into_iter().collect();
        }
        Ok(known)
    }

    /// The last `seq` of `channel`, unless it is unknown or deleted.
    pub(super) fn head(&self, channel: ChannelId) -> Option<Seq> {
        self.heads.get(&channel).copied().filter(|_| !self.deleted.contains(&channel))
    }

    pub(super) fn state(&self, channel: ChannelId) -> HeadState {
        self.states.get(&channel).copied().unwrap_or_default()
    }

    /// What `body` by `author` in `channel` mentions, and whom it tells:
    /// the members it names and those its `broadcast` reaches, never the
    /// author, each once.
    pub(super) fn mentions(
        &self,
        channel: ChannelId,
        author: UserId,
        body: &str,
        broadcast: &[UserId],
    ) -> (Mentions, Vec<UserId>) {
        if !body.contains('@') {
            return (Mentions::default(), Vec::new());
        }
        let found = mentions(body);
        let member = |user: &UserId| self.members.contains_key(&(channel, *user));
        let users: Vec<UserId> =
            found.names.iter().filter_map(|name| self.users.get(name)).copied().filter(member).collect();
        let mut told: Vec<UserId> =
            users.iter().chain(broadcast).copied().filter(|user| *user != author && member(user)).collect();
        told.sort_unstable();
        told.dedup();
        (Mentions { users, channel: found.channel, here: found.here }, told)
    }

    /// The first event stored for a client's change, as the batch knows it.
    pub(super) fn first(&self, key: (ChannelId, UserId, &str), batch: &Batch) -> Option<Event> {
        self.firsts.get(&key).map(|first| match *first {
            First::Stored(i) => self.stored[i].clone(),
            First::Appended(i) => batch.events[i].clone(),
        })
    }
}

/// Where the first event of a change's key is: in what `find_posts`
/// returned, or among the events the batch appends.
#[derive(Clone, Copy)]
pub(super) enum First {
    Stored(usize),
    Appended(usize),
}
