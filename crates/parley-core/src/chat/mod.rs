//! The rules of the product over the ports: who may see a channel, join it,
//! post in it, read it. REST and WebSocket both go through here.
//!
//! A channel the caller may not see is `not_found`, never `forbidden`, so
//! that its existence does not leak. `forbidden` is kept for channels the
//! caller can see but may not act on (posting in a public channel they have
//! not joined, leaving a DM).

mod admin;
mod bots;
mod follow;
mod invites;
mod messages;
mod people;

pub use messages::{Found, MentionPage, Placed, SearchPage, Thread};

use std::sync::Arc;

use crate::command::Command;
use crate::directory::DirectoryPage;
use crate::id::{ChannelId, UserId};
use crate::mentions::mentions;
use crate::model::{
    name_taken, Channel, ChannelKind, Event, Member, MyChannel, Notify, Preferences, ReadMarker, Role, User,
};
use crate::parse::{Body, ChannelName, ClientMsgId, Page, Seq, Topic};
use crate::ports::{PostKey, Store};
use crate::presence::Online;
use crate::time::Timestamp;
use crate::writer::{Answer, Writer, Written};
use crate::{Error, ErrorCode, Result};

/// The most other people a DM can have.
pub const MAX_DM_OTHERS: usize = 8;

/// In a channel of more members than this, only its owner and admins may
/// mention `@channel` or `@here`.
pub const BROADCAST_MEMBERS: i64 = 50;

#[derive(Clone)]
pub struct Chat {
    store: Arc<dyn Store>,
    writer: Arc<dyn Writer>,
    /// Who is online, for `@here`; without it `@here` reaches nobody.
    online: Option<Arc<dyn Online>>,
}

/// What became of a message.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant, reason = "one answer per send, never held in bulk")]
pub enum Submitted {
    /// Stored (embedded mode): the event, with its `seq`.
    Stored(Posted),
    /// In the command log (cluster mode): durable, its event follows on the feed.
    Accepted,
}

impl Submitted {
    /// The message as stored, when it already is (embedded mode).
    pub fn stored(self) -> Option<Posted> {
        match self {
            Submitted::Stored(posted) => Some(posted),
            Submitted::Accepted => None,
        }
    }
}

/// One stored message, and whether this call stored it (false for a retry).
#[derive(Debug, Clone)]
pub struct Posted {
    pub event: Event,
    pub created: bool,
}

/// A page of a channel's log.
#[derive(Debug, Clone)]
pub struct EventPage {
    pub events: Vec<Event>,
    pub has_more: bool,
}

/// A page of the public channel directory; `has_more`: names follow the last.
#[derive(Debug, Clone)]
pub struct ChannelPage {
    pub channels: Vec<Channel>,
    pub has_more: bool,
}

impl Chat {
    /// `writer` appends every change: the Sequencer (embedded mode) or the
    /// command log (cluster mode).
    pub fn new(store: Arc<dyn Store>, writer: Arc<dyn Writer>) -> Self {
        Chat { store, writer, online: None }
    }

    /// `@here` reaches the members `online` says are online.
    pub fn seeing(self, online: Arc<dyn Online>) -> Chat {
        Chat { online: Some(online), ..self }
    }

    /// The store answers: readiness (`/readyz`).
    pub async fn ping(&self) -> Result<()> {
        self.store.ping().await
    }

    /// The channel if `user` may see it (a member, or anyone for a public one),
    /// with `user`'s role in it.
    pub async fn visible(&self, user: UserId, id: ChannelId) -> Result<(Channel, Option<Role>)> {
        let not_found = || Error::not_found("channel not found");
        let channel = self.store.channel(id).await?.ok_or_else(not_found)?;
        let role = self.store.role(id, user).await?;
        if role.is_none() && channel.kind != ChannelKind::Public {
            return Err(not_found());
        }
        Ok((channel, role))
    }

    async fn as_member(&self, user: UserId, id: ChannelId) -> Result<(Channel, Role)> {
        match self.visible(user, id).await? {
            (channel, Some(role)) => Ok((channel, role)),
            (_, None) => Err(Error::forbidden("join this channel first")),
        }
    }

