//! Ports: the small object-safe async traits a backend implements. The SQLite
//! and PostgreSQL stores pass the same conformance suite (`parley-testkit`).
//!
//! Backends map their driver errors to [`Error`](crate::Error) where they
//! arise: a unique violation is `Conflict`, a lost connection or a busy
//! database is `Unavailable`, anything else `Internal` with the cause as text.

use async_trait::async_trait;

use crate::accounts::{Admission, Admitted};
use crate::command::{Applied, Command, Stamp};
use crate::directory::DirectoryPage;
use crate::fulltext::SearchQuery;
use crate::id::{ChannelId, EventId, UserId, WebhookId};
use crate::model::{
    AuditEntry, Ban, Channel, Delivery, Event, Invite, Member, Mentions, MyChannel, Notify, OutgoingHook,
    PasswordReset, Preferences, ReadMarker, Role, ServerRole, Session, User, Webhook,
};
use crate::parse::{Seq, Username};
use crate::search::PeopleQuery;
use crate::time::Timestamp;
use crate::Result;

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Fails with `Conflict` ([`NameClash`](crate::names::NameClash)) when
    /// the username is taken, or when the username or display name shares a
    /// look-alike key ([`NameKeys`](crate::names::NameKeys)) with another
    /// user's names; the check and the write are one step, even against
    /// writers on other nodes.
    ///
    /// In the same step it decides the [`admission`](crate::accounts): the
    /// policy is checked against whether the server has any user yet, the
    /// invite brought is counted (unknown, expired or used up: `not_found`,
    /// and nothing is stored), and the account is the server's admin when
    /// it is the first (`user.role` is not read).
    async fn create_user(&self, user: &User, password_hash: &str, admission: &Admission<'_>) -> Result<Admitted>;
    /// Whether any account exists: a fresh server has none.
    async fn has_users(&self) -> Result<bool>;
    async fn user(&self, id: UserId) -> Result<Option<User>>;
    /// The user and their password hash, for login.
    async fn credentials(&self, username: &Username) -> Result<Option<(User, String)>>;
    /// At most `limit` users matching `query` (see [`crate::search`]): those
    /// whose username starts with its text first, then the others, each by
    /// username.
    async fn search_users(&self, query: &PeopleQuery, limit: u32) -> Result<Vec<User>>;
    /// Fails with `Conflict`
    /// ([`DisplayNameLooksTaken`](crate::names::NameClash::DisplayNameLooksTaken))
    /// when the name shares a look-alike key with another user's names and
    /// is not one this user holds already (their username's, their current
    /// name's), in one step with the write as for `create_user`.
    async fn set_display_name(&self, id: UserId, display_name: &str) -> Result<()>;
    async fn set_password(&self, id: UserId, password_hash: &str) -> Result<()>;
    async fn set_server_role(&self, id: UserId, role: ServerRole) -> Result<()>;
    /// Deactivates the user at `at`, or reactivates them (`None`).
    async fn set_deactivated(&self, id: UserId, at: Option<Timestamp>) -> Result<()>;
    /// `user` blocks `other` from `at` (`Some`), or no longer (`None`).
    async fn set_blocked(&self, user: UserId, other: UserId, at: Option<Timestamp>) -> Result<()>;
    /// Whom `user` blocks, the latest first.
    async fn blocked(&self, user: UserId) -> Result<Vec<User>>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, session: &Session) -> Result<()>;
    /// The unexpired session with this token hash and its user, when that
    /// user is not deactivated.
    async fn session_user(&self, token_hash: &str, now: Timestamp) -> Result<Option<(User, Session)>>;
    /// Notes that the session was used at `at`.
    async fn touch_session(&self, token_hash: &str, at: Timestamp) -> Result<()>;
    /// The unexpired sessions of `user`, the last seen first.
    async fn sessions(&self, user: UserId, now: Timestamp) -> Result<Vec<Session>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    /// Deletes every session of `user` but the one with token hash `keep`;
    /// the token hashes deleted, so that their sockets can be closed.
    async fn delete_sessions(&self, user: UserId, keep: Option<&str>) -> Result<Vec<String>>;
    async fn create_reset(&self, reset: &PasswordReset) -> Result<()>;
    /// Spends the reset with this token hash, if unused and unexpired at
    /// `now`: its user. A reset is used once, even when two try at once.
    async fn use_reset(&self, token_hash: &str, now: Timestamp) -> Result<Option<UserId>>;
}

