//! Names that look like another user's: the look-alike keys kept beside each
//! user's names (migration 0004), and the writes that check them.
//!
//! Several nodes write users at once. Each check and the write it guards run
//! in one transaction that first takes [`NAMES_LOCK`]; the check's statement
//! starts after the lock is granted, so it sees every name written by a
//! transaction that held the lock before. Two look-alike names sent at once
//! are thus stored one after the other, and the second is refused. One lock
//! for every name: registrations and renames are rare, the lock is held for
//! one read and one write (passwords are hashed before), and a lock per key
//! would have to be taken in one order everywhere to never deadlock.

use parley_core::accounts::{self, Admission, Admitted};
use parley_core::id::UserId;
use parley_core::model::{Invite, User};
use parley_core::names::{self, NameClash, NameKeys};
use parley_core::search;
use parley_core::{Error, ErrorCode, Result};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::db_err;
use crate::rows::{invite_columns, to_db, InviteRow};
use parley_core::time::Timestamp;

/// The transaction-scoped advisory lock every name write takes (the
/// two-key form, apart from the migrator's one-key lock): "parl", 1.
const NAMES_LOCK: (i32, i32) = (0x7061_726c, 1);

/// The users other than `$1` holding any of the keys `$2`, with their names'
/// keys. An index scan per column (see the plans test).
pub(crate) const LOOK_ALIKES: &str = "SELECT username, username_skeleton, display_skeleton, display_skeleton_caseless \
     FROM users WHERE id <> $1 AND (username_skeleton = ANY($2) OR display_skeleton = ANY($2) \
     OR display_skeleton_caseless = ANY($2))";

type LookAlike = (String, Option<String>, Option<String>, Option<String>);

