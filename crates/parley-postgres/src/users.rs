//! Accounts, sessions, invites and the audit log (`UserStore`,
//! `SessionStore`, `InviteStore`, `AuditStore`), and `Health`.

use async_trait::async_trait;
use parley_core::accounts::{self, Admission, Admitted};
use parley_core::id::{ChannelId, UserId, WebhookId};
use parley_core::model::{AuditEntry, Invite, PasswordReset, ServerRole, Session, User, Webhook};
use parley_core::parse::Username;
use parley_core::ports::{AuditStore, Health, HookStore, InviteStore, SessionStore, UserStore};
use parley_core::search::{self, PeopleQuery};
use parley_core::time::Timestamp;
use parley_core::{Error, Result};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{conflict_as, db_err};
use crate::rows::{
    hook_columns, invite_columns, session_columns, to_db, user_columns, AuditRow, CredentialsRow, HookRow, InviteRow,
    SessionRow, SessionUserRow, UserRow,
};
use crate::{names, PostgresStore};

/// `text` with `\`, `%` and `_` escaped for `LIKE … ESCAPE '\'`: it matches itself only.
fn like_literal(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern
}

/// The patterns of [`SEARCH_USERS`]: a username that starts with the query;
/// one with a part that does, after a `_`, `.` or `-`; display words of which
/// one starts the query's words (`None` when the query has none).
fn search_patterns(query: &PeopleQuery) -> ([String; 4], Option<String>) {
    let text = like_literal(query.text());
    let usernames = [format!("{text}%"), format!("%\\_{text}%"), format!("%.{text}%"), format!("%-{text}%")];
    let words = (!query.words().is_empty()).then(|| format!("%{}%", like_literal(query.words())));
    (usernames, words)
}

/// Reads every user: a word can start anywhere in a name, which no b-tree
/// finds. Usernames, display words and the query are all in lower case
/// already, so LIKE compares them as they are.
pub(crate) const SEARCH_USERS: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE u.username LIKE $1 ESCAPE '\\' OR u.username LIKE $2 ESCAPE '\\'",
    " OR u.username LIKE $3 ESCAPE '\\' OR u.username LIKE $4 ESCAPE '\\' OR u.display_words LIKE $5 ESCAPE '\\'",
    " ORDER BY u.username NOT LIKE $1 ESCAPE '\\', u.username LIMIT $6"
);

/// Gives users written before `display_words` existed theirs (migration
/// 0003). Nodes starting at once may both do it: they write the same words.
pub(crate) async fn fill_display_words(pool: &PgPool) -> Result<()> {
    let missing: Vec<(Uuid, String)> = sqlx::query_as("SELECT id, display_name FROM users WHERE display_words IS NULL")
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    if missing.is_empty() {
        return Ok(());
    }
    let (ids, words): (Vec<Uuid>, Vec<String>) =
        missing.iter().map(|(id, display_name)| (*id, search::words(display_name))).unzip();
    sqlx::query(
        "UPDATE users u SET display_words = w.words FROM UNNEST($1::uuid[], $2::text[]) AS w (id, words) \
         WHERE u.id = w.id",
    )
    .bind(ids)
    .bind(words)
    .execute(pool)
    .await
    .map_err(db_err)?;
    tracing::info!(users = missing.len(), "postgres: display words filled in");
    Ok(())
}

/// PostgreSQL text cannot hold NUL: a key with one (from a URL, say) is a key
/// nothing was stored under, not a reason for an `internal` error.
fn storable(key: &str) -> bool {
    !key.contains('\0')
}

#[async_trait]
impl UserStore for PostgresStore {
    async fn create_user(&self, user: &User, password_hash: &str, admission: &Admission<'_>) -> Result<Admitted> {
        if admission.invite.is_some_and(|code| !storable(code)) {
            return Err(accounts::invite_unusable());
        }
        names::create_user(&self.pool, user, password_hash, admission).await
    }