/// Incoming webhooks.
#[async_trait]
pub trait HookStore: Send + Sync {
    async fn create_hook(&self, hook: &Webhook) -> Result<()>;
    /// The webhook whose secret has this hash.
    async fn hook_by_token(&self, token_hash: &str) -> Result<Option<Webhook>>;
    async fn hook(&self, id: WebhookId) -> Result<Option<Webhook>>;
    /// A channel's webhooks, the newest first.
    async fn hooks(&self, channel: ChannelId) -> Result<Vec<Webhook>>;
    async fn delete_hook(&self, id: WebhookId) -> Result<()>;
}

/// Outgoing webhooks and their delivery state.
#[async_trait]
pub trait OutgoingStore: Send + Sync {
    async fn create_outgoing(&self, hook: &OutgoingHook) -> Result<()>;
    async fn outgoing(&self, id: WebhookId) -> Result<Option<OutgoingHook>>;
    /// A channel's outgoing webhooks, the newest first.
    async fn outgoing_of(&self, channel: ChannelId) -> Result<Vec<OutgoingHook>>;
    async fn delete_outgoing(&self, id: WebhookId) -> Result<()>;
    /// The hooks with events to deliver at `now` (their channel's head is
    /// past `delivered_seq`, no retry is waiting) that `node` takes: each
    /// is leased to `node` until `until`, unless another node holds it.
    async fn lease_due(&self, node: &str, now: Timestamp, until: Timestamp, limit: u32) -> Result<Vec<OutgoingHook>>;
    /// Records where a hook's delivery now stands, and renews `node`'s lease
    /// of it until `until`: false, and nothing recorded, when `node` no
    /// longer holds it (its lease ran out and another node took it).
    async fn record_delivery(&self, id: WebhookId, node: &str, until: Timestamp, delivery: &Delivery) -> Result<bool>;
}

/// Reads of everything, a page at a time, for `parley export`.
#[async_trait]
pub trait ExportStore: Send + Sync {
    /// Users with ids after `after`, by id, with their password hashes.
    async fn export_users(&self, after: Option<UserId>, limit: u32) -> Result<Vec<(User, String)>>;
    /// Channels (DMs and archived ones too; not deleted ones) with ids after `after`, by id.
    async fn export_channels(&self, after: Option<ChannelId>, limit: u32) -> Result<Vec<Channel>>;
    /// A channel's memberships with their read markers and preferences, by user id.
    async fn export_members(&self, channel: ChannelId) -> Result<Vec<ExportedMember>>;
    /// Whom each message of `channel` tells of itself (named, or reached by
    /// `@channel` or `@here`: their mention counts and lists), as
    /// `(seq, user)`, by `seq` then user.
    async fn export_told(&self, channel: ChannelId) -> Result<Vec<(Seq, UserId)>>;
}

/// A membership as `parley export` writes it: what the log does not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedMember {
    pub member: Member,
    pub last_read_seq: Seq,
    /// As stored: `None` until they chose one.
    pub notify: Option<Notify>,
    pub muted: bool,
}

/// The server's audit log: what admins and moderators did.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Stores `entry` under the next id (its `id` is not read).
    async fn record(&self, entry: &AuditEntry) -> Result<()>;
    /// The newest `limit` entries with an id below `before` (all when
    /// `None`), newest first.
    async fn audit(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditEntry>>;
}

#[async_trait]
pub trait ChannelStore: Send + Sync {
    async fn channel(&self, id: ChannelId) -> Result<Option<Channel>>;
    /// The direct channel with this `dm_key` (its people's sorted ids), if opened.
    async fn dm(&self, dm_key: &str) -> Result<Option<Channel>>;
    /// The public or private channel named `name`, ignoring ASCII case (see
    /// [`Channel::name_key`]).
    async fn channel_named(&self, name: &str) -> Result<Option<Channel>>;
    async fn role(&self, channel: ChannelId, user: UserId) -> Result<Option<Role>>;
    /// The channels `user` is a member of, DMs included, with read markers.
    async fn my_channels(&self, user: UserId) -> Result<Vec<MyChannel>>;
    /// One of them, as `my_channels` lists it; `None` when not a member.
    async fn my_channel(&self, user: UserId, channel: ChannelId) -> Result<Option<MyChannel>>;
    /// Up to `limit` channels of `page` (its name filter, after its cursor),
    /// by name: the public ones not archived, or with
    /// [`every`](DirectoryPage::every) all but DMs.
    async fn directory(&self, page: &DirectoryPage, limit: u32) -> Result<Vec<Channel>>;
    async fn members(&self, channel: ChannelId) -> Result<Vec<Member>>;
    /// Who is banned from `channel`, the latest first.
    async fn bans(&self, channel: ChannelId) -> Result<Vec<Ban>>;
    /// For each direct channel `user` is in, the people whose presence it
    /// shows (see [`crate::presence`]): who opened it and who has sent a
    /// message in it, `user` among them if so; as `(channel, person)`.
    async fn dm_shown(&self, user: UserId) -> Result<Vec<(ChannelId, UserId)>>;
    /// The people whose presence `user` is shown (see [`crate::presence`]),
    /// through channels of at most `max_members` members; each once, never
    /// `user`. One query, whatever the number of channels.
    async fn presence_peers(&self, user: UserId, max_members: u32) -> Result<Vec<UserId>>;
    /// Raises `user`'s read marker to `seq` (never lowers it). The marker as
    /// it now stands when it moved; `None` when it did not (already at or
    /// past `seq`, or `user` is not a member).
    async fn mark_read(&self, channel: ChannelId, user: UserId, seq: Seq) -> Result<Option<ReadMarker>>;
    /// Changes `user`'s preferences in `channel`: `notify` and `muted` when
    /// given. The preferences as they now stand; `None` when `user` is not
    /// a member.
    async fn set_preferences(
        &self,
        channel: ChannelId,
        user: UserId,
        notify: Option<Notify>,
        muted: Option<bool>,
    ) -> Result<Option<Preferences>>;
}

