//! The rules of the log, run by every store inside its write transaction:
//! each channel's next `seq`, deduplication of every client's change on
//! `(channel, sender, client_msg_id)`, membership and roles as of the
//! event's place, a new channel's name, and what a change may do to a
//! message (in [`change`]). [`EventLog::append`](crate::ports::EventLog::append)
//! calls [`apply`]; the [`Sequencer`](crate::sequencer::Sequencer) decides
//! what goes into one batch.

mod change;
mod known;

pub use change::{check_target, MAX_EMOJI, MAX_PINS};
use known::{First, Keys, Known};

use std::collections::{HashMap, HashSet};

use crate::command::{Appended, Applied, Command, Stamp};
use crate::id::{ChannelId, EventId, UserId};
use crate::model::{name_taken, Channel, Event, EventKind, MessageState, Role};
use crate::parse::Seq;
use crate::ports::{ChannelChange, ChannelHead, HeadState, LogTx, MemberChange, MessageChange, Target};
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
