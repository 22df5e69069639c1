//! Accounts, sessions and invites (`UserStore`, `SessionStore`, `InviteStore`), and `Health`.

use async_trait::async_trait;
use parley_core::id::UserId;
use parley_core::model::{Invite, Session, User};
use parley_core::parse::Username;
use parley_core::ports::{Health, InviteStore, SessionStore, UserStore};
use parley_core::time::Timestamp;
use parley_core::{Error, Result};

use crate::error::{conflict_as, db_err};
use crate::rows::{invite_columns, to_db, user_columns, CredentialsRow, InviteRow, UserRow};
use crate::PostgresStore;

/// The range of usernames that start with `prefix`, or `None` when none can.
///
/// Usernames are lower-case ASCII from `Username::parse`'s alphabet, so the
/// prefix is lower-cased the same way (search is case-insensitive, as on
/// SQLite) and one with any other character matches nothing. The range is
/// `[prefix, prefix + U+10FFFF)` in the column's byte order (COLLATE "C"): an
/// index range scan whatever the prefix, and `%`, `_` and `\` are plain
/// characters with no escaping. (A `LIKE $1` pattern would only use the index
/// in a plan made for its value, not in a prepared statement's generic plan.)
fn prefix_range(prefix: &str) -> Option<(String, String)> {
    let prefix = prefix.to_ascii_lowercase();
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-');
    if !prefix.bytes().all(allowed) {
        return None;
    }
    let end = format!("{prefix}{}", char::MAX);
    Some((prefix, end))
}

pub(crate) const SEARCH_USERS: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE u.username >= $1 AND u.username < $2 ORDER BY u.username LIMIT $3"
);

/// PostgreSQL text cannot hold NUL: a key with one (from a URL, say) is a key
/// nothing was stored under, not a reason for an `internal` error.
fn storable(key: &str) -> bool {
    !key.contains('\0')
}

#[async_trait]
impl UserStore for PostgresStore {
    async fn create_user(&self, user: &User, password_hash: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(user.id.as_uuid())
        .bind(user.username.as_str())
        .bind(&user.display_name)
        .bind(password_hash)
        .bind(to_db(user.created_at)?)
        .execute(&self.pool)
        .await
        .map_err(conflict_as("username is taken"))?;
        Ok(())
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

    async fn search_users(&self, prefix: &str, limit: u32) -> Result<Vec<User>> {
        let Some((start, end)) = prefix_range(prefix) else {
            return Ok(Vec::new());
        };
        sqlx::query_as::<_, UserRow>(SEARCH_USERS)
            .bind(start)
            .bind(end)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(UserRow::decode)
            .collect()
    }

    async fn set_display_name(&self, id: UserId, display_name: &str) -> Result<()> {
        let done = sqlx::query("UPDATE users SET display_name = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(display_name)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found("user not found"));
        }
        Ok(())
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
}

#[cfg(test)]
mod tests {
    use super::prefix_range;

    #[test]
    fn prefix_range_is_literal_and_lower_case() {
        let (start, end) = prefix_range("Al_").unwrap();
        assert_eq!(start, "al_");
        assert!(["al_", "al_ice", "al_zzzzzzzz"].iter().all(|u| start.as_str() <= *u && *u < end.as_str()));
        assert!(["al", "ala", "al`", "alz"].iter().all(|u| !(start.as_str() <= *u && *u < end.as_str())));
        assert_eq!(prefix_range("").map(|(s, _)| s), Some(String::new()));
        for impossible in ["%", "a%", "a\\", "a b", "é", "a\0"] {
            assert_eq!(prefix_range(impossible), None, "{impossible:?}");
        }
    }
}