#[async_trait]
pub trait InviteStore: Send + Sync {
    async fn create_invite(&self, invite: &Invite) -> Result<()>;
    async fn invite(&self, code: &str) -> Result<Option<Invite>>;
    /// Counts one use, atomically, if the invite is still usable at `now`.
    /// `None` when it is unknown, expired or used up.
    async fn use_invite(&self, code: &str, now: Timestamp) -> Result<Option<Invite>>;
    /// The invites into `channel`, or the server's join links (`None`),
    /// usable or not, the newest first.
    async fn invites(&self, channel: Option<ChannelId>) -> Result<Vec<Invite>>;
    /// Whether there was such an invite.
    async fn delete_invite(&self, code: &str) -> Result<bool>;
}

#[async_trait]
pub trait EventLog: Send + Sync {
    /// Events with `seq > after`, oldest first, at most `limit`.
    async fn events_after(&self, channel: ChannelId, after: Seq, limit: u32) -> Result<Vec<Event>>;
    /// The newest `limit` events with `seq < before` (all when `None`), oldest first.
    async fn events_before(&self, channel: ChannelId, before: Option<Seq>, limit: u32) -> Result<Vec<Event>>;
    /// The message stored under `key`, if any: what a retry is answered
    /// with when it is not handed to the Sequencer (past the send rate).
    async fn stored_post(&self, key: &PostKey<'_>) -> Result<Option<Event>>;
    /// The reactions on messages `seqs` of `channel`, oldest first.
    async fn reactions(&self, channel: ChannelId, seqs: &[Seq]) -> Result<Vec<Reaction>>;
    /// The replies in the thread of `root` with `seq > after`, oldest first, at most `limit`.
    async fn thread(&self, channel: ChannelId, root: Seq, after: Seq, limit: u32) -> Result<Vec<Event>>;
    /// The pinned messages of `channel`, the latest pinned first.
    async fn pins(&self, channel: ChannelId) -> Result<Vec<Event>>;
    /// The messages that mention `user` in the channels they are a member
    /// of now, newest first (by event id), those before the message
    /// `before` when given, at most `limit`.
    async fn mentions(&self, user: UserId, before: Option<EventId>, limit: u32) -> Result<Vec<Event>>;
    /// The messages matching a [`Search`], newest first (see
    /// [`crate::fulltext`]): never a deleted one, an edited one by its
    /// current text, only in channels the searcher is a member of now.
    async fn search(&self, search: &Search<'_>) -> Result<Vec<Event>>;
    /// Appends one batch of the [`Sequencer`](crate::sequencer::Sequencer),
    /// the only writer of events: opens a write transaction and runs
    /// [`apply`](crate::apply::apply) over it, which commits.
    async fn append(&self, commands: Vec<Command>) -> Result<Applied>;
    /// Appends one batch as [`append`](EventLog::append) does, each
    /// command's events at the time and under the ids of its stamp
    /// ([`apply_stamped`](crate::apply::apply_stamped)): `parley import`,
    /// into a store no server is running on.
    async fn replay(&self, commands: Vec<Command>, stamps: Vec<Stamp>) -> Result<Applied>;
}

/// A search, with its filters resolved to ids: by `user`, in `channel`
/// (one of theirs) when given, of messages by `sender` when given, older
/// than the message at `before` (its channel and `seq`) when given, at most
/// `limit`.
#[derive(Debug, Clone)]
pub struct Search<'a> {
    pub user: UserId,
    pub query: &'a SearchQuery,
    pub channel: Option<ChannelId>,
    pub sender: Option<UserId>,
    pub before: Option<(ChannelId, Seq)>,
    pub limit: u32,
}

/// The key that makes the retry of a message, or of any change a client
/// makes, harmless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostKey<'a> {
    pub channel_id: ChannelId,
    pub sender_id: UserId,
    pub client_msg_id: &'a str,
}

