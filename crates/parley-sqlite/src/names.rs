//! Names that look like another user's: the look-alike keys kept beside each
//! user's names (migration 0004), and the writes that check them.
//!
//! A check and the write it guards run in one job of the one writer
//! connection, so no other write comes between them: two look-alike names
//! sent at once are stored one after the other, and the second is refused.

use parley_core::accounts::{self, Admission, Admitted, Registration};
use parley_core::model::Invite;
use parley_core::names::{self, NameClash, NameKeys};
use parley_core::search;
use parley_core::time::Timestamp;
use parley_core::{Error, ErrorCode, Result};
use rusqlite::{Connection, OptionalExtension};
use sqlx::SqlitePool;

use crate::error::{db_err, write_err};
use crate::rows::{invite_columns, InviteRow};

/// The users other than `?1` holding any of the keys `?2`–`?4`, with their
/// names' keys. Three index probes per key (see the plans test).
pub(crate) const LOOK_ALIKES: &str = "SELECT username, username_skeleton, display_skeleton, display_skeleton_caseless \
     FROM users WHERE id <> ?1 AND (username_skeleton IN (?2, ?3, ?4) OR display_skeleton IN (?2, ?3, ?4) \
     OR display_skeleton_caseless IN (?2, ?3, ?4))";

const INSERT_USER: &str = "INSERT INTO users (id, username, display_name, display_words, password_hash, created_at, \
     username_skeleton, display_skeleton, display_skeleton_caseless, role, bot) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

/// A user to store, as `create_user` was given it, with how they come in.
pub(crate) struct NewUser {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub created_at: i64,
    pub bot: bool,
    pub policy: Registration,
    pub invite: Option<String>,
    pub now: Timestamp,
}

/// Keys read back; `None` (a user the fill has not reached) holds no key.
fn keys_of(username: Option<String>, display: Option<String>, caseless: Option<String>) -> NameKeys {
    NameKeys { username: username.unwrap_or_default(), display: [display, caseless].map(Option::unwrap_or_default) }
}

/// Who other than `me` holds one of `keys` (one to three of them), as
/// (username, their keys).
fn look_alikes(conn: &Connection, me: &str, keys: &[&str]) -> rusqlite::Result<Vec<(String, NameKeys)>> {
    let key = |i: usize| keys.get(i).or(keys.first()).copied().unwrap_or_default();
    let mut statement = conn.prepare_cached(LOOK_ALIKES)?;
    let rows = statement.query_map((me, key(0), key(1), key(2)), |row| {
        Ok((row.get::<_, String>(0)?, keys_of(row.get(1)?, row.get(2)?, row.get(3)?)))
    })?;
    rows.collect()
}

/// Stores `user` unless a name of theirs is taken or looks like another
/// user's, or the server's sign-up does not let them in; counts the invite
/// they bring in the same transaction. Runs on the writer.
pub(crate) fn create_user(conn: &mut Connection, user: NewUser) -> Result<Admitted> {
    let tx = conn.transaction().map_err(write_err)?;
    let first = !tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM users)")
        .and_then(|mut statement| statement.query_row([], |row| row.get::<_, bool>(0)))
        .map_err(write_err)?;
    let admission = Admission { policy: user.policy, invite: user.invite.as_deref(), now: user.now };
    accounts::check(&admission, first)?;
    let invite = match &user.invite {
        Some(code) => Some(use_invite(&tx, code, user.now)?.ok_or_else(accounts::invite_unusable)?),
        None => None,
    };
    let keys = NameKeys::of(&user.username, &user.display_name);
    let others = look_alikes(&tx, &user.id, &keys.all()).map_err(write_err)?;
    let others = others.iter().map(|(username, keys)| (username.as_str(), keys));
    if let Some(clash) = names::registration_clash(&user.username, &keys, others) {
        return Err(clash.into());
    }
    let role = accounts::role(first);
    let [display, caseless] = &keys.display;
    let row = (
        &user.id,
        &user.username,
        &user.display_name,
        search::words(&user.display_name),
        &user.password_hash,
        user.created_at,
        &keys.username,
        display,
        caseless,
        role.as_str(),
        user.bot,
    );
    tx.prepare_cached(INSERT_USER).and_then(|mut statement| statement.execute(row)).map_err(|e| {
        // The unique username, should a name ever slip past the check.
        match write_err(e) {
            e if e.code == ErrorCode::Conflict => NameClash::UsernameTaken.into(),
            e => e,
        }
    })?;
    tx.commit().map_err(write_err)?;
    Ok(Admitted { role, invite })
}

