//! Accounts, sessions, invites and the audit log (`UserStore`,
//! `SessionStore`, `InviteStore`, `AuditStore`), and `Health`.

use async_trait::async_trait;
use parley_core::accounts::{Admission, Admitted};
use parley_core::id::{ChannelId, UserId, WebhookId};
use parley_core::model::{AuditEntry, Invite, PasswordReset, ServerRole, Session, User, Webhook};
use parley_core::parse::Username;
use parley_core::ports::{AuditStore, Health, HookStore, InviteStore, SessionStore, UserStore};
use parley_core::search::{self, PeopleQuery};
use parley_core::time::Timestamp;
use parley_core::{Error, Result};
use sqlx::SqlitePool;

use crate::error::{conflict_as, db_err, write_err};
use crate::names::{self, NewUser};
use crate::rows::{
    hook_columns, id, invite_columns, session_columns, user_columns, AuditRow, CredentialsRow, HookRow, InviteRow,
    SessionRow, SessionUserRow, UserRow,
};
use crate::SqliteStore;

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

/// Reads every user: a word can start anywhere in a name, which no index
/// finds. LIKE is case-insensitive for ASCII here, but nothing needs it to be:
/// usernames, display words and the query are all in lower case already.
pub(crate) const SEARCH_USERS: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE u.username LIKE ?1 ESCAPE '\\' OR u.username LIKE ?2 ESCAPE '\\'",
    " OR u.username LIKE ?3 ESCAPE '\\' OR u.username LIKE ?4 ESCAPE '\\' OR u.display_words LIKE ?5 ESCAPE '\\'",
    " ORDER BY u.username NOT LIKE ?1 ESCAPE '\\', u.username LIMIT ?6"
);

/// Gives users written before `display_words` existed theirs (migration 0003).
pub(crate) async fn fill_display_words(pool: &SqlitePool) -> Result<()> {
    let missing: Vec<(String, String)> =
        sqlx::query_as("SELECT id, display_name FROM users WHERE display_words IS NULL")
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
    if missing.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin().await.map_err(db_err)?;
    for (id, display_name) in &missing {
        sqlx::query("UPDATE users SET display_words = ?2 WHERE id = ?1")
            .bind(id)
            .bind(search::words(display_name))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)?;
    tracing::info!(users = missing.len(), "sqlite: display words filled in");
    Ok(())
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, user: &User, password_hash: &str, admission: &Admission<'_>) -> Result<Admitted> {
        let user = NewUser {
            id: user.id.to_string(),
            username: user.username.as_str().to_owned(),
            display_name: user.display_name.clone(),
            password_hash: password_hash.to_owned(),
            created_at: user.created_at.millis(),
            bot: user.bot,
            policy: admission.policy,
            invite: admission.invite.map(str::to_owned),
            now: admission.now,
        };
        self.writer.run(move |conn| names::create_user(conn, user)).await
    }

    async fn has_users(&self) -> Result<bool> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)").fetch_one(&self.read).await.map_err(db_err)
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        sqlx::query_as::<_, UserRow>(concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = ?1"))
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?
            .map(UserRow::decode)
            .transpose()
    }

    async fn credentials(&self, username: &Username) -> Result<Option<(User, String)>> {
        sqlx::query_as::<_, CredentialsRow>(concat!(
            "SELECT ",
            user_columns!(),
            ", u.password_hash FROM users u WHERE u.username = ?1"
        ))
        .bind(username.as_str())
        .fetch_optional(&self.read)
        .await
        .map_err(db_err)?
        .map(CredentialsRow::decode)
        .transpose()
    }

    async fn search_users(&self, query: &PeopleQuery, limit: u32) -> Result<Vec<User>> {
        let ([prefix, after_underscore, after_dot, after_dash], words) = search_patterns(query);
        sqlx::query_as::<_, UserRow>(SEARCH_USERS)
            .bind(prefix)
            .bind(after_underscore)
            .bind(after_dot)
            .bind(after_dash)
            .bind(words)
            .bind(limit)
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(UserRow::decode)
            .collect()
    }

    async fn set_display_name(&self, id: UserId, display_name: &str) -> Result<()> {
        let (id, display_name) = (id.to_string(), display_name.to_owned());
        self.writer.run(move |conn| names::set_display_name(conn, &id, &display_name)).await
    }

    async fn set_password(&self, id: UserId, password_hash: &str) -> Result<()> {
        let row = (id.to_string(), password_hash.to_owned());
        changed_user(self.writer.execute("UPDATE users SET password_hash = ?2 WHERE id = ?1", row).await?)
    }

    async fn set_server_role(&self, id: UserId, role: ServerRole) -> Result<()> {
        let row = (id.to_string(), role.as_str());
        changed_user(self.writer.execute("UPDATE users SET role = ?2 WHERE id = ?1", row).await?)
    }

    async fn set_deactivated(&self, id: UserId, at: Option<Timestamp>) -> Result<()> {
        let row = (id.to_string(), at.map(Timestamp::millis));
        changed_user(self.writer.execute("UPDATE users SET deactivated_at = ?2 WHERE id = ?1", row).await?)
    }

    async fn set_blocked(&self, user: UserId, other: UserId, at: Option<Timestamp>) -> Result<()> {
        let (user, other) = (user.to_string(), other.to_string());
        match at {
            Some(at) => {
                let row = (user, other, at.millis());
                let sql = "INSERT OR IGNORE INTO blocks (user_id, blocked_id, blocked_at) VALUES (?1, ?2, ?3)";
                self.writer.execute(sql, row).await?
            }
            None => {
                self.writer.execute("DELETE FROM blocks WHERE user_id = ?1 AND blocked_id = ?2", (user, other)).await?
            }
        };
        Ok(())
    }

    async fn blocked(&self, user: UserId) -> Result<Vec<User>> {
        sqlx::query_as::<_, UserRow>(concat!(
            "SELECT ",
            user_columns!(),
            " FROM blocks k CROSS JOIN users u ON u.id = k.blocked_id WHERE k.user_id = ?1",
            " ORDER BY k.blocked_at DESC, u.username"
        ))
        .bind(user.to_string())
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(UserRow::decode)
        .collect()
    }
}

