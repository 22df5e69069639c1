//! REST bodies, as in PROTOCOL.md: what clients send and what they get back.

use parley_core::model;
use serde::{Deserialize, Serialize};

/// Every error response: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub created_at: String,
    /// On the server: `admin` or `member`.
    #[serde(default = "member")]
    pub role: String,
    /// Deactivated by an admin: cannot sign in; their messages stay.
    #[serde(default)]
    pub deactivated: bool,
    /// A bot (or an incoming webhook's): it signs in with API tokens.
    #[serde(default)]
    pub bot: bool,
}

fn member() -> String {
    "member".to_owned()
}

impl From<&model::User> for User {
    fn from(u: &model::User) -> Self {
        User {
            id: u.id.to_string(),
            username: u.username.to_string(),
            display_name: u.display_name.clone(),
            created_at: u.created_at.to_rfc3339(),
            role: u.role.as_str().to_owned(),
            deactivated: u.deactivated_at.is_some(),
            bot: u.bot,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub id: String,
    /// `public`, `private` or `direct`.
    pub kind: String,
    pub name: String,
    pub topic: String,
    pub created_at: String,
    pub last_seq: i64,
    pub member_count: i64,
    /// Read-only: archived by its owner or an admin.
    #[serde(default, skip_serializing_if = "is_false")]
    pub archived: bool,
    /// For `direct` channels: the people in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<User>>,
    /// Where I am a member (my channels, `ready`, `channel_added`, and a
    /// channel I am answered with): my role, `owner`, `admin` or `member`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Where I am a member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferences: Option<Preferences>,
    /// Where I am a member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_read_seq: Option<i64>,
    /// Where I am a member: messages by others after `last_read_seq`, not deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread_count: Option<i64>,
    /// Where I am a member: of those, the ones that mention me
    /// (in a DM, every one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mention_count: Option<i64>,
}

impl From<&model::Channel> for Channel {
    fn from(c: &model::Channel) -> Self {
        Channel {
            id: c.id.to_string(),
            kind: c.kind.as_str().to_owned(),
            name: c.name.clone(),
            topic: c.topic.clone(),
            created_at: c.created_at.to_rfc3339(),
            last_seq: c.last_seq,
            member_count: c.member_count,
            archived: c.archived_at.is_some(),
            members: None,
            role: None,
            preferences: None,
            last_read_seq: None,
            unread_count: None,
            mention_count: None,
        }
    }
}

impl From<&model::MyChannel> for Channel {
    fn from(c: &model::MyChannel) -> Self {
        Channel {
            role: Some(c.role.as_str().to_owned()),
            preferences: Some(Preferences::from(&c.preferences)),
            last_read_seq: Some(c.last_read_seq),
            unread_count: Some(c.unread_count),
            mention_count: Some(c.mention_count),
            ..Channel::from(&c.channel)
        }
    }
}

impl Channel {
    pub fn with_members(mut self, people: Option<Vec<model::User>>) -> Self {
        self.members = people.map(|people| people.iter().map(User::from).collect());
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user: User,
    /// `owner` or `member`.
    pub role: String,
    pub joined_at: String,
}

impl From<&model::Member> for Member {
    fn from(m: &model::Member) -> Self {
        Member { user: User::from(&m.user), role: m.role.as_str().to_owned(), joined_at: m.joined_at.to_rfc3339() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub code: String,
    /// `null` for a join link (sign-up on the server, made by an admin).
    pub channel_id: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub max_uses: Option<u32>,
    pub uses: u32,
}

impl From<&model::Invite> for Invite {
    fn from(i: &model::Invite) -> Self {
        Invite {
            code: i.code.clone(),
            channel_id: i.channel_id.map(|c| c.to_string()),
            created_by: i.created_by.to_string(),
            created_at: i.created_at.to_rfc3339(),
            expires_at: i.expires_at.map(|t| t.to_rfc3339()),
            max_uses: i.max_uses,
            uses: i.uses,
        }
    }
}

/// What an invite link shows before it is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteChannel {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub member_count: i64,
}

impl From<&model::Channel> for InviteChannel {
    fn from(c: &model::Channel) -> Self {
        InviteChannel {
            id: c.id.to_string(),
            name: c.name.clone(),
            kind: c.kind.as_str().to_owned(),
            member_count: c.member_count,
        }
    }
}

/// One entry of a channel's log. `type` selects the fields of [`EventBody`];
/// a client ignores a type it does not know ([`EventBody::Unknown`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub channel_id: String,
    pub seq: i64,
    pub id: String,
    pub sender_id: String,
    pub created_at: String,
    #[serde(flatten)]
    pub body: EventBody,
}

/// A field left out is its default: no body once deleted, no reactions,
/// no replies, not pinned, not edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    Message {
        #[serde(default, skip_serializing_if = "String::is_empty")]
        body: String,
        client_msg_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to_seq: Option<i64>,
        /// The members its current body names.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mentions: Vec<String>,
        #[serde(default, skip_serializing_if = "is_false")]
        mentions_channel: bool,
        #[serde(default, skip_serializing_if = "is_false")]
        mentions_here: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        edited_at: Option<String>,
        #[serde(default, skip_serializing_if = "is_false")]
        deleted: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reactions: Vec<Reactions>,
        #[serde(default, skip_serializing_if = "is_zero")]
        reply_count: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_reply_at: Option<String>,
        #[serde(default, skip_serializing_if = "is_false")]
        pinned: bool,
        /// The last change this state includes: apply only change events after it.
        #[serde(default, skip_serializing_if = "is_zero_seq")]
        changed_seq: i64,
    },
    MemberJoined {
        user_id: String,
    },
    MemberLeft {
        user_id: String,
    },
    MessageEdited {
        target_seq: i64,
        /// Left out once the message is deleted.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        body: String,
        /// The new body's, as for a message.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mentions: Vec<String>,
        #[serde(default, skip_serializing_if = "is_false")]
        mentions_channel: bool,
        #[serde(default, skip_serializing_if = "is_false")]
        mentions_here: bool,
        client_msg_id: String,
    },
    MessageDeleted {
        target_seq: i64,
        client_msg_id: String,
    },
    ReactionAdded {
        target_seq: i64,
        emoji: String,
        client_msg_id: String,
    },
    ReactionRemoved {
        target_seq: i64,
        emoji: String,
        client_msg_id: String,
    },
    MessagePinned {
        target_seq: i64,
        client_msg_id: String,
    },
    MessageUnpinned {
        target_seq: i64,
        client_msg_id: String,
    },
    MemberRoleChanged {
        user_id: String,
        role: String,
        client_msg_id: String,
    },
    ChannelRenamed {
        name: String,
        client_msg_id: String,
    },
    TopicChanged {
        topic: String,
        client_msg_id: String,
    },
    ChannelArchived {
        client_msg_id: String,
    },
    ChannelUnarchived {
        client_msg_id: String,
    },
    MemberRemoved {
        user_id: String,
        client_msg_id: String,
    },
    MemberBanned {
        user_id: String,
        client_msg_id: String,
    },
    MemberUnbanned {
        user_id: String,
        client_msg_id: String,
    },
    ChannelDeleted {
        client_msg_id: String,
    },
    #[serde(other)]
    Unknown,
}

/// One emoji on a message; `me` only where the reader is known (not in live
/// delivery, which is the same for everyone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reactions {
    pub emoji: String,
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub me: Option<bool>,
    /// The first ten who reacted, in order.
    #[serde(default)]
    pub users: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_zero_seq(n: &i64) -> bool {
    *n == 0
}

impl From<&model::Event> for Event {
    fn from(e: &model::Event) -> Self {
        use model::EventKind as K;
        let body = match e.kind.clone() {
            K::Message { body, client_msg_id, reply_to_seq, mentions, state } => EventBody::Message {
                body,
                client_msg_id,
                reply_to_seq,
                mentions: mentions.users.iter().map(ToString::to_string).collect(),
                mentions_channel: mentions.channel,
                mentions_here: mentions.here,
                edited_at: state.edited_at.map(|at| at.to_rfc3339()),
                deleted: state.deleted,
                reactions: state
                    .reactions
                    .into_iter()
                    .map(|r| Reactions {
                        emoji: r.emoji,
                        count: r.count,
                        me: r.me,
                        users: r.users.iter().map(ToString::to_string).collect(),
                    })
                    .collect(),
                reply_count: state.reply_count,
                last_reply_at: state.last_reply_at.map(|at| at.to_rfc3339()),
                pinned: state.pinned,
                changed_seq: state.changed_seq,
            },
            K::MemberJoined { user_id } => EventBody::MemberJoined { user_id: user_id.to_string() },
            K::MemberLeft { user_id } => EventBody::MemberLeft { user_id: user_id.to_string() },
            K::MessageEdited { target_seq, body, mentions, client_msg_id } => EventBody::MessageEdited {
                target_seq,
                body,
                mentions: mentions.users.iter().map(ToString::to_string).collect(),
                mentions_channel: mentions.channel,
                mentions_here: mentions.here,
                client_msg_id,
            },
            K::MessageDeleted { target_seq, client_msg_id } => EventBody::MessageDeleted { target_seq, client_msg_id },
            K::ReactionAdded { target_seq, emoji, client_msg_id } => {
                EventBody::ReactionAdded { target_seq, emoji, client_msg_id }
            }
            K::ReactionRemoved { target_seq, emoji, client_msg_id } => {
                EventBody::ReactionRemoved { target_seq, emoji, client_msg_id }
            }
            K::MessagePinned { target_seq, client_msg_id } => EventBody::MessagePinned { target_seq, client_msg_id },
            K::MessageUnpinned { target_seq, client_msg_id } => {
                EventBody::MessageUnpinned { target_seq, client_msg_id }
            }
            K::MemberRoleChanged { user_id, role, client_msg_id } => {
                EventBody::MemberRoleChanged { user_id: user_id.to_string(), role: role.as_str().into(), client_msg_id }
            }
            K::ChannelRenamed { name, client_msg_id } => EventBody::ChannelRenamed { name, client_msg_id },
            K::TopicChanged { topic, client_msg_id } => EventBody::TopicChanged { topic, client_msg_id },
            K::ChannelArchived { client_msg_id } => EventBody::ChannelArchived { client_msg_id },
            K::ChannelUnarchived { client_msg_id } => EventBody::ChannelUnarchived { client_msg_id },
            K::MemberRemoved { user_id, client_msg_id } => {
                EventBody::MemberRemoved { user_id: user_id.to_string(), client_msg_id }
            }
            K::MemberBanned { user_id, client_msg_id } => {
                EventBody::MemberBanned { user_id: user_id.to_string(), client_msg_id }
            }
            K::MemberUnbanned { user_id, client_msg_id } => {
                EventBody::MemberUnbanned { user_id: user_id.to_string(), client_msg_id }
            }
            K::ChannelDeleted { client_msg_id } => EventBody::ChannelDeleted { client_msg_id },
        };
        Event {
            channel_id: e.channel_id.to_string(),
            seq: e.seq,
            id: e.id.to_string(),
            sender_id: e.sender_id.to_string(),
            created_at: e.created_at.to_rfc3339(),
            body,
        }
    }
}

// ---- requests ----

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterRequest {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// An invite code (a channel's, or a join link's): needed when sign-up
    /// is by invite; a channel's also joins the channel.
    #[serde(default)]
    pub invite: Option<String>,
}

/// `GET /server`: what a sign-up screen needs to know before anyone signs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// `open`, `invite` or `closed`.
    pub registration: String,
    /// No account exists yet: the next sign-up needs no invite (unless
    /// sign-up is closed) and becomes the server's admin.
    pub first_account: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// `POST /auth/reset`: a reset link's token and the new password.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResetPasswordRequest {
    pub token: String,
    pub password: String,
}

