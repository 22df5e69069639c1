//! Full-text search of messages (`parley_core::fulltext`) on SQLite: FTS5
//! over the words Rust folded, under each message's `search_rowid`, written
//! by the Sequencer's transaction with each message, edit and delete, and
//! read with the filters on the event rows.

use parley_core::fulltext::{self, SearchQuery};
use parley_core::id::ChannelId;
use parley_core::model::Event;
use parley_core::parse::Seq;
use parley_core::ports::Search;
use parley_core::Result;
use rusqlite::{Connection, OptionalExtension};
use sqlx::SqlitePool;

use crate::error::{db_err, write_err};
use crate::rows::{event_columns, EventRow, IdText};

/// The last number given to a message; the next is one more.
pub(crate) const LAST_ROWID: &str =
    "SELECT coalesce(max(search_rowid), 0) FROM events INDEXED BY events_search WHERE search_rowid IS NOT NULL";
pub(crate) const INDEX_WORDS: &str = "INSERT OR REPLACE INTO message_words (rowid, words) VALUES (?1, ?2)";
pub(crate) const ROWID: &str = "SELECT search_rowid FROM events WHERE channel_id = ?1 AND seq = ?2";
pub(crate) const UNINDEX_WORDS: &str = "DELETE FROM message_words WHERE rowid = ?1";

/// The filters both searches share, on the event `e` under number `$n`:
/// `?2`, `?3` the channel and seq of the message the page goes back from
/// (NULL: the newest), `?4` the searcher, `?5` a channel, `?6` a sender,
/// `?7` before and `?8` after (ms), `?9` links only, `?10` how many. Newest
/// first is the numbers' order, which FTS5 walks backwards, stopping as soon
/// as a page is full.
macro_rules! filters {
    ($n:literal) => {
        concat!(
            " (?2 IS NULL OR ",
            $n,
            " < (SELECT x.search_rowid FROM events x WHERE x.channel_id = ?2 AND x.seq = ?3)) \
             AND e.deleted = 0 \
             AND EXISTS (SELECT 1 FROM members m WHERE m.channel_id = e.channel_id AND m.user_id = ?4) \
             AND (?5 IS NULL OR e.channel_id = ?5) AND (?6 IS NULL OR e.sender_id = ?6) \
             AND (?7 IS NULL OR e.created_at < ?7) AND (?8 IS NULL OR e.created_at >= ?8) \
             AND (?9 = 0 OR e.body LIKE '%http://%' OR e.body LIKE '%https://%') \
             ORDER BY ",
            $n,
            " DESC LIMIT ?10"
        )
    };
}

/// `?1`: an FTS5 query of quoted words ([`fts5_query`]).
pub(crate) const SEARCH_WORDS: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM message_words CROSS JOIN events e INDEXED BY events_search ON e.search_rowid = message_words.rowid",
    " WHERE message_words MATCH ?1 AND",
    filters!("message_words.rowid")
);
/// Filters alone (`from:@bob`): `?1` unused.
pub(crate) const SEARCH_FILTERS: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM events e INDEXED BY events_search",
    " WHERE ?1 IS NULL AND e.search_rowid IS NOT NULL AND",
    filters!("e.search_rowid")
);

/// The query as FTS5 syntax: every word and phrase double-quoted (they hold
/// letters and digits only), the last word a prefix when it is one; `None`
/// without words.
pub(crate) fn fts5_query(query: &SearchQuery) -> Option<String> {
    let mut terms: Vec<String> = query.words.iter().map(|w| format!("\"{w}\"")).collect();
    if query.prefix {
        if let Some(last) = terms.last_mut() {
            last.push('*');
        }
    }
    terms.extend(query.phrases.iter().map(|p| format!("\"{}\"", p.join(" "))));
    (!terms.is_empty()).then(|| terms.join(" "))
}