/// What the Sequencer needs to know of a channel to append to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelHead {
    pub id: ChannelId,
    pub last_seq: Seq,
    /// As read by `heads` (`set_heads` writes only `last_seq`).
    pub state: HeadState,
}

/// What the rules of the log read of a channel besides its head.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeadState {
    pub archived: bool,
    pub direct: bool,
}

/// A change to a channel itself, made in the transaction that appends its
/// event, in order within a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelChange {
    Renamed {
        channel: ChannelId,
        name: String,
    },
    Topic {
        channel: ChannelId,
        topic: String,
    },
    /// Archived at `at`, or unarchived (`None`).
    Archived {
        channel: ChannelId,
        at: Option<Timestamp>,
    },
    /// Gone from every read; its members with it, and its name free again.
    Deleted {
        channel: ChannelId,
        at: Timestamp,
    },
}

impl ChannelChange {
    pub fn channel(&self) -> ChannelId {
        match self {
            ChannelChange::Renamed { channel, .. }
            | ChannelChange::Topic { channel, .. }
            | ChannelChange::Archived { channel, .. }
            | ChannelChange::Deleted { channel, .. } => *channel,
        }
    }
}

/// A change to a channel's membership, applied in order within a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    /// A new member, whose read marker starts at their `member_joined`
    /// (`read_through`): what came before is history, not unread.
    Add {
        channel: ChannelId,
        user: UserId,
        role: Role,
        at: Timestamp,
        read_through: Seq,
    },
    Remove {
        channel: ChannelId,
        user: UserId,
    },
    SetRole {
        channel: ChannelId,
        user: UserId,
        role: Role,
    },
    /// `user` may not join `channel` until unbanned; `by` banned them at `at`.
    Ban {
        channel: ChannelId,
        user: UserId,
        by: UserId,
        at: Timestamp,
    },
    Unban {
        channel: ChannelId,
        user: UserId,
    },
}

/// A message a change points at, as the rules of the log need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub channel_id: ChannelId,
    pub seq: Seq,
    pub id: EventId,
    pub sender_id: UserId,
    pub body: String,
    pub reply_to_seq: Option<Seq>,
    pub deleted: bool,
    /// Who pinned it, while it is pinned.
    pub pinned_by: Option<UserId>,
}

/// One person's reaction to a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reaction {
    pub channel_id: ChannelId,
    pub seq: Seq,
    pub emoji: String,
    pub user_id: UserId,
    /// The `seq` of the event that added it: reactions are served in this order.
    pub added_seq: Seq,
}

impl MemberChange {
    pub fn channel(&self) -> ChannelId {
        match self {
            MemberChange::Add { channel, .. }
            | MemberChange::Remove { channel, .. }
            | MemberChange::SetRole { channel, .. }
            | MemberChange::Ban { channel, .. }
            | MemberChange::Unban { channel, .. } => *channel,
        }
    }
}

/// A change to what the store keeps of a message besides its event (its
/// current state), made in the transaction that appends the change's event,
/// in order within a batch. Each also sets the message's `changed_seq` to
/// `by_seq`, the `seq` of the event that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageChange {
    Edited {
        channel: ChannelId,
        seq: Seq,
        body: String,
        mentions: Mentions,
        at: Timestamp,
        by_seq: Seq,
    },
    /// The members message `seq` (event `id`) tells of as a mention are
    /// `users` from now on, in place of those it told before. It leaves
    /// `changed_seq` as it is.
    Mentioned {
        channel: ChannelId,
        seq: Seq,
        id: EventId,
        users: Vec<UserId>,
    },
    /// The body goes from the message and from every edit of it, and so do
    /// its reactions, its pin and its mentions.
    Deleted {
        channel: ChannelId,
        seq: Seq,
        by_seq: Seq,
    },
    /// `reaction.added_seq` is the event's `seq`, also when it removes one.
    Reacted {
        reaction: Reaction,
        add: bool,
    },
    /// `by`: who pinned it; `None` unpins it.
    Pinned {
        channel: ChannelId,
        seq: Seq,
        by: Option<UserId>,
        at: Timestamp,
        by_seq: Seq,
    },
    /// A reply was added to the thread of `root` at `at` (`delta` 1), or
    /// one of its replies deleted (`delta` -1, `at` unchanged: `None`).
    Replied {
        channel: ChannelId,
        root: Seq,
        delta: i32,
        at: Option<Timestamp>,
        by_seq: Seq,
    },
}