    async fn load(&self, id: ChannelId) -> Result<Channel> {
        self.store.channel(id).await?.ok_or_else(|| Error::internal(format!("channel {id} vanished after its append")))
    }

    /// Appends a change that is not a message and waits until it is stored:
    /// `Ok(None)` when the writer cannot tell within
    /// [`STORED_WITHIN`](crate::writer::STORED_WITHIN)
    /// (cluster mode), and the caller looks in the store.
    async fn stored(&self, command: Command) -> Result<Option<ChannelId>> {
        Ok(match self.writer.write(command, Answer::Stored).await? {
            Written::Stored(appended) => Some(appended.channel_id),
            Written::Accepted => None,
        })
    }

    pub async fn create_channel(
        &self,
        user: UserId,
        name: ChannelName,
        kind: ChannelKind,
        topic: Option<Topic>,
    ) -> Result<Channel> {
        if kind == ChannelKind::Direct {
            return Err(Error::bad_request("kind must be public or private; DMs are opened with POST /api/v1/dms"));
        }
        // The Sequencer refuses a taken name as of the command's place in the
        // log; asking first refuses at once the common case, before the
        // command is queued (in cluster mode: before it is in the log).
        if self.store.channel_named(name.as_str()).await?.is_some() {
            return Err(name_taken(name.as_str()));
        }
        let channel = Channel {
            id: ChannelId::generate(),
            kind,
            name: name.as_str().to_owned(),
            topic: topic.map(Topic::into_string).unwrap_or_default(),
            created_at: Timestamp::now(),
            created_by: user,
            dm_key: None,
            last_seq: 0,
            member_count: 0,
            archived_at: None,
        };
        let id = channel.id;
        let command = Command::Create { channel, members: vec![(user, Role::Owner)] };
        match self.stored(command).await? {
            Some(id) => self.load(id).await,
            // Not stored in time (cluster mode). Another node's new channel
            // may have taken the name between the check above and the
            // processor, which then refuses this one for good: whoever holds
            // the name now is the answer (a rename or a delete since, which
            // would free it, is too rare to wait for).
            None => match self.store.channel_named(name.as_str()).await? {
                Some(channel) if channel.id == id => Ok(channel),
                Some(_) => Err(name_taken(name.as_str())),
                None => Err(Error::unavailable("the new channel is queued and appears in your channels once stored")),
            },
        }
    }

    /// Opens the direct channel of exactly `others` plus `user`: created on
    /// first use, the same one every later time.
    pub async fn open_dm(&self, user: UserId, others: &[UserId]) -> Result<Channel> {
        let mut people: Vec<UserId> = others.iter().copied().filter(|id| *id != user).collect();
        people.sort_unstable();
        people.dedup();
        if people.is_empty() || people.len() > MAX_DM_OTHERS {
            return Err(Error::bad_request("a DM needs 1 to 8 other people"));
        }
        for id in &people {
            if self.store.user(*id).await?.is_none() {
                return Err(Error::not_found(format!("user {id} not found")));
            }
        }
        people.push(user);
        people.sort_unstable();
        let dm_key = people.iter().map(UserId::to_string).collect::<Vec<_>>().join(",");
        if let Some(existing) = self.store.dm(&dm_key).await? {
            return Ok(existing);
        }
        let channel = Channel {
            id: ChannelId::generate(),
            kind: ChannelKind::Direct,
            name: String::new(),
            topic: String::new(),
            created_at: Timestamp::now(),
            created_by: user,
            dm_key: Some(dm_key.clone()),
            last_seq: 0,
            member_count: 0,
            archived_at: None,
        };
        let members = people.iter().map(|id| (*id, Role::Member)).collect();
        match self.stored(Command::Create { channel, members }).await? {
            Some(id) => self.load(id).await,
            // Opened by someone else meanwhile (their channel is the one), or
            // not stored yet: opening it again is harmless.
            None => {
                self.store.dm(&dm_key).await?.ok_or_else(|| Error::unavailable("the DM is not open yet: try again"))
            }
        }
    }