pub(crate) async fn search(pool: &SqlitePool, search: &Search<'_>) -> Result<Vec<Event>> {
    let words = fts5_query(search.query);
    let sql = if words.is_some() { SEARCH_WORDS } else { SEARCH_FILTERS };
    sqlx::query_as::<_, EventRow>(sql)
        .bind(words)
        .bind(search.before.map(|(channel, _)| channel.to_string()))
        .bind(search.before.map(|(_, seq)| seq))
        .bind(search.user.to_string())
        .bind(search.channel.map(|c| c.to_string()))
        .bind(search.sender.map(|u| u.to_string()))
        .bind(search.query.before.map(|t| t.millis()))
        .bind(search.query.after.map(|t| t.millis()))
        .bind(search.query.has_link)
        .bind(search.limit)
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(EventRow::decode)
        .collect()
}

/// The number the next message of this transaction is stored under.
pub(crate) fn next_rowid(conn: &Connection) -> Result<i64> {
    let last: i64 =
        conn.prepare_cached(LAST_ROWID).map_err(write_err)?.query_row([], |r| r.get(0)).map_err(write_err)?;
    Ok(last + 1)
}

/// Indexes a message's `body` under its number, in the writer's transaction.
pub(crate) fn index(conn: &Connection, rowid: i64, body: &str) -> Result<()> {
    conn.prepare_cached(INDEX_WORDS)
        .map_err(write_err)?
        .execute((rowid, fulltext::indexed(body)))
        .map_err(write_err)?;
    Ok(())
}

fn rowid(conn: &Connection, channel: ChannelId, seq: Seq) -> Result<Option<i64>> {
    let mut statement = conn.prepare_cached(ROWID).map_err(write_err)?;
    let found: Option<Option<i64>> =
        statement.query_row((IdText::of(channel.as_uuid()), seq), |r| r.get(0)).optional().map_err(write_err)?;
    Ok(found.flatten())
}

/// An edited message is found by its new text.
pub(crate) fn reindex(conn: &Connection, channel: ChannelId, seq: Seq, body: &str) -> Result<()> {
    match rowid(conn, channel, seq)? {
        Some(rowid) => index(conn, rowid, body),
        None => Ok(()),
    }
}

/// A deleted message is never found.
pub(crate) fn unindex(conn: &Connection, channel: ChannelId, seq: Seq) -> Result<()> {
    let Some(rowid) = rowid(conn, channel, seq)? else { return Ok(()) };
    conn.prepare_cached(UNINDEX_WORDS).map_err(write_err)?.execute([rowid]).map_err(write_err)?;
    Ok(())
}

/// Indexes the messages stored before search existed (migration 0008), in
/// the order they were stored.
pub(crate) async fn fill_backlog(pool: &SqlitePool) -> Result<()> {
    let backlog: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT e.channel_id, e.seq, e.body FROM search_backlog b \
         CROSS JOIN events e ON e.channel_id = b.channel_id AND e.seq = b.seq ORDER BY e.created_at, e.id",
    )
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    if backlog.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin().await.map_err(db_err)?;
    let (last,): (i64,) = sqlx::query_as(LAST_ROWID).fetch_one(&mut *tx).await.map_err(db_err)?;
    for (n, (channel, seq, body)) in backlog.iter().enumerate() {
        let rowid = last + 1 + n as i64;
        sqlx::query("UPDATE events SET search_rowid = ?3 WHERE channel_id = ?1 AND seq = ?2")
            .bind(channel)
            .bind(seq)
            .bind(rowid)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(INDEX_WORDS).bind(rowid).bind(fulltext::indexed(body)).execute(&mut *tx).await.map_err(db_err)?;
    }
    sqlx::query("DELETE FROM search_backlog").execute(&mut *tx).await.map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    tracing::info!(messages = backlog.len(), "sqlite: messages indexed for search");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fts5_query_quotes_every_term() {
        let query = SearchQuery::parse(r#"deploy "release notes" fri"#).unwrap();
        assert_eq!(fts5_query(&query).as_deref(), Some(r#""deploy" "fri"* "release notes""#));
        assert_eq!(fts5_query(&SearchQuery::parse("from:@bob").unwrap()), None);
    }
}