/// An update of one user found them, or says they are not there.
fn changed_user(rows: usize) -> Result<()> {
    match rows {
        0 => Err(Error::not_found("user not found")),
        _ => Ok(()),
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, session: &Session) -> Result<()> {
        let row = (
            session.token_hash.clone(),
            session.user_id.to_string(),
            session.created_at.millis(),
            session.expires_at.millis(),
            session.last_seen_at.millis(),
            session.user_agent.clone(),
        );
        self.writer
            .execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, user_agent) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                row,
            )
            .await?;
        Ok(())
    }

    async fn session_user(&self, token_hash: &str, now: Timestamp) -> Result<Option<(User, Session)>> {
        sqlx::query_as::<_, SessionUserRow>(concat!(
            "SELECT ",
            user_columns!(),
            ", ",
            session_columns!(),
            " FROM sessions s JOIN users u ON u.id = s.user_id",
            " WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.deactivated_at IS NULL"
        ))
        .bind(token_hash)
        .bind(now.millis())
        .fetch_optional(&self.read)
        .await
        .map_err(db_err)?
        .map(SessionUserRow::decode)
        .transpose()
    }

    async fn touch_session(&self, token_hash: &str, at: Timestamp) -> Result<()> {
        let row = (token_hash.to_owned(), at.millis());
        self.writer.execute("UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1", row).await?;
        Ok(())
    }

    async fn sessions(&self, user: UserId, now: Timestamp) -> Result<Vec<Session>> {
        sqlx::query_as::<_, SessionRow>(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions s WHERE s.user_id = ?1 AND s.expires_at > ?2",
            " ORDER BY coalesce(s.last_seen_at, s.created_at) DESC, s.token_hash"
        ))
        .bind(user.to_string())
        .bind(now.millis())
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(SessionRow::decode)
        .collect()
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let token_hash = token_hash.to_owned();
        self.writer.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash]).await?;
        Ok(())
    }

    async fn delete_sessions(&self, user: UserId, keep: Option<&str>) -> Result<Vec<String>> {
        let row = (user.to_string(), keep.map(str::to_owned));
        self.writer
            .run(move |conn| {
                conn.prepare_cached(
                    "DELETE FROM sessions WHERE user_id = ?1 AND (?2 IS NULL OR token_hash <> ?2) RETURNING token_hash",
                )
                .and_then(|mut statement| statement.query_map(row, |r| r.get(0))?.collect())
                .map_err(write_err)
            })
            .await
    }

    async fn create_reset(&self, reset: &PasswordReset) -> Result<()> {
        let row =
            (reset.token_hash.clone(), reset.user_id.to_string(), reset.created_at.millis(), reset.expires_at.millis());
        self.writer
            .execute(
                "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                row,
            )
            .await?;
        Ok(())
    }

    async fn use_reset(&self, token_hash: &str, now: Timestamp) -> Result<Option<UserId>> {
        let row = (token_hash.to_owned(), now.millis());
        let user: Option<String> = self
            .writer
            .returning(
                "UPDATE password_resets SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL \
                 AND expires_at > ?2 RETURNING user_id",
                row,
                |r| r.get(0),
            )
            .await?;
        user.map(|u| id("reset user", &u)).transpose()
    }
}

