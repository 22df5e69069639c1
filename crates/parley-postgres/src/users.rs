//! Accounts, sessions and invites (`UserStore`, `SessionStore`, `InviteStore`), and `Health`.

use async_trait::async_trait;
use parley_core::id::UserId;
use parley_core::model::{Invite, Session, User};
use parley_core::parse::Username;
use parley_core::ports::{Health, InviteStore, SessionStore, UserStore};
use parley_core::search::{self, PeopleQuery};
use parley_core::time::Timestamp;
use parley_core::Result;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{conflict_as, db_err};
use crate::rows::{invite_columns, to_db, user_columns, CredentialsRow, InviteRow, UserRow};
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
    async fn create_user(&self, user: &User, password_hash: &str) -> Result<()> {
        names::create_user(&self.pool, user, password_hash).await
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
}

#[async_trait]
impl SessionStore for PostgresStore {
    async fn create_session(&self, session: &Session) -> Result<()> {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(&session.token_hash)
            .bind(session.user_id.as_uuid())
            .bind(to_db(session.created_at)?)
            .bind(to_db(session.expires_at)?)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn session_user(&self, token_hash: &str, now: Timestamp) -> Result<Option<User>> {
        if !storable(token_hash) {
            return Ok(None);
        }
        sqlx::query_as::<_, UserRow>(concat!(
            "SELECT ",
            user_columns!(),
            " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2"
        ))
        .bind(token_hash)
        .bind(to_db(now)?)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(UserRow::decode)
        .transpose()
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
}

#[async_trait]
impl InviteStore for PostgresStore {
    async fn create_invite(&self, invite: &Invite) -> Result<()> {
        sqlx::query(concat!("INSERT INTO invites (", invite_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(&invite.code)
            .bind(invite.channel_id.as_uuid())
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
        // Check and count in one statement: two people taking the last use at
        // once cannot both get it (the second waits for the first's row lock,
        // then re-checks the WHERE against the row as the first left it).
        // Same test as `Invite::usable_at`.
        sqlx::query_as::<_, InviteRow>(concat!(
            "UPDATE invites SET uses = uses + 1 WHERE code = $1",
            " AND (expires_at IS NULL OR expires_at > $2) AND (max_uses IS NULL OR uses < max_uses)",
            " RETURNING ",
            invite_columns!()
        ))
        .bind(code)
        .bind(to_db(now)?)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(InviteRow::decode)
        .transpose()
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
