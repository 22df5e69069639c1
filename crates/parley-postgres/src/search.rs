//! Full-text search of messages (`parley_core::fulltext`) on PostgreSQL: a
//! `tsvector` of the words Rust folded, with their positions, written by
//! the processor's transaction with each message, edit and delete, and
//! matched with a `tsquery` built the same way; no text search
//! configuration of the database's is involved.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use parley_core::fulltext::{self, SearchQuery};
use parley_core::model::Event;
use parley_core::ports::Search;
use parley_core::Result;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::error::db_err;
use crate::rows::{event_columns, to_db, EventRow};

/// `$1`…`$7`: the messages' channel, seq, id, sender, time, whether each
/// links, and its words as `tsvector` text. A message indexed already (two
/// nodes filling the backlog at once) is left as it is.
pub(crate) const INDEX: &str = "INSERT INTO message_search \
     (channel_id, seq, event_id, sender_id, created_at, has_link, words) \
     SELECT c, s, i, u, t, l, w::tsvector FROM UNNEST($1::uuid[], $2::int8[], $3::uuid[], $4::uuid[], \
     $5::timestamptz[], $6::bool[], $7::text[]) AS k (c, s, i, u, t, l, w) ON CONFLICT DO NOTHING";
pub(crate) const REINDEX: &str =
    "UPDATE message_search SET has_link = $3, words = $4::text::tsvector WHERE channel_id = $1 AND seq = $2";
pub(crate) const UNINDEX: &str = "DELETE FROM message_search WHERE channel_id = $1 AND seq = $2";

/// `$1` the `tsquery` text (NULL: filters alone), `$2`, `$3` the channel
/// and seq of the message the page goes back from (NULL: the newest), `$4`
/// the searcher, `$5` a channel, `$6` a sender, `$7` before, `$8` after, `$9`
/// links only, `$10` how many.
pub(crate) const SEARCH: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM message_search s JOIN events e ON e.channel_id = s.channel_id AND e.seq = s.seq",
    " WHERE ($1::text IS NULL OR s.words @@ $1::text::tsquery)",
    " AND ($2::uuid IS NULL OR s.event_id < (SELECT x.id FROM events x WHERE x.channel_id = $2 AND x.seq = $3))",
    " AND EXISTS (SELECT 1 FROM members m WHERE m.channel_id = s.channel_id AND m.user_id = $4)",
    " AND ($5::uuid IS NULL OR s.channel_id = $5) AND ($6::uuid IS NULL OR s.sender_id = $6)",
    " AND ($7::timestamptz IS NULL OR s.created_at < $7) AND ($8::timestamptz IS NULL OR s.created_at >= $8)",
    " AND (NOT $9 OR s.has_link)",
    " ORDER BY s.event_id DESC LIMIT $10"
);

/// The highest position a `tsvector` keeps.
const MAX_POSITION: usize = 16_383;

/// A text's words as `tsvector` input: each word quoted (they hold letters
/// and digits only) with its positions, from 1.
pub(crate) fn tsvector(text: &str) -> String {
    let mut at: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, token) in fulltext::tokens(text).into_iter().enumerate() {
        at.entry(token.word).or_default().push((i + 1).min(MAX_POSITION));
    }
    let lexemes: Vec<String> = at
        .into_iter()
        .map(|(word, mut positions)| {
            positions.dedup();
            let positions: Vec<String> = positions.iter().map(ToString::to_string).collect();
            format!("'{word}':{}", positions.join(","))
        })
        .collect();
    lexemes.join(" ")
}

/// The query as `tsquery` input: every word, the last as a prefix when it
/// is one, and every phrase's words in a row; `None` without words.
pub(crate) fn tsquery(query: &SearchQuery) -> Option<String> {
    let mut terms: Vec<String> = query.words.iter().map(|w| format!("'{w}'")).collect();
    if query.prefix {
        if let Some(last) = terms.last_mut() {
            last.push_str(":*");
        }
    }
    for phrase in &query.phrases {
        let words: Vec<String> = phrase.iter().map(|w| format!("'{w}'")).collect();
        terms.push(format!("({})", words.join(" <-> ")));
    }
    (!terms.is_empty()).then(|| terms.join(" & "))
}