#[async_trait]
impl InviteStore for SqliteStore {
    async fn create_invite(&self, invite: &Invite) -> Result<()> {
        let row = (
            invite.code.clone(),
            invite.channel_id.map(|c| c.to_string()),
            invite.created_by.to_string(),
            invite.created_at.millis(),
            invite.expires_at.map(Timestamp::millis),
            invite.max_uses,
            invite.uses,
        );
        self.writer
            .execute(concat!("INSERT INTO invites (", invite_columns!(), ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"), row)
            .await
            .map_err(conflict_as("invite code exists"))?;
        Ok(())
    }

    async fn invite(&self, code: &str) -> Result<Option<Invite>> {
        sqlx::query_as::<_, InviteRow>(concat!("SELECT ", invite_columns!(), " FROM invites WHERE code = ?1"))
            .bind(code)
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?
            .map(InviteRow::decode)
            .transpose()
    }

    async fn use_invite(&self, code: &str, now: Timestamp) -> Result<Option<Invite>> {
        let code = code.to_owned();
        self.writer.run(move |conn| names::use_invite(conn, &code, now)).await
    }

    async fn invites(&self, channel: Option<ChannelId>) -> Result<Vec<Invite>> {
        sqlx::query_as::<_, InviteRow>(concat!(
            "SELECT ",
            invite_columns!(),
            " FROM invites WHERE channel_id IS ?1 ORDER BY created_at DESC, code"
        ))
        .bind(channel.map(|c| c.to_string()))
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(InviteRow::decode)
        .collect()
    }

    async fn delete_invite(&self, code: &str) -> Result<bool> {
        let code = code.to_owned();
        Ok(self.writer.execute("DELETE FROM invites WHERE code = ?1", [code]).await? > 0)
    }
}

#[async_trait]
impl HookStore for SqliteStore {
    async fn create_hook(&self, hook: &Webhook) -> Result<()> {
        let row = (
            hook.id.to_string(),
            hook.token_hash.clone(),
            hook.channel_id.to_string(),
            hook.bot_id.to_string(),
            hook.name.clone(),
            hook.created_by.to_string(),
            hook.created_at.millis(),
        );
        self.writer
            .execute(concat!("INSERT INTO webhooks (", hook_columns!(), ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"), row)
            .await?;
        Ok(())
    }

    async fn hook_by_token(&self, token_hash: &str) -> Result<Option<Webhook>> {
        sqlx::query_as::<_, HookRow>(concat!("SELECT ", hook_columns!(), " FROM webhooks WHERE token_hash = ?1"))
            .bind(token_hash)
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?
            .map(HookRow::decode)
            .transpose()
    }

    async fn hook(&self, id: WebhookId) -> Result<Option<Webhook>> {
        sqlx::query_as::<_, HookRow>(concat!("SELECT ", hook_columns!(), " FROM webhooks WHERE id = ?1"))
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?
            .map(HookRow::decode)
            .transpose()
    }

    async fn hooks(&self, channel: ChannelId) -> Result<Vec<Webhook>> {
        sqlx::query_as::<_, HookRow>(concat!(
            "SELECT ",
            hook_columns!(),
            " FROM webhooks WHERE channel_id = ?1 ORDER BY created_at DESC, id"
        ))
        .bind(channel.to_string())
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(HookRow::decode)
        .collect()
    }

    async fn delete_hook(&self, id: WebhookId) -> Result<()> {
        self.writer.execute("DELETE FROM webhooks WHERE id = ?1", [id.to_string()]).await?;
        Ok(())
    }
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn record(&self, entry: &AuditEntry) -> Result<()> {
        let row = (
            entry.at.millis(),
            entry.actor_id.to_string(),
            entry.action.clone(),
            entry.user_id.map(|u| u.to_string()),
            entry.channel_id.map(|c| c.to_string()),
            entry.detail.clone(),
        );
        self.writer
            .execute(
                "INSERT INTO audit (at, actor_id, action, user_id, channel_id, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                row,
            )
            .await?;
        Ok(())
    }

    async fn audit(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditEntry>> {
        sqlx::query_as::<_, AuditRow>(
            "SELECT id, at, actor_id, action, user_id, channel_id, detail FROM audit \
             WHERE ?1 IS NULL OR id < ?1 ORDER BY id DESC LIMIT ?2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(AuditRow::decode)
        .collect()
    }
}

#[async_trait]
impl Health for SqliteStore {
    /// Both ways in: the read pool, and the writer thread (behind whatever
    /// write it is doing, so at most one batch later).
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await.map_err(db_err)?;
        self.writer.run(|conn| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(write_err)).await
    }

    /// Waits for the connections in use, then closes every connection. The
    /// writer closes last so that, as the last connection, it checkpoints the WAL.
    async fn close(&self) {
        self.read.close().await;
        self.writer.close().await;
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