/// One write transaction. Every read sees the writes made before it in the
/// same transaction; nothing is visible to others until `commit` returns, and
/// `commit` returns only once the data is durable. Dropping it rolls back.
///
/// The reads take a whole batch's keys at once, so a backend whose every
/// statement is a round trip (PostgreSQL) can answer each in one.
#[async_trait]
pub trait LogTx: Send {
    /// The heads of those of `channels` that exist and are not deleted.
    async fn heads(&mut self, channels: &[ChannelId]) -> Result<Vec<ChannelHead>>;
    /// Which of `pairs` are bans (a user banned from a channel).
    async fn bans(&mut self, pairs: &[(ChannelId, UserId)]) -> Result<Vec<(ChannelId, UserId)>>;
    /// Which of `pairs` (a channel and a sender) have a member of the
    /// channel who blocks the sender.
    async fn blocked_in(&mut self, pairs: &[(ChannelId, UserId)]) -> Result<Vec<(ChannelId, UserId)>>;
    /// Which of `pairs` are memberships, with the member's role.
    async fn memberships(&mut self, pairs: &[(ChannelId, UserId)]) -> Result<Vec<(ChannelId, UserId, Role)>>;
    /// Those of `targets` that are messages.
    async fn messages(&mut self, targets: &[(ChannelId, Seq)]) -> Result<Vec<Target>>;
    /// Every reaction on `targets`.
    async fn reactions(&mut self, targets: &[(ChannelId, Seq)]) -> Result<Vec<Reaction>>;
    /// How many messages each of `channels` has pinned (a channel with none may be left out).
    async fn pin_counts(&mut self, channels: &[ChannelId]) -> Result<Vec<(ChannelId, u32)>>;
    /// The users of those `usernames` that exist, as `(username, user)`.
    async fn users_named(&mut self, usernames: &[String]) -> Result<Vec<(String, UserId)>>;
    /// The stored messages for those keys that exist.
    async fn find_posts(&mut self, keys: &[PostKey<'_>]) -> Result<Vec<Event>>;
    async fn find_dm(&mut self, dm_key: &str) -> Result<Option<ChannelId>>;
    /// The channels that hold any of `keys` ([`Channel::name_key`]s), as
    /// `(key, channel)`. A backend with several writers also holds those keys
    /// until the transaction ends, so that a second writer creating one of
    /// the names waits for the first to commit, then finds its channel.
    async fn find_named(&mut self, keys: &[String]) -> Result<Vec<(String, ChannelId)>>;
    async fn insert_channel(&mut self, channel: &Channel) -> Result<()>;
    /// Before `insert_channel`: changes to channels that existed before the batch.
    async fn change_channels(&mut self, changes: &[ChannelChange]) -> Result<()>;
    async fn change_members(&mut self, changes: &[MemberChange]) -> Result<()>;
    async fn insert_events(&mut self, events: &[Event]) -> Result<()>;
    /// After `insert_events`: the messages' state.
    async fn change_messages(&mut self, changes: &[MessageChange]) -> Result<()>;
    async fn set_heads(&mut self, heads: &[ChannelHead]) -> Result<()>;
    async fn commit(self: Box<Self>) -> Result<()>;
}

/// The command log of cluster mode: a gateway puts a message here, and it is
/// durable from then on even while no processor runs; a processor takes it
/// later and appends it with the Sequencer (see [`crate::processor`]).
#[async_trait]
pub trait CommandLog: Send + Sync {
    /// Returns once the log holds `command` durably; `Unavailable` when it
    /// cannot say so soon (the caller fails the send rather than wait).
    async fn append(&self, command: &Command) -> Result<()>;
}

#[async_trait]
pub trait Health: Send + Sync {
    /// Succeeds while the store answers.
    async fn ping(&self) -> Result<()>;
    /// Closes its connections once nothing uses it any more (shutdown),
    /// after finishing what it was given.
    async fn close(&self) {}
}

/// Everything a store provides.
pub trait Store:
    UserStore
    + SessionStore
    + ChannelStore
    + InviteStore
    + AuditStore
    + HookStore
    + OutgoingStore
    + ExportStore
    + EventLog
    + Health
{
}

impl<T> Store for T where
    T: UserStore
        + SessionStore
        + ChannelStore
        + InviteStore
        + AuditStore
        + HookStore
        + OutgoingStore
        + ExportStore
        + EventLog
        + Health
{
}
