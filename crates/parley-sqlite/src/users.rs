//! Accounts, sessions and invites (`UserStore`, `SessionStore`, `InviteStore`), and `Health`.

use async_trait::async_trait;
use parley_core::id::UserId;
use parley_core::model::{Invite, Session, User};
use parley_core::parse::Username;
use parley_core::ports::{Health, InviteStore, SessionStore, UserStore};
use parley_core::search::{self, PeopleQuery};
use parley_core::time::Timestamp;
use parley_core::Result;
use sqlx::SqlitePool;

use crate::error::{conflict_as, db_err, write_err};
use crate::names::{self, NewUser};
use crate::rows::{invite_columns, user_columns, CredentialsRow, InviteRow, UserRow};
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
    async fn create_user(&self, user: &User, password_hash: &str) -> Result<()> {
        let user = NewUser {
            id: user.id.to_string(),
            username: user.username.as_str().to_owned(),
            display_name: user.display_name.clone(),
            password_hash: password_hash.to_owned(),
            created_at: user.created_at.millis(),
        };
        self.writer.run(move |conn| names::create_user(conn, user)).await
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
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, session: &Session) -> Result<()> {
        let row = (
            session.token_hash.clone(),
            session.user_id.to_string(),
            session.created_at.millis(),
            session.expires_at.millis(),
        );
        self.writer
            .execute("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)", row)
            .await?;
        Ok(())
    }

    async fn session_user(&self, token_hash: &str, now: Timestamp) -> Result<Option<User>> {
        sqlx::query_as::<_, UserRow>(concat!(
            "SELECT ",
            user_columns!(),
            " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1 AND s.expires_at > ?2"
        ))
        .bind(token_hash)
        .bind(now.millis())
        .fetch_optional(&self.read)
        .await
        .map_err(db_err)?
        .map(UserRow::decode)
        .transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let token_hash = token_hash.to_owned();
        self.writer.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash]).await?;
        Ok(())
    }
}

#[async_trait]
impl InviteStore for SqliteStore {
    async fn create_invite(&self, invite: &Invite) -> Result<()> {
        let row = (
            invite.code.clone(),
            invite.channel_id.to_string(),
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
        // Check and count in one statement: two people taking the last use at
        // once cannot both get it. Same test as `Invite::usable_at`.
        let row = (code.to_owned(), now.millis());
        self.writer
            .returning(
                concat!(
                    "UPDATE invites SET uses = uses + 1 WHERE code = ?1",
                    " AND (expires_at IS NULL OR expires_at > ?2) AND (max_uses IS NULL OR uses < max_uses)",
                    " RETURNING ",
                    invite_columns!()
                ),
                row,
                InviteRow::from_row,
            )
            .await?
            .map(InviteRow::decode)
            .transpose()
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