    /// Joins a public channel; joining one I am in already is not an error.
    pub async fn join(&self, user: UserId, id: ChannelId) -> Result<Channel> {
        let (channel, role) = self.visible(user, id).await?;
        if role.is_some() {
            return Ok(channel);
        }
        self.add_member(id, user, user).await
    }

    /// Appends `user`'s join, made by `actor`, and answers with the channel
    /// once they are in it.
    async fn add_member(&self, id: ChannelId, user: UserId, actor: UserId) -> Result<Channel> {
        let command = Command::Join { channel: id, user, actor };
        if self.stored(command).await?.is_none() && self.store.role(id, user).await?.is_none() {
            return Err(Error::unavailable("the join is queued: try again"));
        }
        self.load(id).await
    }

    /// Leaves a channel; leaving one I am not in is not an error. DMs cannot be left.
    pub async fn leave(&self, user: UserId, id: ChannelId) -> Result<()> {
        let (channel, role) = self.visible(user, id).await?;
        if channel.kind == ChannelKind::Direct {
            return Err(Error::forbidden("a direct channel cannot be left"));
        }
        if role.is_some() {
            let command = Command::Leave { channel: id, user, actor: user };
            if self.stored(command).await?.is_none() && self.store.role(id, user).await?.is_some() {
                return Err(Error::unavailable("the leave is queued: try again"));
            }
        }
        Ok(())
    }

    pub async fn members(&self, user: UserId, id: ChannelId) -> Result<Vec<Member>> {
        self.visible(user, id).await?;
        self.store.members(id).await
    }

    /// The people of a direct channel, shown in place of its name.
    pub async fn dm_people(&self, channel: &Channel) -> Result<Option<Vec<User>>> {
        if channel.kind != ChannelKind::Direct {
            return Ok(None);
        }
        Ok(Some(self.store.members(channel.id).await?.into_iter().map(|m| m.user).collect()))
    }

    pub async fn my_channels(&self, user: UserId) -> Result<Vec<MyChannel>> {
        self.store.my_channels(user).await
    }

    pub async fn my_channel(&self, user: UserId, id: ChannelId) -> Result<Option<MyChannel>> {
        self.store.my_channel(user, id).await
    }

    /// A page of the directory; of every channel but DMs only for an admin.
    pub async fn directory(&self, user: &User, page: &DirectoryPage) -> Result<ChannelPage> {
        if page.every() {
            admin::as_admin(user)?;
        }
        let mut channels = self.store.directory(page, page.limit() + 1).await?;
        let has_more = channels.len() > page.limit() as usize;
        channels.truncate(page.limit() as usize);
        Ok(ChannelPage { channels, has_more })
    }

    /// Posts a message, answered as `answer` asks: once stored, or (cluster
    /// mode, a WebSocket `ack`) `Accepted` once durable in the command log.
    /// The rules of the log check membership where the message lands, so an
    /// embedded send reads nothing first; only a refusal asks the store
    /// whether the caller may even know the channel is there.
    pub async fn post(
        &self,
        user: UserId,
        id: ChannelId,
        client_msg_id: ClientMsgId,
        body: Body,
        reply_to_seq: Option<Seq>,
        answer: Answer,
    ) -> Result<Submitted> {
        let broadcast = self.broadcast(user, id, body.as_str()).await?;
        let command = Command::Post { channel: id, sender: user, client_msg_id, body, reply_to_seq, broadcast };
        let written = match self.writer.write(command, answer).await {
            Ok(written) => written,
            Err(error) if error.code == ErrorCode::Forbidden => {
                self.visible(user, id).await?;
                return Err(error);
            }
            Err(error) => return Err(error),
        };
        let Written::Stored(appended) = written else { return Ok(Submitted::Accepted) };
        let event = appended.events.into_iter().next().ok_or_else(|| Error::internal("a post appended no event"))?;
        Ok(Submitted::Stored(Posted { event, created: appended.created }))
    }