/// Counts one use of invite `code` if it is still usable at `now`: the
/// check and the count are one statement, so two people taking the last use
/// at once cannot both get it. Same test as `Invite::usable_at`.
pub(crate) fn use_invite(conn: &Connection, code: &str, now: Timestamp) -> Result<Option<Invite>> {
    conn.prepare_cached(concat!(
        "UPDATE invites SET uses = uses + 1 WHERE code = ?1",
        " AND (expires_at IS NULL OR expires_at > ?2) AND (max_uses IS NULL OR uses < max_uses)",
        " RETURNING ",
        invite_columns!()
    ))
    .and_then(|mut statement| statement.query_map((code, now.millis()), InviteRow::from_row)?.collect())
    .map_err(write_err)
    .and_then(|rows: Vec<InviteRow>| rows.into_iter().next().map(InviteRow::decode).transpose())
}

/// Renames user `id` unless the new name looks like another user's (one the
/// user already holds is theirs to keep); runs on the writer.
pub(crate) fn set_display_name(conn: &Connection, id: &str, display_name: &str) -> Result<()> {
    let mine = conn
        .prepare_cached(
            "SELECT username_skeleton, display_skeleton, display_skeleton_caseless FROM users WHERE id = ?1",
        )
        .and_then(|mut statement| {
            statement.query_row([id], |row| Ok(keys_of(row.get(0)?, row.get(1)?, row.get(2)?))).optional()
        })
        .map_err(write_err)?
        .ok_or_else(|| Error::not_found("user not found"))?;
    let new = names::new_display_keys(display_name, &mine);
    if !new.is_empty() {
        let new: Vec<&str> = new.iter().map(String::as_str).collect();
        if !look_alikes(conn, id, &new).map_err(write_err)?.is_empty() {
            return Err(NameClash::DisplayNameLooksTaken.into());
        }
    }
    let [display, caseless] = names::display_keys(display_name);
    let row = (id, display_name, search::words(display_name), display, caseless);
    conn.prepare_cached(
        "UPDATE users SET display_name = ?2, display_words = ?3, display_skeleton = ?4, \
         display_skeleton_caseless = ?5 WHERE id = ?1",
    )
    .and_then(|mut statement| statement.execute(row))
    .map_err(write_err)?;
    Ok(())
}

/// Gives users written before migration 0004 their keys, whatever their
/// names look like: names stored before are not refused after the fact.
pub(crate) async fn fill_name_skeletons(pool: &SqlitePool) -> Result<()> {
    let missing: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT id, username, display_name FROM users WHERE username_skeleton IS NULL \
         OR display_skeleton IS NULL OR display_skeleton_caseless IS NULL",
    )
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    if missing.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin().await.map_err(db_err)?;
    for (id, username, display_name) in &missing {
        let keys = NameKeys::of(username, display_name);
        let [display, caseless] = keys.display;
        sqlx::query(
            "UPDATE users SET username_skeleton = ?2, display_skeleton = ?3, display_skeleton_caseless = ?4 \
             WHERE id = ?1",
        )
        .bind(id)
        .bind(keys.username)
        .bind(display)
        .bind(caseless)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)?;
    tracing::info!(users = missing.len(), "sqlite: name skeletons filled in");
    Ok(())
}