/// One of my sessions (a signed-in browser or app).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub user_agent: Option<String>,
    /// The session this request was made with.
    pub current: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionsResponse {
    pub sessions: Vec<SessionInfo>,
}

/// `PATCH /admin/users/{id}`: what an admin changes of a user.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminUserRequest {
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub deactivated: Option<bool>,
}

/// A password reset link's token, shown once to the admin who made it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResetLinkResponse {
    pub token: String,
    /// The web client's page for it, from the server's own origin.
    pub path: String,
    pub expires_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvitesResponse {
    pub invites: Vec<Invite>,
}

/// `POST /admin/bots`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateBotRequest {
    pub username: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

/// A new bot, or a new token of one: the token is shown once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BotTokenResponse {
    pub user: User,
    pub token: String,
    /// Names the token for listing and revoking.
    pub token_id: String,
}

/// `POST /admin/bots/{id}/tokens`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CreateTokenRequest {
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: String,
    pub name: String,
    pub channel_id: String,
    /// The bot it posts as.
    pub bot_id: String,
    pub created_by: String,
    pub created_at: String,
}

impl From<&model::Webhook> for Webhook {
    fn from(h: &model::Webhook) -> Self {
        Webhook {
            id: h.id.to_string(),
            name: h.name.clone(),
            channel_id: h.channel_id.to_string(),
            bot_id: h.bot_id.to_string(),
            created_by: h.created_by.to_string(),
            created_at: h.created_at.to_rfc3339(),
        }
    }
}

