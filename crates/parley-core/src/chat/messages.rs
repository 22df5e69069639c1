//! Changes to messages (edits, deletes, reactions, pins) and members' roles,
//! each a command of the channel's log like a message; and the reads that
//! serve a message's state: a thread, a channel's pins, reactions with `me`.

use std::collections::HashMap;

use super::{Chat, EventPage};
use crate::command::{Change, Command};
use crate::fulltext::SearchQuery;
use crate::id::{ChannelId, EventId, UserId};
use crate::model::{Channel, Event, EventKind, Reactions, User};
use crate::parse::{ClientMsgId, PageLimit, Seq};
use crate::ports::Search;
use crate::writer::{Answer, Written};
use crate::{Error, ErrorCode, Result};

/// A page of my mentions: each message with the channel it is in, newest
/// first; `has_more`: older ones follow.
#[derive(Debug, Clone)]
pub struct MentionPage {
    pub mentions: Vec<Placed>,
    pub has_more: bool,
}

/// A message with the channel it is in (and a DM's people, who name it).
#[derive(Debug, Clone)]
pub struct Placed {
    pub channel: Channel,
    pub people: Option<Vec<User>>,
    pub event: Event,
}

/// A page of search results, newest first; `has_more`: older ones follow.
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub results: Vec<Found>,
    pub has_more: bool,
}

/// A message a search found, and where its text matches (character ranges).
#[derive(Debug, Clone)]
pub struct Found {
    pub placed: Placed,
    pub highlights: Vec<(usize, usize)>,
}

/// A thread: its root message and a page of its replies.
#[derive(Debug, Clone)]
pub struct Thread {
    pub root: Event,
    pub replies: EventPage,
}

impl Chat {
    /// Makes `user`'s `change` in channel `id`, answered as `answer` asks.
    /// `Written::Stored` with no event: it changed nothing (a reaction that
    /// was there already), or it is a retry whose event is given.
    /// A change by `user`, who moderates every channel when `server_admin`.
    pub async fn change(
        &self,
        user: UserId,
        server_admin: bool,
        id: ChannelId,
        client_msg_id: ClientMsgId,
        mut change: Change,
        answer: Answer,
    ) -> Result<Written> {
        if let Change::Edit { body, broadcast, .. } = &mut change {
            *broadcast = self.broadcast(user, id, body.as_str()).await?;
        }
        let audit = self.audited(user, id, &change).await?;
        let command = Command::Change { channel: id, actor: user, client_msg_id, change, server_admin };
        let written = match self.writer.write(command, answer).await {
            // Not a member: may they even know the channel is there?
            Err(error) if error.code == ErrorCode::Forbidden => {
                self.visible(user, id).await?;
                Err(error)
            }
            written => written,
        }?;
        let changed = match &written {
            Written::Stored(appended) => appended.created,
            Written::Accepted => true,
        };
        if let (true, Some((action, target_user, detail))) = (changed, audit) {
            self.audit(user, action, target_user, Some(id), detail).await?;
        }
        Ok(written)
    }

    /// The thread of message `root`: the root, and its replies after `after`.
    pub async fn thread(&self, user: UserId, id: ChannelId, root: Seq, after: Seq, limit: PageLimit) -> Result<Thread> {
        self.visible(user, id).await?;
        let not_found = || Error::not_found("message not found");
        let mut root = match self.store.events_after(id, root.saturating_sub(1), 1).await?.pop() {
            Some(event) if event.seq == root && matches!(event.kind, EventKind::Message { .. }) => event,
            _ => return Err(not_found()),
        };
        let mut events = self.store.thread(id, root.seq, after, limit.get() + 1).await?;
        let has_more = events.len() > limit.get() as usize;
        events.truncate(limit.get() as usize);
        self.with_reactions(id, Some(user), std::slice::from_mut(&mut root)).await?;
        self.with_reactions(id, Some(user), &mut events).await?;
        Ok(Thread { root, replies: EventPage { events, has_more } })
    }

    /// The pinned messages of channel `id`, the latest pinned first.
    pub async fn pins(&self, user: UserId, id: ChannelId) -> Result<Vec<Event>> {
        self.visible(user, id).await?;
        let mut pins = self.store.pins(id).await?;
        self.with_reactions(id, Some(user), &mut pins).await?;
        Ok(pins)
    }

    /// The messages that mention `user`, newest first, in the channels they
    /// are a member of now: older than message `before` when given.
    pub async fn mentions(&self, user: UserId, before: Option<EventId>, limit: PageLimit) -> Result<MentionPage> {
        let mut events = self.store.mentions(user, before, limit.get() + 1).await?;
        let has_more = events.len() > limit.get() as usize;
        events.truncate(limit.get() as usize);
        let mentions = self.placed(user, events).await?;
        Ok(MentionPage { mentions, has_more })
    }

