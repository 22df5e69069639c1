//! Full-text search of messages (`parley_core::fulltext`) on SQLite: FTS5
//! over the words Rust folded, written by the Sequencer's transaction with
//! each message, edit and delete, and read with the filters beside it.

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

pub(crate) const INDEX: &str = "INSERT INTO message_search (channel_id, seq, event_id, sender_id, created_at, \
     has_link) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
pub(crate) const INDEX_WORDS: &str = "INSERT INTO message_words (rowid, words) VALUES (?1, ?2)";
pub(crate) const ROWID: &str = "SELECT rowid FROM message_search WHERE channel_id = ?1 AND seq = ?2";
pub(crate) const RELINK: &str = "UPDATE message_search SET has_link = ?2 WHERE rowid = ?1";
pub(crate) const REWORD: &str = "INSERT OR REPLACE INTO message_words (rowid, words) VALUES (?1, ?2)";
pub(crate) const UNINDEX: &str = "DELETE FROM message_search WHERE rowid = ?1";
pub(crate) const UNINDEX_WORDS: &str = "DELETE FROM message_words WHERE rowid = ?1";

/// The filters both searches share, after `s`: `?2` the message the page
/// goes back from (`~` for the newest), `?3` the searcher, `?4` a channel,
/// `?5` a sender, `?6` before and `?7` after (ms), `?8` links only, `?9` how many.
macro_rules! filters {
    () => {
        " s.event_id < ?2 \
         AND EXISTS (SELECT 1 FROM members m WHERE m.channel_id = s.channel_id AND m.user_id = ?3) \
         AND (?4 IS NULL OR s.channel_id = ?4) AND (?5 IS NULL OR s.sender_id = ?5) \
         AND (?6 IS NULL OR s.created_at < ?6) AND (?7 IS NULL OR s.created_at >= ?7) \
         AND (?8 = 0 OR s.has_link = 1) \
         ORDER BY s.event_id DESC LIMIT ?9"
    };
}

/// `?1`: an FTS5 query of quoted words ([`fts5_query`]).
pub(crate) const SEARCH_WORDS: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM message_words CROSS JOIN message_search s ON s.rowid = message_words.rowid",
    " CROSS JOIN events e ON e.channel_id = s.channel_id AND e.seq = s.seq",
    " WHERE message_words MATCH ?1 AND",
    filters!()
);
/// Filters alone (`from:@bob`): `?1` unused.
pub(crate) const SEARCH_FILTERS: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM message_search s CROSS JOIN events e ON e.channel_id = s.channel_id AND e.seq = s.seq",
    " WHERE ?1 IS NULL AND",
    filters!()
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
        .bind(search.before.map_or_else(|| "~".to_owned(), |id| id.to_string()))
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

/// Indexes a new message, in the writer's transaction.
pub(crate) fn index(conn: &Connection, event: &Event, body: &str) -> Result<()> {
    let row = (
        IdText::of(event.channel_id.as_uuid()),
        event.seq,
        IdText::of(event.id.as_uuid()),
        IdText::of(event.sender_id.as_uuid()),
        event.created_at.millis(),
        fulltext::has_link(body),
    );
    conn.prepare_cached(INDEX).map_err(write_err)?.execute(row).map_err(write_err)?;
    let rowid = conn.last_insert_rowid();
    conn.prepare_cached(INDEX_WORDS)
        .map_err(write_err)?
        .execute((rowid, fulltext::indexed(body)))
        .map_err(write_err)?;
    Ok(())
}

fn rowid(conn: &Connection, channel: ChannelId, seq: Seq) -> Result<Option<i64>> {
    let mut statement = conn.prepare_cached(ROWID).map_err(write_err)?;
    statement.query_row((IdText::of(channel.as_uuid()), seq), |r| r.get(0)).optional().map_err(write_err)
}

/// An edited message is found by its new text.
pub(crate) fn reindex(conn: &Connection, channel: ChannelId, seq: Seq, body: &str) -> Result<()> {
    let Some(rowid) = rowid(conn, channel, seq)? else { return Ok(()) };
    conn.prepare_cached(RELINK).map_err(write_err)?.execute((rowid, fulltext::has_link(body))).map_err(write_err)?;
    conn.prepare_cached(REWORD).map_err(write_err)?.execute((rowid, fulltext::indexed(body))).map_err(write_err)?;
    Ok(())
}

/// A deleted message is never found.
pub(crate) fn unindex(conn: &Connection, channel: ChannelId, seq: Seq) -> Result<()> {
    let Some(rowid) = rowid(conn, channel, seq)? else { return Ok(()) };
    conn.prepare_cached(UNINDEX_WORDS).map_err(write_err)?.execute([rowid]).map_err(write_err)?;
    conn.prepare_cached(UNINDEX).map_err(write_err)?.execute([rowid]).map_err(write_err)?;
    Ok(())
}

/// Indexes the messages stored before search existed (migration 0008).
pub(crate) async fn fill_backlog(pool: &SqlitePool) -> Result<()> {
    let backlog: Vec<(String, i64, String, String, i64, String)> = sqlx::query_as(
        "SELECT e.channel_id, e.seq, e.id, e.sender_id, e.created_at, e.body FROM search_backlog b \
         CROSS JOIN events e ON e.channel_id = b.channel_id AND e.seq = b.seq",
    )
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    if backlog.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin().await.map_err(db_err)?;
    for (channel, seq, id, sender, created_at, body) in &backlog {
        let done = sqlx::query(INDEX)
            .bind(channel)
            .bind(seq)
            .bind(id)
            .bind(sender)
            .bind(created_at)
            .bind(fulltext::has_link(body))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(INDEX_WORDS)
            .bind(done.last_insert_rowid())
            .bind(fulltext::indexed(body))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
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
