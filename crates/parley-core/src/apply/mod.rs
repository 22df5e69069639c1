//! The rules of the log, run by every store inside its write transaction:
//! each channel's next `seq`, deduplication of every client's change on
//! `(channel, sender, client_msg_id)`, membership and roles as of the
//! event's place, a new channel's name, and what a change may do to a
//! message (in [`change`]). [`EventLog::append`](crate::ports::EventLog::append)
//! calls [`apply`]; the [`Sequencer`](crate::sequencer::Sequencer) decides
//! what goes into one batch.

mod change;

pub use change::{check_target, MAX_EMOJI, MAX_PINS};

use std::collections::{HashMap, HashSet};

use crate::command::{Appended, Applied, Command, Stamp};
use crate::id::{ChannelId, EventId, UserId};
use crate::mentions::mentions;
use crate::model::{name_taken, Channel, Event, EventKind, Mentions, MessageState, Role};
use crate::parse::Seq;
use crate::ports::{
    ChannelChange, ChannelHead, HeadState, LogTx, MemberChange, MessageChange, PostKey, Reaction, Target,
};
use crate::time::Timestamp;
use crate::{Error, ErrorCode, Result};

/// Applies `commands` in order in `tx`, then commits it: the rules of the log,
/// which every [`EventLog::append`](crate::ports::EventLog::append) runs over its backend's transaction. The
/// outer error fails the whole batch (nothing was stored); an inner error
/// refuses one command.
///
/// A command's own conflicts (a taken channel name) are refused one by one,
/// as they are found. A unique index that fails the whole batch even so met
/// another writer's commit that nothing here saw (a zombie partition owner),
/// which the same batch tried again will see: that is `unavailable`, never
/// `conflict`, so that a caller can tell a batch worth retrying from a
/// command refused for good.
pub async fn apply(tx: Box<dyn LogTx + '_>, commands: &[Command]) -> Result<Applied> {
    apply_stamped(tx, commands, &[]).await
}

/// [`apply`], with each command's events stored at the time and under the
/// ids its [`Stamp`] gives (`stamps[i]` for `commands[i]`) instead of now
/// and new ones: how `parley import` replays a log as it was. Commands
/// without a stamp are stored now.
pub async fn apply_stamped(tx: Box<dyn LogTx + '_>, commands: &[Command], stamps: &[Stamp]) -> Result<Applied> {
    apply_batch(tx, commands, stamps).await.map_err(|error| match error.code {
        ErrorCode::Conflict => Error::unavailable(format!("the batch met another writer's commit: {}", error.message)),
        _ => error,
    })
}

/// Whether a message may be appended to a channel whose last `seq` is
/// `head` (`None`: no such channel), by a sender who is a `member` or not,
/// as a reply to `reply_to_seq`.
pub fn check_post(head: Option<Seq>, member: bool, reply_to_seq: Option<Seq>) -> Result<()> {
    match head {
        None => Err(Error::not_found("channel not found")),
        Some(_) if !member => Err(Error::forbidden("you are not a member of this channel")),
        Some(last) if reply_to_seq.is_some_and(|r| r < 1 || r > last) => {
            Err(Error::bad_request("reply_to_seq is not an event of this channel"))
        }
        Some(_) => Ok(()),
    }
}

/// Every key of a batch, gathered before anything is read, so that each
/// read takes the whole batch's keys at once.
#[derive(Default)]
struct Keys<'c> {
    channels: Vec<ChannelId>,
    pairs: Vec<(ChannelId, UserId)>,
    posts: Vec<PostKey<'c>>,
    names: Vec<String>,
    /// The usernames bodies mention, and where: the users are read first,
    /// then their memberships with the others.
    usernames: Vec<String>,
    mentioned: Vec<(ChannelId, String)>,
    targets: Vec<(ChannelId, Seq)>,
    reacted: Vec<(ChannelId, Seq)>,
    pinned: Vec<ChannelId>,
    /// Who joins or is banned where: the bans to read.
    bans: Vec<(ChannelId, UserId)>,
}