    /// Whom `body`'s `@channel` (every other member) or `@here` (those
    /// online) reaches in channel `id` when `user` sends it; nobody when it
    /// says neither, which costs no read. In a channel of more than
    /// [`BROADCAST_MEMBERS`] members, only its owner and admins may.
    pub(super) async fn broadcast(&self, user: UserId, id: ChannelId, body: &str) -> Result<Vec<UserId>> {
        if !body.contains('@') {
            return Ok(Vec::new());
        }
        let found = mentions(body);
        if !found.channel && !found.here {
            return Ok(Vec::new());
        }
        let (channel, role) = self.visible(user, id).await?;
        let role = role.ok_or_else(|| Error::forbidden("you are not a member of this channel"))?;
        if channel.member_count > BROADCAST_MEMBERS && !role.moderates() {
            return Err(Error::forbidden(format!(
                "only the channel's owner and admins can mention @channel or @here in a channel of more than \
                 {BROADCAST_MEMBERS} members"
            )));
        }
        let others: Vec<UserId> =
            self.store.members(id).await?.into_iter().map(|m| m.user.id).filter(|m| *m != user).collect();
        match (&self.online, found.channel) {
            (_, true) => Ok(others),
            (Some(online), false) => online.online_among(&others).await,
            (None, false) => Ok(Vec::new()),
        }
    }

    /// The message `user` already stored in channel `id` under
    /// `client_msg_id`, as a retry's answer; `None` when there is none
    /// (stored yet). Asks the store only: for a send that is not handed to
    /// the writer, such as one past the sender's rate limit.
    pub async fn stored_retry(
        &self,
        user: UserId,
        id: ChannelId,
        client_msg_id: &ClientMsgId,
    ) -> Result<Option<Submitted>> {
        let key = PostKey { channel_id: id, sender_id: user, client_msg_id: client_msg_id.as_str() };
        let stored = self.store.stored_post(&key).await?;
        Ok(stored.map(|event| Submitted::Stored(Posted { event, created: false })))
    }

    /// A page of channel `id`'s log, each message with its state as `user` sees it.
    /// `has_more`: events before the page (`Before`, `Around`) or after it (`After`).
    pub async fn events(&self, user: UserId, id: ChannelId, page: Page) -> Result<EventPage> {
        self.visible(user, id).await?;
        let mut page = match page {
            Page::After(after, limit) => self.after(id, after, limit.get()).await?,
            Page::Before(before, limit) => self.before(id, before, limit.get()).await?,
            Page::Around(seq, limit) => {
                let mut page = self.before(id, Some(seq.saturating_add(1)), limit.get().div_ceil(2)).await?;
                let later = self.after(id, seq, limit.get() - page.events.len() as u32).await?;
                page.events.extend(later.events);
                page
            }
        };
        self.with_reactions(id, Some(user), &mut page.events).await?;
        Ok(page)
    }

    async fn after(&self, id: ChannelId, after: Seq, limit: u32) -> Result<EventPage> {
        let mut events = self.store.events_after(id, after, limit + 1).await?;
        let has_more = events.len() > limit as usize;
        events.truncate(limit as usize);
        Ok(EventPage { events, has_more })
    }

    async fn before(&self, id: ChannelId, before: Option<Seq>, limit: u32) -> Result<EventPage> {
        let mut events = self.store.events_before(id, before, limit + 1).await?;
        let has_more = events.len() > limit as usize;
        if has_more {
            events.remove(0);
        }
        Ok(EventPage { events, has_more })
    }

    /// Raises my read marker, capped at the channel's last `seq`; the marker
    /// when it moved, for my other sessions to learn.
    pub async fn mark_read(&self, user: UserId, id: ChannelId, seq: Seq) -> Result<Option<ReadMarker>> {
        let (channel, _) = self.as_member(user, id).await?;
        self.store.mark_read(id, user, seq.min(channel.last_seq)).await
    }

    /// Sets my preferences in channel `id`: `notify` and `muted` when given.
    pub async fn set_preferences(
        &self,
        user: UserId,
        id: ChannelId,
        notify: Option<Notify>,
        muted: Option<bool>,
    ) -> Result<Preferences> {
        self.as_member(user, id).await?;
        // Not a member any more, between the two: as `as_member` says it.
        self.store
            .set_preferences(id, user, notify, muted)
            .await?
            .ok_or_else(|| Error::forbidden("join this channel first"))
    }
}
