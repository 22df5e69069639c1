//! The rules of the log, run by every store inside its write transaction:
//! each channel's next `seq`, a message's deduplication on
//! `(channel, sender, client_msg_id)`, membership as of the event's place, and
//! a new channel's name. [`EventLog::append`](crate::ports::EventLog::append) calls [`apply`]; the
//! [`Sequencer`](crate::sequencer::Sequencer) decides what goes into one batch.

use std::collections::{HashMap, HashSet};

use crate::command::{Appended, Applied, Command};
use crate::id::{ChannelId, EventId, UserId};
use crate::model::{name_taken, Channel, Event, EventKind, Role};
use crate::parse::Seq;
use crate::ports::{ChannelHead, LogTx, MemberChange, PostKey};
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
    apply_batch(tx, commands).await.map_err(|error| match error.code {
        ErrorCode::Conflict => Error::unavailable(format!("the batch met another writer's commit: {}", error.message)),
        _ => error,
    })
}

async fn apply_batch(mut tx: Box<dyn LogTx + '_>, commands: &[Command]) -> Result<Applied> {
    let now = Timestamp::now();

    let mut channel_ids = Vec::new();
    let mut pairs = Vec::new();
    let mut keys = Vec::new();
    let mut names = Vec::new();
    for command in commands {
        match command {
            Command::Post { channel, sender, client_msg_id, .. } => {
                channel_ids.push(*channel);
                pairs.push((*channel, *sender));
                keys.push(PostKey { channel_id: *channel, sender_id: *sender, client_msg_id: client_msg_id.as_str() });
            }
            Command::Join { channel, user, .. } | Command::Leave { channel, user, .. } => {
                channel_ids.push(*channel);
                pairs.push((*channel, *user));
            }
            Command::Create { channel, .. } => names.extend(channel.name_key()),
        }
    }
    channel_ids.sort_unstable();
    channel_ids.dedup();
    pairs.sort_unstable();
    pairs.dedup();
    keys.sort_unstable_by_key(|k| (k.channel_id, k.sender_id, k.client_msg_id));
    keys.dedup();
    names.sort_unstable();
    names.dedup();

    let mut heads: HashMap<ChannelId, Seq> = if channel_ids.is_empty() {
        HashMap::new()
    } else {
        tx.heads(&channel_ids).await?.into_iter().map(|h| (h.id, h.last_seq)).collect()
    };
    let mut members: HashSet<(ChannelId, UserId)> =
        if pairs.is_empty() { HashSet::new() } else { tx.memberships(&pairs).await?.into_iter().collect() };
    let stored = if keys.is_empty() { Vec::new() } else { tx.find_posts(&keys).await? };
    // Name key → the channel that has it, stored before or created here.
    let mut named: HashMap<String, ChannelId> =
        if names.is_empty() { HashMap::new() } else { tx.find_named(&names).await?.into_iter().collect() };
    // The first event of each message key: stored before, or appended here.
    let mut firsts: HashMap<(ChannelId, UserId, &str), First> = HashMap::with_capacity(keys.len());
    for (i, event) in stored.iter().enumerate() {
        if let EventKind::Message { client_msg_id, .. } = &event.kind {
            firsts.insert((event.channel_id, event.sender_id, client_msg_id.as_str()), First::Stored(i));
        }
    }

    let mut batch = Batch { now, heads: &mut heads, changed: HashSet::new(), events: Vec::new() };
    let mut new_channels = Vec::new();
    let mut changes = Vec::new();
    let mut new_dms: HashMap<String, ChannelId> = HashMap::new();
    let mut results = Vec::with_capacity(commands.len());

    for command in commands {
        let result = match command {
            Command::Post { channel, sender, client_msg_id, body, reply_to_seq } => {
                let key = (*channel, *sender, client_msg_id.as_str());
                if let Some(first) = firsts.get(&key) {
                    let first = match *first {
                        First::Stored(i) => stored[i].clone(),
                        First::Appended(i) => batch.events[i].clone(),
                    };
                    Ok(Appended { channel_id: *channel, events: vec![first], created: false })
                } else {
                    let head = batch.heads.get(channel).copied();
                    match check_post(head, members.contains(&(*channel, *sender)), *reply_to_seq) {
                        Err(refused) => Err(refused),
                        Ok(()) => {
                            let kind = EventKind::Message {
                                body: body.as_str().to_owned(),
                                client_msg_id: client_msg_id.as_str().to_owned(),
                                reply_to_seq: *reply_to_seq,
                            };
                            let event = batch.append(*channel, *sender, kind);
                            firsts.insert(key, First::Appended(batch.events.len() - 1));
                            Ok(Appended { channel_id: *channel, events: vec![event], created: true })
                        }
                    }
                }
            }
            Command::Join { channel, user, actor } => {
                if !batch.heads.contains_key(channel) {
                    Err(Error::not_found("channel not found"))
                } else if members.insert((*channel, *user)) {
                    changes.push(MemberChange::Add { channel: *channel, user: *user, role: Role::Member, at: now });
                    let event = batch.append(*channel, *actor, EventKind::MemberJoined { user_id: *user });
                    Ok(Appended { channel_id: *channel, events: vec![event], created: true })
                } else {
                    Ok(Appended { channel_id: *channel, events: vec![], created: false })
                }
            }
            Command::Leave { channel, user, actor } => {
                if !batch.heads.contains_key(channel) {
                    Err(Error::not_found("channel not found"))
                } else if members.remove(&(*channel, *user)) {
                    changes.push(MemberChange::Remove { channel: *channel, user: *user });
                    let event = batch.append(*channel, *actor, EventKind::MemberLeft { user_id: *user });
                    Ok(Appended { channel_id: *channel, events: vec![event], created: true })
                } else {
                    Ok(Appended { channel_id: *channel, events: vec![], created: false })
                }
            }
            Command::Create { channel, members: first_members } => {
                let name_key = channel.name_key();
                let holder = name_key.as_ref().and_then(|key| named.get(key).copied());
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
                        named.insert(key, channel.id);
                    }
                    new_channels.push(Channel { last_seq: 0, member_count: 0, ..channel.clone() });
                    batch.heads.insert(channel.id, 0);
                    let mut events = Vec::with_capacity(first_members.len());
                    for (user, role) in first_members {
                        if members.insert((channel.id, *user)) {
                            changes.push(MemberChange::Add { channel: channel.id, user: *user, role: *role, at: now });
                            events.push(batch.append(
                                channel.id,
                                channel.created_by,
                                EventKind::MemberJoined { user_id: *user },
                            ));
                        }
                    }
                    Ok(Appended { channel_id: channel.id, events, created: true })
                }
            }
        };
        results.push(result);
    }

    let Batch { changed, events, .. } = batch;
    for channel in &new_channels {
        tx.insert_channel(channel).await?;
    }
    if !changes.is_empty() {
        tx.change_members(&changes).await?;
    }
    if !events.is_empty() {
        tx.insert_events(&events).await?;
        let heads: Vec<ChannelHead> = changed.iter().map(|id| ChannelHead { id: *id, last_seq: heads[id] }).collect();
        tx.set_heads(&heads).await?;
    }
    tx.commit().await?;
    Ok(Applied { results, events })
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

/// Where the first event of a message key is: in what `find_posts` returned,
/// or among the events the batch appends.
#[derive(Clone, Copy)]
enum First {
    Stored(usize),
    Appended(usize),
}

/// The events a batch appends, and the channel heads they advance.
struct Batch<'a> {
    now: Timestamp,
    heads: &'a mut HashMap<ChannelId, Seq>,
    changed: HashSet<ChannelId>,
    events: Vec<Event>,
}

impl Batch<'_> {
    fn append(&mut self, channel: ChannelId, sender: UserId, kind: EventKind) -> Event {
        let last = self.heads.entry(channel).or_insert(0);
        *last += 1;
        self.changed.insert(channel);
        let event = Event {
            channel_id: channel,
            seq: *last,
            id: EventId::generate(),
            sender_id: sender,
            created_at: self.now,
            kind,
        };
        self.events.push(event.clone());
        event
    }
}