async fn lock_names(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind(NAMES_LOCK.0)
        .bind(NAMES_LOCK.1)
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Keys read back; `None` (a user the fill has not reached) holds no key.
fn keys_of(username: Option<String>, display: Option<String>, caseless: Option<String>) -> NameKeys {
    NameKeys { username: username.unwrap_or_default(), display: [display, caseless].map(Option::unwrap_or_default) }
}

/// Who other than `me` holds one of `keys`, as (username, their keys).
async fn look_alikes(conn: &mut PgConnection, me: Uuid, keys: &[&str]) -> Result<Vec<(String, NameKeys)>> {
    let rows: Vec<LookAlike> = sqlx::query_as(LOOK_ALIKES).bind(me).bind(keys).fetch_all(conn).await.map_err(db_err)?;
    Ok(rows.into_iter().map(|(username, u, d, c)| (username, keys_of(u, d, c))).collect())
}

/// Stores `user` unless a name of theirs is taken or looks like another
/// user's, or the server's sign-up does not let them in; counts the invite
/// they bring in the same transaction. Under the names lock, so two
/// sign-ups at once cannot both be the first.
pub(crate) async fn create_user(
    pool: &PgPool,
    user: &User,
    password_hash: &str,
    admission: &Admission<'_>,
) -> Result<Admitted> {
    let keys = NameKeys::of(user.username.as_str(), &user.display_name);
    let mut tx = pool.begin().await.map_err(db_err)?;
    lock_names(&mut tx).await?;
    let first: bool =
        !sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)").fetch_one(&mut *tx).await.map_err(db_err)?;
    accounts::check(admission, first)?;
    let invite = match admission.invite {
        Some(code) => Some(use_invite(&mut tx, code, admission.now).await?.ok_or_else(accounts::invite_unusable)?),
        None => None,
    };
    let others = look_alikes(&mut tx, user.id.as_uuid(), &keys.all()).await?;
    let others = others.iter().map(|(username, keys)| (username.as_str(), keys));
    if let Some(clash) = names::registration_clash(user.username.as_str(), &keys, others) {
        return Err(clash.into());
    }
    let role = accounts::role(first);
    let [display, caseless] = &keys.display;
    sqlx::query(
        "INSERT INTO users (id, username, display_name, display_words, password_hash, created_at, \
         username_skeleton, display_skeleton, display_skeleton_caseless, role, bot) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(user.id.as_uuid())
    .bind(user.username.as_str())
    .bind(&user.display_name)
    .bind(search::words(&user.display_name))
    .bind(password_hash)
    .bind(to_db(user.created_at)?)
    .bind(&keys.username)
    .bind(display)
    .bind(caseless)
    .bind(role.as_str())
    .bind(user.bot)
    .execute(&mut *tx)
    .await
    .map_err(|e| match db_err(e) {
        // The unique username, should a name ever slip past the check.
        e if e.code == ErrorCode::Conflict => NameClash::UsernameTaken.into(),
        e => e,
    })?;
    tx.commit().await.map_err(db_err)?;
    Ok(Admitted { role, invite })
}

/// Counts one use of invite `code` if it is still usable at `now`, in one
/// statement: two people taking the last use at once cannot both get it
/// (the second waits for the first's row lock, then re-checks the WHERE
/// against the row as the first left it). Same test as `Invite::usable_at`.
pub(crate) async fn use_invite(conn: &mut PgConnection, code: &str, now: Timestamp) -> Result<Option<Invite>> {
    sqlx::query_as::<_, InviteRow>(concat!(
        "UPDATE invites SET uses = uses + 1 WHERE code = $1",
        " AND (expires_at IS NULL OR expires_at > $2) AND (max_uses IS NULL OR uses < max_uses)",
        " RETURNING ",
        invite_columns!()
    ))
    .bind(code)
    .bind(to_db(now)?)
    .fetch_optional(conn)
    .await
    .map_err(db_err)?
    .map(InviteRow::decode)
    .transpose()
}

/// Renames user `id` unless the new name looks like another user's (one the
/// user already holds is theirs to keep).
pub(crate) async fn set_display_name(pool: &PgPool, id: UserId, display_name: &str) -> Result<()> {
    let mut tx = pool.begin().await.map_err(db_err)?;
    lock_names(&mut tx).await?;
    let mine: Option<(Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT username_skeleton, display_skeleton, display_skeleton_caseless FROM users WHERE id = $1",
    )
    .bind(id.as_uuid())
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    let (u, d, c) = mine.ok_or_else(|| Error::not_found("user not found"))?;
    let new = names::new_display_keys(display_name, &keys_of(u, d, c));
    if !new.is_empty() {
        let new: Vec<&str> = new.iter().map(String::as_str).collect();
        if !look_alikes(&mut tx, id.as_uuid(), &new).await?.is_empty() {
            return Err(NameClash::DisplayNameLooksTaken.into());
        }
    }
    let [display, caseless] = names::display_keys(display_name);
    sqlx::query(
        "UPDATE users SET display_name = $2, display_words = $3, display_skeleton = $4, \
         display_skeleton_caseless = $5 WHERE id = $1",
    )
    .bind(id.as_uuid())
    .bind(display_name)
    .bind(search::words(display_name))
    .bind(display)
    .bind(caseless)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

/// Gives users written before migration 0004 their keys, whatever their
/// names look like: names stored before are not refused after the fact.
/// Nodes starting at once may both do it: they write the same keys.
pub(crate) async fn fill_name_skeletons(pool: &PgPool) -> Result<()> {
    let missing: Vec<(Uuid, String, String)> = sqlx::query_as(
        "SELECT id, username, display_name FROM users WHERE username_skeleton IS NULL \
         OR display_skeleton IS NULL OR display_skeleton_caseless IS NULL",
    )
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    if missing.is_empty() {
        return Ok(());
    }
    let (mut ids, mut usernames, mut displays, mut caseless) = (vec![], vec![], vec![], vec![]);
    for (id, username, display_name) in &missing {
        let keys = NameKeys::of(username, display_name);
        let [display, folded] = keys.display;
        ids.push(*id);
        usernames.push(keys.username);
        displays.push(display);
        caseless.push(folded);
    }
    sqlx::query(
        "UPDATE users u SET username_skeleton = k.u, display_skeleton = k.d, display_skeleton_caseless = k.c \
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[]) AS k (id, u, d, c) WHERE u.id = k.id",
    )
    .bind(ids)
    .bind(usernames)
    .bind(displays)
    .bind(caseless)
    .execute(pool)
    .await
    .map_err(db_err)?;
    tracing::info!(users = missing.len(), "postgres: name skeletons filled in");
    Ok(())
}