pub(crate) async fn search(pool: &PgPool, search: &Search<'_>) -> Result<Vec<Event>> {
    sqlx::query_as::<_, EventRow>(SEARCH)
        .bind(tsquery(search.query))
        .bind(search.before.map(|(channel, _)| channel.as_uuid()))
        .bind(search.before.map(|(_, seq)| seq))
        .bind(search.user.as_uuid())
        .bind(search.channel.map(|c| c.as_uuid()))
        .bind(search.sender.map(|u| u.as_uuid()))
        .bind(search.query.before.map(to_db).transpose()?)
        .bind(search.query.after.map(to_db).transpose()?)
        .bind(search.query.has_link)
        .bind(i64::from(search.limit))
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(EventRow::decode)
        .collect()
}

/// The messages among a batch's events, as [`INDEX`]'s columns.
#[derive(Default)]
pub(crate) struct Indexed {
    channel: Vec<Uuid>,
    seq: Vec<i64>,
    id: Vec<Uuid>,
    sender: Vec<Uuid>,
    at: Vec<DateTime<Utc>>,
    link: Vec<bool>,
    words: Vec<String>,
}

impl Indexed {
    pub(crate) fn push(&mut self, event: &Event, body: &str) -> Result<()> {
        self.channel.push(event.channel_id.as_uuid());
        self.seq.push(event.seq);
        self.id.push(event.id.as_uuid());
        self.sender.push(event.sender_id.as_uuid());
        self.at.push(to_db(event.created_at)?);
        self.link.push(fulltext::has_link(body));
        self.words.push(tsvector(body));
        Ok(())
    }

    pub(crate) async fn write(self, tx: &mut Transaction<'static, Postgres>) -> Result<()> {
        if self.channel.is_empty() {
            return Ok(());
        }
        sqlx::query(INDEX)
            .bind(self.channel)
            .bind(self.seq)
            .bind(self.id)
            .bind(self.sender)
            .bind(self.at)
            .bind(self.link)
            .bind(self.words)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

/// Indexes the messages stored before search existed (migration 0008), a
/// chunk at a time, each in a transaction of its own that also forgets it:
/// memory stays bounded, and a node stopped halfway goes on where it was.
pub(crate) async fn fill_backlog(pool: &PgPool) -> Result<()> {
    type Row = (Uuid, i64, Uuid, Uuid, DateTime<Utc>, String);
    let mut indexed = 0usize;
    loop {
        let mut tx = pool.begin().await.map_err(db_err)?;
        let chunk: Vec<Row> = sqlx::query_as(
            "SELECT e.channel_id, e.seq, e.id, e.sender_id, e.created_at, e.body FROM \
             (SELECT channel_id, seq FROM search_backlog ORDER BY channel_id, seq LIMIT 5000) b \
             JOIN events e ON e.channel_id = b.channel_id AND e.seq = b.seq",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        if chunk.is_empty() {
            break;
        }
        let mut rows = Indexed::default();
        for (channel, seq, id, sender, at, body) in &chunk {
            rows.channel.push(*channel);
            rows.seq.push(*seq);
            rows.id.push(*id);
            rows.sender.push(*sender);
            rows.at.push(*at);
            rows.link.push(fulltext::has_link(body));
            rows.words.push(tsvector(body));
        }
        let (channels, seqs) = (rows.channel.clone(), rows.seq.clone());
        rows.write(&mut tx).await?;
        sqlx::query(
            "DELETE FROM search_backlog b USING UNNEST($1::uuid[], $2::int8[]) AS k (channel_id, seq) \
             WHERE b.channel_id = k.channel_id AND b.seq = k.seq",
        )
        .bind(channels)
        .bind(seqs)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        indexed += chunk.len();
    }
    if indexed > 0 {
        tracing::info!(messages = indexed, "postgres: messages indexed for search");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_queries_are_quoted_with_positions() {
        assert_eq!(tsvector("Go, go GADGET"), "'gadget':3 'go':1,2");
        let query = SearchQuery::parse(r#"deploy "release notes" fri"#).unwrap();
        assert_eq!(tsquery(&query).as_deref(), Some("'deploy' & 'fri':* & ('release' <-> 'notes')"));
        assert_eq!(tsquery(&SearchQuery::parse("has:link").unwrap()), None);
    }
}