    /// The messages of `user`'s channels that match the search `q` (see
    /// [`crate::fulltext`]), newest first, older than the message at
    /// `before` (its channel and `seq`) when given, each with where it matches. `in:#channel` names one of theirs
    /// (another, or a channel of that name they are not in, finds nothing);
    /// `from:@someone` unknown finds nothing.
    pub async fn search(
        &self,
        user: UserId,
        q: &str,
        before: Option<(ChannelId, Seq)>,
        limit: PageLimit,
    ) -> Result<SearchPage> {
        let query = SearchQuery::parse(q)?;
        let nothing = SearchPage { results: Vec::new(), has_more: false };
        let channel = match &query.channel {
            None => None,
            Some(name) => match self.store.channel_named(name).await? {
                Some(named) if self.store.role(named.id, user).await?.is_some() => Some(named.id),
                _ => return Ok(nothing),
            },
        };
        let sender = match &query.from {
            None => None,
            Some(username) => match self.store.credentials(username).await? {
                Some((found, _)) => Some(found.id),
                None => return Ok(nothing),
            },
        };
        let asked = Search { user, query: &query, channel, sender, before, limit: limit.get() + 1 };
        let mut events = self.store.search(&asked).await?;
        let has_more = events.len() > limit.get() as usize;
        events.truncate(limit.get() as usize);
        let results = self
            .placed(user, events)
            .await?
            .into_iter()
            .map(|placed| {
                let highlights = match &placed.event.kind {
                    EventKind::Message { body, .. } => query.highlights(body),
                    _ => Vec::new(),
                };
                Found { placed, highlights }
            })
            .collect();
        Ok(SearchPage { results, has_more })
    }

    /// `events` (of several channels, `user`'s) with their reactions, each
    /// with its channel, in the order given: a read of each channel, not of
    /// every channel of `user`'s with its counts.
    async fn placed(&self, user: UserId, events: Vec<Event>) -> Result<Vec<Placed>> {
        let mut by_channel: HashMap<ChannelId, Vec<Event>> = HashMap::new();
        let order: Vec<(ChannelId, EventId)> = events.iter().map(|e| (e.channel_id, e.id)).collect();
        for event in events {
            by_channel.entry(event.channel_id).or_default().push(event);
        }
        let mut channels: HashMap<ChannelId, (Channel, Option<Vec<User>>)> = HashMap::new();
        for (id, events) in &mut by_channel {
            self.with_reactions(*id, Some(user), events).await?;
            if let Some(channel) = self.store.channel(*id).await? {
                let people = self.dm_people(&channel).await?;
                channels.insert(*id, (channel, people));
            }
        }
        let mut placed = Vec::with_capacity(order.len());
        for (channel, id) in order {
            let (Some((channel, people)), Some(list)) = (channels.get(&channel), by_channel.get_mut(&channel)) else {
                continue;
            };
            if let Some(at) = list.iter().position(|e| e.id == id) {
                placed.push(Placed { channel: channel.clone(), people: people.clone(), event: list.swap_remove(at) });
            }
        }
        Ok(placed)
    }

    /// Fills in the reactions of the messages among `events`, in the order
    /// each emoji was first added, with `me` for `reader` when known.
    pub(super) async fn with_reactions(
        &self,
        channel: ChannelId,
        reader: Option<UserId>,
        events: &mut [Event],
    ) -> Result<()> {
        let seqs: Vec<Seq> = events
            .iter()
            .filter(|e| matches!(&e.kind, EventKind::Message { state, .. } if !state.deleted))
            .map(|e| e.seq)
            .collect();
        if seqs.is_empty() {
            return Ok(());
        }
        let mut on: HashMap<Seq, Vec<Reactions>> = HashMap::new();
        for reaction in self.store.reactions(channel, &seqs).await? {
            let mine = reader.map(|reader| reader == reaction.user_id);
            let list = on.entry(reaction.seq).or_default();
            match list.iter_mut().find(|r| r.emoji == reaction.emoji) {
                Some(r) => {
                    r.count += 1;
                    r.me = r.me.zip(mine).map(|(a, b)| a || b);
                    if r.users.len() < Reactions::USERS_SHOWN {
                        r.users.push(reaction.user_id);
                    }
                }
                None => {
                    list.push(Reactions { emoji: reaction.emoji, count: 1, me: mine, users: vec![reaction.user_id] })
                }
            }
        }
        for event in events {
            if let (EventKind::Message { state, .. }, Some(reactions)) = (&mut event.kind, on.remove(&event.seq)) {
                state.reactions = reactions;
            }
        }
        Ok(())
    }
}