/// `POST /channels/{id}/outgoing-webhooks`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateOutgoingRequest {
    pub url: String,
}

/// An outgoing webhook and where its delivery stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingWebhook {
    pub id: String,
    pub channel_id: String,
    pub url: String,
    pub created_by: String,
    pub created_at: String,
    /// Every message up to this `seq` is delivered (or given up on).
    pub delivered_seq: i64,
    /// Since when the next message has failed, while it does.
    pub failing_since: Option<String>,
    pub last_error: Option<String>,
    pub attempts: u32,
    pub next_attempt_at: Option<String>,
}

impl From<&model::OutgoingHook> for OutgoingWebhook {
    fn from(h: &model::OutgoingHook) -> Self {
        OutgoingWebhook {
            id: h.id.to_string(),
            channel_id: h.channel_id.to_string(),
            url: h.url.clone(),
            created_by: h.created_by.to_string(),
            created_at: h.created_at.to_rfc3339(),
            delivered_seq: h.delivery.delivered_seq,
            failing_since: h.delivery.failing_since.map(|t| t.to_rfc3339()),
            last_error: h.delivery.last_error.clone(),
            attempts: h.delivery.attempts,
            next_attempt_at: h.delivery.next_attempt_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// A new outgoing webhook and the key of its signatures, shown once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutgoingCreatedResponse {
    pub webhook: OutgoingWebhook,
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutgoingWebhooksResponse {
    pub webhooks: Vec<OutgoingWebhook>,
}

/// `POST /channels/{id}/webhooks`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateWebhookRequest {
    pub name: String,
}

/// A new webhook and its secret URL's path, shown once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookCreatedResponse {
    pub webhook: Webhook,
    /// `/hooks/{secret}` on this server.
    pub path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhooksResponse {
    pub webhooks: Vec<Webhook>,
}

/// What `POST /hooks/{secret}` takes: Slack's incoming-webhook JSON, of
/// which `text` is read; `username` is accepted and not shown (the message
/// is the webhook's bot's); other fields are ignored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IncomingWebhook {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor_id: String,
    pub action: String,
    pub user_id: Option<String>,
    pub channel_id: Option<String>,
    pub detail: serde_json::Value,
}

impl From<&model::AuditEntry> for AuditEntry {
    fn from(e: &model::AuditEntry) -> Self {
        AuditEntry {
            id: e.id,
            at: e.at.to_rfc3339(),
            actor_id: e.actor_id.to_string(),
            action: e.action.clone(),
            user_id: e.user_id.map(|u| u.to_string()),
            channel_id: e.channel_id.map(|c| c.to_string()),
            detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditResponse {
    pub entries: Vec<AuditEntry>,
    /// Older entries follow: ask again with `before` the last `id`.
    pub has_more: bool,
}

/// `?before=&limit=` of `GET /admin/audit`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    pub before: Option<i64>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// `?q=&limit=` of `GET /admin/users`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AdminUsersQuery {
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateMeRequest {
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateChannelRequest {
    pub name: String,
    /// `public` or `private`.
    pub kind: String,
    #[serde(default)]
    pub topic: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CreateInviteRequest {
    #[serde(default)]
    pub max_uses: Option<i64>,
    #[serde(default)]
    pub expires_in_seconds: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpenDmRequest {
    pub user_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PostMessageRequest {
    pub body: String,
    pub client_msg_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to_seq: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReadRequest {
    pub seq: i64,
}

/// `?after=&before=&limit=` of `GET …/events`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EventsQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub around: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// `PATCH /channels/{id}/messages/{seq}`: the author's new body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EditRequest {
    pub body: String,
    pub client_msg_id: String,
}

/// My preferences in a channel: `notify` is `all`, `mentions` or `none`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    pub notify: String,
    pub muted: bool,
}

impl From<&model::Preferences> for Preferences {
    fn from(p: &model::Preferences) -> Self {
        Preferences { notify: p.notify.as_str().to_owned(), muted: p.muted }
    }
}

/// `PUT /channels/{id}/preferences`: what is given changes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PreferencesRequest {
    #[serde(default)]
    pub notify: Option<String>,
    #[serde(default)]
    pub muted: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreferencesResponse {
    pub preferences: Preferences,
}

/// `PUT /channels/{id}/members/{user_id}`: `admin` or `member`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoleRequest {
    pub role: String,
    pub client_msg_id: String,
}

/// `PATCH /channels/{id}`: exactly one of `name`, `topic`, `archived`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateChannelRequest {
    pub client_msg_id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub topic: Option<String>,
    #[serde(default)]
    pub archived: Option<bool>,
}

/// `DELETE /channels/{id}?client_msg_id=&confirm=`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DeleteChannelQuery {
    #[serde(default)]
    pub client_msg_id: Option<String>,
    /// The channel's name, exactly.
    #[serde(default)]
    pub confirm: Option<String>,
}

/// Someone banned from a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban {
    pub user: User,
    pub banned_by: String,
    pub banned_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BansResponse {
    pub bans: Vec<Ban>,
}

/// The key of a change sent without a body (a DELETE, a PUT of a reaction
/// or a pin), in the query.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChangeQuery {
    #[serde(default)]
    pub client_msg_id: Option<String>,
}

/// `GET /channels/{id}/threads/{seq}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ThreadQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// A change's answer: the event it stored, or `null` when it changed
/// nothing (a reaction that was there already).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangeResponse {
    pub event: Option<Event>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ThreadResponse {
    pub root: Event,
    pub replies: Vec<Event>,
    pub has_more: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MentionsQuery {
    /// The `id` of the oldest message of the page before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SearchParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// The place of the oldest result of the page before: `<channel_id>:<seq>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// A message a search found, with my channel it is in and where its text
/// matches: `[start, end)` ranges counted in Unicode scalar values.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchResult {
    pub channel: Channel,
    pub event: Event,
    pub highlights: Vec<[usize; 2]>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchResponse {
    pub results: Vec<SearchResult>,
    pub has_more: bool,
}

/// One message that mentions me, with my channel it is in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mention {
    pub channel: Channel,
    pub event: Event,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MentionsResponse {
    pub mentions: Vec<Mention>,
    pub has_more: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PinsResponse {
    pub pins: Vec<Event>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UsersQuery {
    #[serde(default)]
    pub q: Option<String>,
}

/// `?q=&after=&limit=` of `GET /channels/public`: names containing `q`,
/// after the name `after` (the last of the previous page).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PublicChannelsQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

// ---- responses ----

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthResponse {
    pub user: User,
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserResponse {
    pub user: User,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UsersResponse {
    pub users: Vec<User>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChannelResponse {
    pub channel: Channel,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChannelsResponse {
    pub channels: Vec<Channel>,
}

/// A page of `GET /channels/public`; `has_more`: more names follow the last.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublicChannelsResponse {
    pub channels: Vec<Channel>,
    pub has_more: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MembersResponse {
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InviteResponse {
    pub invite: Invite,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvitePreviewResponse {
    pub invite: Invite,
    /// `null` for a join link.
    pub channel: Option<InviteChannel>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventResponse {
    pub event: Event,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventsResponse {
    pub events: Vec<Event>,
    pub has_more: bool,
}

/// Cluster mode's answer when the stored event did not come within 5 s.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AcceptedResponse {
    pub status: String,
    pub client_msg_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_core::id::{ChannelId, EventId, UserId};
    use parley_core::time::Timestamp;
    use serde_json::json;

    #[test]
    fn message_event_json() {
        let event = Event {
            channel_id: "c".into(),
            seq: 7,
            id: "e".into(),
            sender_id: "u".into(),
            created_at: "2026-11-22T08:30:00.123Z".into(),
            body: EventBody::Message {
                body: "hi".into(),
                client_msg_id: "m1".into(),
                reply_to_seq: None,
                mentions: Vec::new(),
                mentions_channel: false,
                mentions_here: false,
                edited_at: None,
                deleted: false,
                reactions: Vec::new(),
                reply_count: 0,
                last_reply_at: None,
                pinned: false,
                changed_seq: 0,
            },
        };
        let value = serde_json::to_value(&event).unwrap();
        assert_eq!(
            value,
            json!({"channel_id": "c", "seq": 7, "id": "e", "sender_id": "u",
                   "created_at": "2026-11-22T08:30:00.123Z",
                   "type": "message", "body": "hi", "client_msg_id": "m1"}),
            "a message nothing changed yet has no state fields"
        );
        assert_eq!(serde_json::from_value::<Event>(value).unwrap(), event);
    }

    #[test]
    fn a_changed_message_carries_its_state() {
        let at = Timestamp::from_millis(1_795_000_000_000);
        let reactor = UserId::generate();
        let state = model::MessageState {
            edited_at: Some(at),
            deleted: false,
            pinned: true,
            reply_count: 2,
            last_reply_at: Some(at),
            reactions: vec![model::Reactions { emoji: "👍".into(), count: 3, me: Some(true), users: vec![reactor] }],
            changed_seq: 9,
        };
        let event = model::Event {
            channel_id: ChannelId::generate(),
            seq: 4,
            id: EventId::generate(),
            sender_id: UserId::generate(),
            created_at: at,
            kind: model::EventKind::Message {
                body: "now".into(),
                client_msg_id: "m".into(),
                reply_to_seq: None,
                mentions: model::Mentions { users: vec![reactor], channel: false, here: true },
                state,
            },
        };
        let value = serde_json::to_value(Event::from(&event)).unwrap();
        let when = at.to_rfc3339();
        for (key, want) in [
            ("body", json!("now")),
            ("edited_at", json!(when)),
            ("pinned", json!(true)),
            ("reply_count", json!(2)),
            ("last_reply_at", json!(when)),
            ("reactions", json!([{"emoji": "👍", "count": 3, "me": true, "users": [reactor.to_string()]}])),
            ("changed_seq", json!(9)),
            ("mentions", json!([reactor.to_string()])),
            ("mentions_here", json!(true)),
        ] {
            assert_eq!(value[key], want, "{key}");
        }
        assert!(value.get("deleted").is_none());
        assert!(value.get("mentions_channel").is_none(), "false is left out");
        let deleted = model::EventKind::Message {
            body: String::new(),
            client_msg_id: "m".into(),
            reply_to_seq: None,
            mentions: Default::default(),
            state: model::MessageState { deleted: true, ..Default::default() },
        };
        let value = serde_json::to_value(Event::from(&model::Event { kind: deleted, ..event })).unwrap();
        assert_eq!((value.get("body"), &value["deleted"]), (None, &json!(true)), "a tombstone has no body");
    }

    #[test]
    fn member_event_json_and_unknown_types() {
        let value = json!({"channel_id": "c", "seq": 1, "id": "e", "sender_id": "u",
                           "created_at": "t", "type": "member_joined", "user_id": "u2"});
        let event: Event = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(event.body, EventBody::MemberJoined { user_id: "u2".into() });
        assert_eq!(serde_json::to_value(&event).unwrap(), value);
        let later = json!({"channel_id": "c", "seq": 2, "id": "e", "sender_id": "u",
                           "created_at": "t", "type": "poll_opened", "question": "x"});
        assert_eq!(serde_json::from_value::<Event>(later).unwrap().body, EventBody::Unknown);
    }

    #[test]
    fn error_and_channel_json() {
        let error = ErrorBody { error: ErrorDetail { code: "not_found".into(), message: "channel not found".into() } };
        assert_eq!(
            serde_json::to_value(&error).unwrap(),
            json!({"error": {"code": "not_found", "message": "channel not found"}})
        );
        let channel = Channel {
            id: "c".into(),
            kind: "public".into(),
            name: "general".into(),
            topic: "".into(),
            created_at: "t".into(),
            last_seq: 3,
            member_count: 2,
            archived: false,
            members: None,
            role: Some("admin".into()),
            preferences: None,
            last_read_seq: Some(1),
            unread_count: Some(2),
            mention_count: Some(1),
        };
        assert_eq!(
            serde_json::to_value(&channel).unwrap(),
            json!({"id": "c", "kind": "public", "name": "general", "topic": "", "created_at": "t",
                   "last_seq": 3, "member_count": 2, "role": "admin", "last_read_seq": 1, "unread_count": 2,
                   "mention_count": 1})
        );
    }
}