impl<'c> Keys<'c> {
    fn of(commands: &'c [Command]) -> Keys<'c> {
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
    fn mentions(&mut self, channel: ChannelId, body: &str, broadcast: &[UserId]) {
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
    fn with_mentioned(&mut self, users: &HashMap<String, UserId>) {
        if self.mentioned.is_empty() {
            return;
        }
        self.pairs.extend(self.mentioned.iter().filter_map(|(c, name)| users.get(name).map(|u| (*c, *u))));
        self.pairs.sort_unstable();
        self.pairs.dedup();
    }
}

/// What the batch knows, read once and kept current as each command applies.
struct Known<'c> {
    heads: HashMap<ChannelId, Seq>,
    states: HashMap<ChannelId, HeadState>,
    /// Channels deleted by this batch: gone for the commands after.
    deleted: HashSet<ChannelId>,
    banned: HashSet<(ChannelId, UserId)>,
    /// DM posts whose sender someone in the DM blocks.
    blocked: HashSet<(ChannelId, UserId)>,
    members: HashMap<(ChannelId, UserId), Role>,
    /// Each stored change's first event: read before, or appended here.
    firsts: HashMap<(ChannelId, UserId, &'c str), First>,
    stored: Vec<Event>,
    named: HashMap<String, ChannelId>,
    /// The users mentioned by name, by username.
    users: HashMap<String, UserId>,
    targets: HashMap<(ChannelId, Seq), Target>,
    reactions: HashSet<(ChannelId, Seq, String, UserId)>,
    /// How many reacted with each emoji of a message: its distinct emoji.
    emoji: HashMap<(ChannelId, Seq), HashMap<String, u32>>,
    pins: HashMap<ChannelId, u32>,
}

impl<'c> Known<'c> {
    async fn read(tx: &mut (dyn LogTx + '_), keys: &Keys<'c>, users: HashMap<String, UserId>) -> Result<Known<'c>> {
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
    fn head(&self, channel: ChannelId) -> Option<Seq> {
        self.heads.get(&channel).copied().filter(|_| !self.deleted.contains(&channel))
    }

    fn state(&self, channel: ChannelId) -> HeadState {
        self.states.get(&channel).copied().unwrap_or_default()
    }

    /// What `body` by `author` in `channel` mentions, and whom it tells:
    /// the members it names and those its `broadcast` reaches, never the
    /// author, each once.
    fn mentions(
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
    fn first(&self, key: (ChannelId, UserId, &str), batch: &Batch) -> Option<Event> {
        self.firsts.get(&key).map(|first| match *first {
            First::Stored(i) => self.stored[i].clone(),
            First::Appended(i) => batch.events[i].clone(),
        })
    }
}

async fn apply_batch(mut tx: Box<dyn LogTx + '_>, commands: &[Command], stamps: &[Stamp]) -> Result<Applied> {
    let mut keys = Keys::of(commands);
    let users: HashMap<String, UserId> = if keys.usernames.is_empty() {
        HashMap::new()
    } else {
        tx.users_named(&keys.usernames).await?.into_iter().collect()
    };
    keys.with_mentioned(&users);
    let mut known = Known::read(tx.as_mut(), &keys, users).await?;
    // Messages are kept as targets only when a change or a reply of this
    // batch may point at them: a batch of plain messages keeps none.
    let tracks_targets = !keys.targets.is_empty();
    let now = Timestamp::now();
    let mut batch = Batch { now, ids: Vec::new(), changed: HashSet::new(), events: Vec::new() };
    let mut new_channels = Vec::new();
    let mut members = Vec::new();
    let mut messages = Vec::new();
    let mut channel_changes = Vec::new();
    let mut new_dms: HashMap<String, ChannelId> = HashMap::new();
    let mut results = Vec::with_capacity(commands.len());

    for (i, command) in commands.iter().enumerate() {
        match stamps.get(i) {
            Some(stamp) => (batch.now, batch.ids) = (stamp.at, stamp.ids.iter().rev().copied().collect()),
            None => (batch.now, batch.ids) = (now, Vec::new()),
        }
        let result = match command {
            Command::Post { channel, sender, client_msg_id, body, reply_to_seq, broadcast } => {
                let key = (*channel, *sender, client_msg_id.as_str());
                match known.first(key, &batch) {
                    Some(first) if first.kind.type_name() == "message" => {
                        Ok(Appended { channel_id: *channel, events: vec![first], created: false })
                    }
                    Some(_) => Err(change::key_reused()),
                    None => {
                        let head = known.head(*channel);
                        let member = known.members.contains_key(&(*channel, *sender));
                        let archived = known.state(*channel).archived;
                        let blocked = known.blocked.contains(&(*channel, *sender));
                        let allowed = check_post(head, member, *reply_to_seq)
                            .and_then(|()| writable(archived))
                            .and_then(|()| reachable(blocked));
                        allowed.and_then(|()| {
                            let root = change::thread_root(&known, *channel, *reply_to_seq)?;
                            let (mentions, told) = known.mentions(*channel, *sender, body.as_str(), broadcast);
                            let kind = EventKind::Message {
                                body: body.as_str().to_owned(),
                                client_msg_id: client_msg_id.as_str().to_owned(),
                                reply_to_seq: root,
                                mentions,
                                state: MessageState::default(),
                            };
                            let event = batch.append(&mut known.heads, *channel, *sender, kind);
                            if !told.is_empty() {
                                let (seq, id) = (event.seq, event.id);
                                messages.push(MessageChange::Mentioned { channel: *channel, seq, id, users: told });
                            }
                            known.firsts.insert(key, First::Appended(batch.events.len() - 1));
                            if tracks_targets {
                                known.targets.insert(
                                    (*channel, event.seq),
                                    Target {
                                        channel_id: *channel,
                                        seq: event.seq,
                                        id: event.id,
                                        sender_id: *sender,
                                        body: body.as_str().to_owned(),
                                        reply_to_seq: root,
                                        deleted: false,
                                        pinned_by: None,
                                    },
                                );
                            }
                            if let Some(root) = root {
                                let at = Some(batch.now);
                                let by_seq = event.seq;
                                messages.push(MessageChange::Replied { channel: *channel, root, delta: 1, at, by_seq });
                            }
                            Ok(Appended { channel_id: *channel, events: vec![event], created: true })
                        })
                    }
                }
            }
            Command::Join { channel, user, actor } => {
                if known.head(*channel).is_none() {
                    Err(Error::not_found("channel not found"))
                } else if known.members.contains_key(&(*channel, *user)) {
                    Ok(Appended { channel_id: *channel, events: vec![], created: false })
                } else if known.banned.contains(&(*channel, *user)) {
                    Err(Error::forbidden("you are banned from this channel"))
                } else if let Err(archived) = writable(known.state(*channel).archived) {
                    Err(archived)
                } else if let std::collections::hash_map::Entry::Vacant(entry) = known.members.entry((*channel, *user))
                {
                    entry.insert(Role::Member);
                    let kind = EventKind::MemberJoined { user_id: *user };
                    let event = batch.append(&mut known.heads, *channel, *actor, kind);
                    members.push(MemberChange::Add {
                        channel: *channel,
                        user: *user,
                        role: Role::Member,
                        at: batch.now,
                        read_through: event.seq,
                    });
                    Ok(Appended { channel_id: *channel, events: vec![event], created: true })
                } else {
                    Ok(Appended { channel_id: *channel, events: vec![], created: false })
                }
            }
            Command::Leave { channel, user, actor } => {
                if known.head(*channel).is_none() {
                    Err(Error::not_found("channel not found"))
                } else if known.members.remove(&(*channel, *user)).is_some() {
                    members.push(MemberChange::Remove { channel: *channel, user: *user });
                    let kind = EventKind::MemberLeft { user_id: *user };
                    let event = batch.append(&mut known.heads, *channel, *actor, kind);
                    Ok(Appended { channel_id: *channel, events: vec![event], created: true })
                } else {
                    Ok(Appended { channel_id: *channel, events: vec![], created: false })
                }
            }
            Command::Create { channel, members: first_members } => {
                let name_key = channel.name_key();
                let holder = name_key.as_ref().and_then(|key| known.named.get(key).copied());
                let existing = match &channel.dm_key {
                    Some(key) => match new_dms.get(key) {
                        Some(id) => Some(*id),
                        None => tx.find_dm(key).await?,
                    },
                    None => holder.filter(|id| *id == channel.id),
                };
                if let Some(id) = existing {
                    Ok(Appended { channel_id: id, events: vec![], created: false })
                } else if holder.is_some() {
                    Err(name_taken(&channel.name))
                } else {
                    if let Some(key) = &channel.dm_key {
                        new_dms.insert(key.clone(), channel.id);
                    }
                    if let Some(key) = name_key {
                        known.named.insert(key, channel.id);
                    }
                    new_channels.push(Channel { last_seq: 0, member_count: 0, ..channel.clone() });
                    known.heads.insert(channel.id, 0);
                    let mut events = Vec::with_capacity(first_members.len());
                    for (user, role) in first_members {
                        if known.members.insert((channel.id, *user), *role).is_none() {
                            let kind = EventKind::MemberJoined { user_id: *user };
                            let event = batch.append(&mut known.heads, channel.id, channel.created_by, kind);
                            let (at, read_through) = (batch.now, event.seq);
                            let change =
                                MemberChange::Add { channel: channel.id, user: *user, role: *role, at, read_through };
                            members.push(change);
                            events.push(event);
                        }
                    }
                    Ok(Appended { channel_id: channel.id, events, created: true })
                }
            }
            Command::Change { channel, actor, client_msg_id, change, server_admin } => {
                let key = (*channel, *actor, client_msg_id.as_str());
                match known.first(key, &batch) {
                    Some(first) if first.kind.type_name() == change::event_type(change) => {
                        Ok(Appended { channel_id: *channel, events: vec![first], created: false })
                    }
                    Some(_) => Err(change::key_reused()),
                    None => {
                        let mut step = change::Step {
                            known: &mut known,
                            batch: &mut batch,
                            members: &mut members,
                            channels: &mut channel_changes,
                            server_admin: *server_admin,
                        };
                        let result = step.apply(*channel, *actor, client_msg_id.as_str(), change, &mut messages);
                        if let Ok(Appended { created: true, .. }) = &result {
                            known.firsts.insert(key, First::Appended(batch.events.len() - 1));
                        }
                        result
                    }
                }
            }
        };
        results.push(result);
    }

    let Batch { changed, events, .. } = batch;
    // Changes to channels that stood before the batch first (a rename frees
    // a name a new one may take), then the new channels with theirs.
    let (of_new, of_old): (Vec<ChannelChange>, Vec<ChannelChange>) =
        channel_changes.into_iter().partition(|c| new_channels.iter().any(|n| n.id == c.channel()));
    if !of_old.is_empty() {
        tx.change_channels(&of_old).await?;
    }
    for channel in &new_channels {
        tx.insert_channel(channel).await?;
    }
    if !of_new.is_empty() {
        tx.change_channels(&of_new).await?;
    }
    if !members.is_empty() {
        tx.change_members(&members).await?;
    }
    if !events.is_empty() {
        tx.insert_events(&events).await?;
        let heads: Vec<ChannelHead> = changed
            .iter()
            .map(|id| ChannelHead { id: *id, last_seq: known.heads[id], state: HeadState::default() })
            .collect();
        tx.set_heads(&heads).await?;
    }
    if !messages.is_empty() {
        tx.change_messages(&messages).await?;
    }
    tx.commit().await?;
    Ok(Applied { results, events })
}

/// A channel takes no message, change or join while archived.
fn writable(archived: bool) -> Result<()> {
    match archived {
        true => Err(Error::forbidden("this channel is archived: it is read-only")),
        false => Ok(()),
    }
}

/// A message into a DM whose other person blocks the sender is refused,
/// without saying who blocks whom.
fn reachable(blocked: bool) -> Result<()> {
    match blocked {
        true => Err(Error::forbidden("you cannot send messages in this conversation")),
        false => Ok(()),
    }
}

/// Where the first event of a change's key is: in what `find_posts`
/// returned, or among the events the batch appends.
#[derive(Clone, Copy)]
enum First {
    Stored(usize),
    Appended(usize),
}

/// The events a batch appends, and the channels whose heads they advance.
struct Batch {
    /// The time of the command being applied.
    now: Timestamp,
    /// The ids its next events take, the next last (none: new ones).
    ids: Vec<EventId>,
    changed: HashSet<ChannelId>,
    events: Vec<Event>,
}

impl Batch {
    fn append(
        &mut self,
        heads: &mut HashMap<ChannelId, Seq>,
        channel: ChannelId,
        sender: UserId,
        kind: EventKind,
    ) -> Event {
        let last = heads.entry(channel).or_insert(0);
        *last += 1;
        self.changed.insert(channel);
        let event = Event {
            channel_id: channel,
            seq: *last,
            id: self.ids.pop().unwrap_or_else(EventId::generate),
            sender_id: sender,
            created_at: self.now,
            kind,
        };
        self.events.push(event.clone());
        event
    }
}
