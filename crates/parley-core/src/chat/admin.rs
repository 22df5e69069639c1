//! Running the server: its admins change users' roles, deactivate and
//! reactivate them, make password reset links, delete channels and read
//! the audit log, where every such action is written with who did it and
//! when, as are the moderation actions of channels' owners and admins.

use super::Chat;
use crate::command::Change;
use crate::id::{ChannelId, UserId};
use crate::model::{AuditEntry, Ban, ChannelKind, PasswordReset, ServerRole, User};
use crate::parse::ClientMsgId;
use crate::search::PeopleQuery;
use crate::time::Timestamp;
use crate::writer::{Answer, Written};
use crate::{Error, Result};

/// Only an active admin of the server passes.
pub(crate) fn as_admin(user: &User) -> Result<()> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(Error::forbidden("only the server's admins may do this"))
    }
}

impl Chat {
    /// Writes an entry of the audit log.
    pub async fn audit(
        &self,
        actor: UserId,
        action: &str,
        user: Option<UserId>,
        channel: Option<ChannelId>,
        detail: String,
    ) -> Result<()> {
        let entry = AuditEntry {
            id: 0,
            at: Timestamp::now(),
            actor_id: actor,
            action: action.to_owned(),
            user_id: user,
            channel_id: channel,
            detail,
        };
        self.store.record(&entry).await
    }

    /// The audit log, newest first, before entry `before`.
    pub async fn audit_log(&self, admin: &User, before: Option<i64>, limit: u32) -> Result<Vec<AuditEntry>> {
        as_admin(admin)?;
        self.store.audit(before, limit).await
    }

    /// Users whose name matches `query` (every user for an empty one),
    /// deactivated ones too: the admin's list.
    pub async fn admin_users(&self, admin: &User, query: &PeopleQuery, limit: u32) -> Result<Vec<User>> {
        as_admin(admin)?;
        self.store.search_users(query, limit).await
    }

    /// A user an admin acts on; they may not act on themselves this way.
    async fn other_user(&self, admin: &User, id: UserId) -> Result<User> {
        as_admin(admin)?;
        if id == admin.id {
            return Err(Error::forbidden("an admin cannot do this to their own account"));
        }
        self.store.user(id).await?.ok_or_else(|| Error::not_found("user not found"))
    }

    /// Makes `id` an admin of the server or a member. The user as they now are.
    pub async fn set_server_role(&self, admin: &User, id: UserId, role: ServerRole) -> Result<User> {
        let mut user = self.other_user(admin, id).await?;
        if user.role != role {
            self.store.set_server_role(id, role).await?;
            let detail = format!(r#"{{"role":"{}"}}"#, role.as_str());
            self.audit(admin.id, "user.role", Some(id), None, detail).await?;
            user.role = role;
        }
        Ok(user)
    }

    /// Deactivates a user (they cannot sign in; their messages stay) or
    /// reactivates them. The user as they now are, and the token hashes of
    /// the sessions this ended, whose sockets the caller closes.
    pub async fn set_deactivated(&self, admin: &User, id: UserId, deactivated: bool) -> Result<(User, Vec<String>)> {
        let mut user = self.other_user(admin, id).await?;
        let mut ended = Vec::new();
        if user.deactivated_at.is_some() != deactivated {
            let at = deactivated.then(Timestamp::now);
            self.store.set_deactivated(id, at).await?;
            let action = if deactivated { "user.deactivate" } else { "user.reactivate" };
            self.audit(admin.id, action, Some(id), None, "{}".to_owned()).await?;
            user.deactivated_at = at;
        }
        if deactivated {
            // Again when already deactivated: a session opened in between is ended too.
            ended = self.store.delete_sessions(id, None).await?;
        }
        Ok((user, ended))
    }

    /// Keeps a password reset an admin made for user `reset.user_id`.
    pub async fn create_reset(&self, admin: &User, reset: &PasswordReset) -> Result<()> {
        let user = self.other_user(admin, reset.user_id).await?;
        if user.deactivated_at.is_some() {
            return Err(Error::conflict("reactivate this account before resetting its password"));
        }
        self.store.create_reset(reset).await?;
        self.audit(admin.id, "user.reset_link", Some(user.id), None, "{}".to_owned()).await
    }
}

/// A string as JSON writes it.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Chat {
    /// What the audit log will say of `actor`'s change in channel `id`, if
    /// it is a moderation action: its action, the user it is done to, and
    /// the rest. Deleting someone else's message is one (its author is read
    /// first); deleting one's own is not.
    pub(super) async fn audited(
        &self,
        actor: UserId,
        id: ChannelId,
        change: &Change,
    ) -> Result<Option<(&'static str, Option<UserId>, String)>> {
        Ok(Some(match change {
            Change::Rename { name } => ("channel.rename", None, format!(r#"{{"name":{}}}"#, quoted(name.as_str()))),
            Change::Archive { archived: true } => ("channel.archive", None, "{}".to_owned()),
            Change::Archive { archived: false } => ("channel.unarchive", None, "{}".to_owned()),
            Change::Remove { user } => ("member.remove", Some(*user), "{}".to_owned()),
            Change::Ban { user, banned: true } => ("member.ban", Some(*user), "{}".to_owned()),
            Change::Ban { user, banned: false } => ("member.unban", Some(*user), "{}".to_owned()),
            Change::SetRole { user, role } => {
                ("member.role", Some(*user), format!(r#"{{"role":"{}"}}"#, role.as_str()))
            }
            Change::DeleteChannel => ("channel.delete", None, "{}".to_owned()),
            Change::Delete { target } => {
                let found = self.store.events_after(id, target.saturating_sub(1), 1).await?;
                match found.first() {
                    Some(message) if message.seq == *target && message.sender_id != actor => {
                        ("message.delete", Some(message.sender_id), format!(r#"{{"seq":{target}}}"#))
                    }
                    _ => return Ok(None),
                }
            }
            _ => return Ok(None),
        }))
    }

    /// A change made through the API by `actor`, who moderates every
    /// channel when a server admin (their role read anew with each request).
    pub async fn act(
        &self,
        actor: &User,
        id: ChannelId,
        client_msg_id: ClientMsgId,
        change: Change,
    ) -> Result<Written> {
        self.change(actor.id, actor.is_admin(), id, client_msg_id, change, Answer::Stored).await
    }

    /// Deletes a channel: a server admin, who names it again to confirm.
    pub async fn delete_channel(
        &self,
        admin: &User,
        id: ChannelId,
        confirm: &str,
        client_msg_id: ClientMsgId,
    ) -> Result<Written> {
        let channel = self.store.channel(id).await?.ok_or_else(|| Error::not_found("channel not found"))?;
        as_admin(admin).map_err(|_| Error::forbidden("only the server's admins can delete a channel"))?;
        if channel.kind == ChannelKind::Direct {
            return Err(Error::forbidden("a direct channel cannot be deleted"));
        }
        if confirm != channel.name {
            return Err(Error::bad_request("confirm must be the channel's name, exactly"));
        }
        self.act(admin, id, client_msg_id, Change::DeleteChannel).await
    }

    /// Who is banned from a channel: for its owner and admins, and the
    /// server's admins.
    pub async fn bans(&self, user: &User, id: ChannelId) -> Result<Vec<Ban>> {
        if !user.is_admin() {
            let (_, role) = self.as_member(user.id, id).await?;
            if !role.moderates() {
                return Err(Error::forbidden("only the channel's owner and admins see its bans"));
            }
        } else if self.store.channel(id).await?.is_none() {
            return Err(Error::not_found("channel not found"));
        }
        self.store.bans(id).await
    }
}