    async fn has_users(&self) -> Result<bool> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)").fetch_one(&self.pool).await.map_err(db_err)
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        sqlx::query_as::<_, UserRow>(concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = $1"))
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(UserRow::decode)
            .transpose()
    }

    async fn credentials(&self, username: &Username) -> Result<Option<(User, String)>> {
        sqlx::query_as::<_, CredentialsRow>(concat!(
            "SELECT ",
            user_columns!(),
            ", u.password_hash FROM users u WHERE u.username = $1"
        ))
        .bind(username.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(CredentialsRow::decode)
        .transpose()
    }

    async fn search_users(&self, query: &PeopleQuery, limit: u32) -> Result<Vec<User>> {
        if !storable(query.text()) {
            return Ok(Vec::new());
        }
        let ([prefix, after_underscore, after_dot, after_dash], words) = search_patterns(query);
        sqlx::query_as::<_, UserRow>(SEARCH_USERS)
            .bind(prefix)
            .bind(after_underscore)
            .bind(after_dot)
            .bind(after_dash)
            .bind(words)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(UserRow::decode)
            .collect()
    }

    async fn set_display_name(&self, id: UserId, display_name: &str) -> Result<()> {
        names::set_display_name(&self.pool, id, display_name).await
    }

    async fn set_password(&self, id: UserId, password_hash: &str) -> Result<()> {
        let result = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(password_hash)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        changed_user(result.rows_affected())
    }

    async fn set_server_role(&self, id: UserId, role: ServerRole) -> Result<()> {
        let result = sqlx::query("UPDATE users SET role = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(role.as_str())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        changed_user(result.rows_affected())
    }

    async fn set_blocked(&self, user: UserId, other: UserId, at: Option<Timestamp>) -> Result<()> {
        self.block(user, other, at).await
    }

    async fn blocked(&self, user: UserId) -> Result<Vec<User>> {
        sqlx::query_as::<_, UserRow>(concat!(
            "SELECT ",
            user_columns!(),
            " FROM blocks k JOIN users u ON u.id = k.blocked_id WHERE k.user_id = $1",
            " ORDER BY k.blocked_at DESC, u.username"
        ))
        .bind(user.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(UserRow::decode)
        .collect()
    }

    async fn set_deactivated(&self, id: UserId, at: Option<Timestamp>) -> Result<()> {
        let result = sqlx::query("UPDATE users SET deactivated_at = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(at.map(to_db).transpose()?)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        changed_user(result.rows_affected())
    }
}

impl PostgresStore {
    pub(crate) async fn block(&self, user: UserId, other: UserId, at: Option<Timestamp>) -> Result<()> {
        let query = match at {
            Some(at) => sqlx::query(
                "INSERT INTO blocks (user_id, blocked_id, blocked_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(user.as_uuid())
            .bind(other.as_uuid())
            .bind(to_db(at)?),
            None => sqlx::query("DELETE FROM blocks WHERE user_id = $1 AND blocked_id = $2")
                .bind(user.as_uuid())
                .bind(other.as_uuid()),
        };
        query.execute(&self.pool).await.map_err(db_err)?;
        Ok(())
    }
}

/// An update of one user found them, or says they are not there.
fn changed_user(rows: u64) -> Result<()> {
    match rows {
        0 => Err(Error::not_found("user not found")),
        _ => Ok(()),
    }
}

#[async_trait]
impl SessionStore for PostgresStore {
    async fn create_session(&self, session: &Session) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&session.token_hash)
        .bind(session.user_id.as_uuid())
        .bind(to_db(session.created_at)?)
        .bind(to_db(session.expires_at)?)
        .bind(to_db(session.last_seen_at)?)
        .bind(session.user_agent.as_deref())
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn session_user(&self, token_hash: &str, now: Timestamp) -> Result<Option<(User, Session)>> {
        if !storable(token_hash) {
            return Ok(None);
        }
        sqlx::query_as::<_, SessionUserRow>(concat!(
            "SELECT ",
            user_columns!(),
            ", ",
            session_columns!(),
            " FROM sessions s JOIN users u ON u.id = s.user_id",
            " WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.deactivated_at IS NULL"
        ))
        .bind(token_hash)
        .bind(to_db(now)?)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(SessionUserRow::decode)
        .transpose()
    }

    async fn touch_session(&self, token_hash: &str, at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(to_db(at)?)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn sessions(&self, user: UserId, now: Timestamp) -> Result<Vec<Session>> {
        let rows = sqlx::query_as::<_, SessionRow>(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions s WHERE s.user_id = $1 AND s.expires_at > $2",
            " ORDER BY coalesce(s.last_seen_at, s.created_at) DESC, s.token_hash"
        ))
        .bind(user.as_uuid())
        .bind(to_db(now)?)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(SessionRow::decode).collect())
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        if !storable(token_hash) {
            return Ok(());
        }
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn delete_sessions(&self, user: UserId, keep: Option<&str>) -> Result<Vec<String>> {
        sqlx::query_scalar(
            "DELETE FROM sessions WHERE user_id = $1 AND ($2::text IS NULL OR token_hash <> $2) RETURNING token_hash",
        )
        .bind(user.as_uuid())
        .bind(keep)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)
    }

    async fn create_reset(&self, reset: &PasswordReset) -> Result<()> {
        sqlx::query(
            "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&reset.token_hash)
        .bind(reset.user_id.as_uuid())
        .bind(to_db(reset.created_at)?)
        .bind(to_db(reset.expires_at)?)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn use_reset(&self, token_hash: &str, now: Timestamp) -> Result<Option<UserId>> {
        if !storable(token_hash) {
            return Ok(None);
        }
        let user: Option<Uuid> = sqlx::query_scalar(
            "UPDATE password_resets SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL \
             AND expires_at > $2 RETURNING user_id",
        )
        .bind(token_hash)
        .bind(to_db(now)?)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(user.map(UserId::from_uuid))
    }
}

#[async_trait]
impl InviteStore for PostgresStore {
    async fn create_invite(&self, invite: &Invite) -> Result<()> {
        sqlx::query(concat!("INSERT INTO invites (", invite_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(&invite.code)
            .bind(invite.channel_id.map(|c| c.as_uuid()))
            .bind(invite.created_by.as_uuid())
            .bind(to_db(invite.created_at)?)
            .bind(invite.expires_at.map(to_db).transpose()?)
            .bind(invite.max_uses.map(i64::from))
            .bind(i64::from(invite.uses))
            .execute(&self.pool)
            .await
            .map_err(conflict_as("invite code exists"))?;
        Ok(())
    }

    async fn invite(&self, code: &str) -> Result<Option<Invite>> {
        if !storable(code) {
            return Ok(None);
        }
        sqlx::query_as::<_, InviteRow>(concat!("SELECT ", invite_columns!(), " FROM invites WHERE code = $1"))
            .bind(code)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(InviteRow::decode)
            .transpose()
    }

    async fn use_invite(&self, code: &str, now: Timestamp) -> Result<Option<Invite>> {
        if !storable(code) {
            return Ok(None);
        }
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        names::use_invite(&mut conn, code, now).await
    }

    async fn invites(&self, channel: Option<ChannelId>) -> Result<Vec<Invite>> {
        sqlx::query_as::<_, InviteRow>(concat!(
            "SELECT ",
            invite_columns!(),
            " FROM invites WHERE channel_id IS NOT DISTINCT FROM $1 ORDER BY created_at DESC, code"
        ))
        .bind(channel.map(|c| c.as_uuid()))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(InviteRow::decode)
        .collect()
    }

    async fn delete_invite(&self, code: &str) -> Result<bool> {
        if !storable(code) {
            return Ok(false);
        }
        let result =
            sqlx::query("DELETE FROM invites WHERE code = $1").bind(code).execute(&self.pool).await.map_err(db_err)?;
        Ok(result.rows_affected() > 0)
    }
}

#[async_trait]
impl HookStore for PostgresStore {
    async fn create_hook(&self, hook: &Webhook) -> Result<()> {
        sqlx::query(concat!("INSERT INTO webhooks (", hook_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(hook.id.as_uuid())
            .bind(&hook.token_hash)
            .bind(hook.channel_id.as_uuid())
            .bind(hook.bot_id.as_uuid())
            .bind(&hook.name)
            .bind(hook.created_by.as_uuid())
            .bind(to_db(hook.created_at)?)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn hook_by_token(&self, token_hash: &str) -> Result<Option<Webhook>> {
        if !storable(token_hash) {
            return Ok(None);
        }
        let row =
            sqlx::query_as::<_, HookRow>(concat!("SELECT ", hook_columns!(), " FROM webhooks WHERE token_hash = $1"))
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(row.map(HookRow::decode))
    }

    async fn hook(&self, id: WebhookId) -> Result<Option<Webhook>> {
        let row = sqlx::query_as::<_, HookRow>(concat!("SELECT ", hook_columns!(), " FROM webhooks WHERE id = $1"))
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(row.map(HookRow::decode))
    }

    async fn hooks(&self, channel: ChannelId) -> Result<Vec<Webhook>> {
        let rows = sqlx::query_as::<_, HookRow>(concat!(
            "SELECT ",
            hook_columns!(),
            " FROM webhooks WHERE channel_id = $1 ORDER BY created_at DESC, id"
        ))
        .bind(channel.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(HookRow::decode).collect())
    }

    async fn delete_hook(&self, id: WebhookId) -> Result<()> {
        sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

#[async_trait]
impl AuditStore for PostgresStore {
    async fn record(&self, entry: &AuditEntry) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit (at, actor_id, action, user_id, channel_id, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(to_db(entry.at)?)
        .bind(entry.actor_id.as_uuid())
        .bind(&entry.action)
        .bind(entry.user_id.map(|u| u.as_uuid()))
        .bind(entry.channel_id.map(|c| c.as_uuid()))
        .bind(&entry.detail)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn audit(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query_as::<_, AuditRow>(
            "SELECT id, at, actor_id, action, user_id, channel_id, detail FROM audit \
             WHERE $1::bigint IS NULL OR id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(AuditRow::decode).collect())
    }
}

#[async_trait]
impl Health for PostgresStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db_err)?;
        Ok(())
    }

    /// Waits for the connections in use, then closes every connection.
    async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use parley_core::search::PeopleQuery;

    use super::{like_literal, search_patterns};

    #[test]
    fn like_literal_escapes_wildcards() {
        assert_eq!(like_literal("al"), "al");
        assert_eq!(like_literal("a_%\\"), "a\\_\\%\\\\");
        assert_eq!(like_literal(""), "");
    }

    #[test]
    fn search_patterns_of_a_query() {
        let (usernames, words) = search_patterns(&PeopleQuery::parse("Jo_n").unwrap());
        assert_eq!(usernames, ["jo\\_n%", "%\\_jo\\_n%", "%.jo\\_n%", "%-jo\\_n%"]);
        assert_eq!(words.as_deref(), Some("% jo n%"));
        let (usernames, words) = search_patterns(&PeopleQuery::parse("%").unwrap());
        assert_eq!(usernames[0], "\\%%");
        assert_eq!(words, None, "no letter or digit: no display name matches");
    }
}
