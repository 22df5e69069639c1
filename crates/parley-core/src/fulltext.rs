//! Full-text search of messages, the same on every store: the words a
//! message is indexed by, the query language, and where a result matches.
//!
//! A word is a run of letters and digits, compared without case and without
//! diacritics (NFKD, combining marks dropped: "Crème" is found by "creme").
//! A store indexes a message's words ([`indexed`]) and answers a
//! [`SearchQuery`] with the messages holding every word (the last as a
//! prefix), every phrase (its words in a row), and passing every filter.
//! Query text is never handed to a store's own query syntax: only words
//! made of letters and digits reach it.

use chrono::NaiveDate;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::parse::Username;
use crate::time::Timestamp;
use crate::{Error, Result};

/// The longest query, in characters.
pub const MAX_QUERY: usize = 1000;
/// The most words and phrases' words one query may hold.
pub const MAX_TERMS: usize = 64;
/// The longest word kept: longer runs (a hash, a long number) are cut, the
/// same in the index and in a query.
pub const MAX_WORD: usize = 64;

/// One word of a text, with where it is (in characters) in that text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub word: String,
    pub start: usize,
    pub end: usize,
}

/// The words of `text` as search compares them, in order.
pub fn tokens(text: &str) -> Vec<Token> {
    let mut found = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut at = 0;
    for c in text.chars() {
        if c.is_alphanumeric() || (current.is_some() && is_combining_mark(c)) {
            let (_, word) = current.get_or_insert_with(|| (at, String::new()));
            fold_into(c, word);
        } else if let Some((start, word)) = current.take() {
            push(&mut found, word, start, at);
        }
        at += 1;
    }
    if let Some((start, word)) = current.take() {
        push(&mut found, word, start, at);
    }
    found
}

fn push(found: &mut Vec<Token>, word: String, start: usize, end: usize) {
    if !word.is_empty() {
        let word = word.chars().take(MAX_WORD).collect();
        found.push(Token { word, start, end });
    }
}

/// Appends `c` compared without case or marks: its compatibility
/// decomposition, marks dropped, in lower case (a final ς as σ).
fn fold_into(c: char, word: &mut String) {
    for part in std::iter::once(c).nfkd().filter(|p| !is_combining_mark(*p)) {
        for lower in part.to_lowercase() {
            word.push(if lower == 'ς' { 'σ' } else { lower });
        }
    }
}

/// What a store indexes for a message: its words, separated by spaces.
pub fn indexed(text: &str) -> String {
    tokens(text).into_iter().map(|t| t.word).collect::<Vec<_>>().join(" ")
}

/// Whether `text` holds an http(s) address, for `has:link`.
pub fn has_link(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    ["http://", "https://"].iter().any(|scheme| {
        lower
            .match_indices(scheme)
            .any(|(at, _)| lower[at + scheme.len()..].chars().next().is_some_and(|c| !c.is_whitespace()))
    })
}

/// A parsed query: what a message must hold, and the filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Words every result holds; the last one only as a prefix when
    /// `prefix` (the query ended in it, as a person still typing).
    pub words: Vec<String>,
    pub prefix: bool,
    /// Phrases every result holds, each its words in a row.
    pub phrases: Vec<Vec<String>>,
    /// `from:@username`.
    pub from: Option<Username>,
    /// `in:#channel`: a channel's name, as typed.
    pub channel: Option<String>,
    /// `before:YYYY-MM-DD`: sent before that day began (UTC).
    pub before: Option<Timestamp>,
    /// `after:YYYY-MM-DD`: sent after that day ended (UTC).
    pub after: Option<Timestamp>,
    /// `has:link`.
    pub has_link: bool,
}

impl SearchQuery {
    /// Reads the query language: words, `"exact phrases"`, `from:@username`,
    /// `in:#channel`, `before:` and `after:` a `YYYY-MM-DD`, `has:link`. An
    /// operator's value that is wrong, an unclosed quote, too long a query,
    /// or one that asks for nothing is `bad_request` saying so.
    pub fn parse(raw: &str) -> Result<SearchQuery> {
        if raw.chars().count() > MAX_QUERY {
            return Err(Error::bad_request(format!("q must be at most {MAX_QUERY} characters")));
        }
        let mut query = SearchQuery::default();
        let mut rest = raw.trim_start();
        let mut ends_in_word = false;
        while !rest.is_empty() {
            if let Some(quoted) = rest.strip_prefix('"') {
                let end =
                    quoted.find('"').ok_or_else(|| Error::bad_request("a quoted phrase is not closed: add a \""))?;
                let phrase: Vec<String> = tokens(&quoted[..end]).into_iter().map(|t| t.word).collect();
                match phrase.len() {
                    0 => {}
                    1 => query.words.extend(phrase),
                    _ => query.phrases.push(phrase),
                }
                rest = quoted[end + 1..].trim_start();
                ends_in_word = false;
                continue;
            }
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let (term, after) = rest.split_at(end);
            // Last, with nothing after it, not even a space: still being typed.
            ends_in_word = after.is_empty() && term.ends_with(char::is_alphanumeric);
            rest = after.trim_start();
            if !query.operator(term)? {
                let words = tokens(term);
                ends_in_word &= !words.is_empty();
                query.words.extend(words.into_iter().map(|t| t.word));
            } else {
                ends_in_word = false;
            }
        }
        query.prefix = ends_in_word && !query.words.is_empty();
        let terms = query.words.len() + query.phrases.iter().map(Vec::len).sum::<usize>();
        if terms > MAX_TERMS {
            return Err(Error::bad_request(format!("a search has at most {MAX_TERMS} words")));
        }
        if terms == 0 && query.from.is_none() && query.channel.is_none() && !query.has_link {
            return Err(Error::bad_request(
                "q has no word to search for: give words, a \"phrase\", from:@someone, in:#channel or has:link",
            ));
        }
        Ok(query)
    }

    /// Takes `term` when it is an operator; `false` when it is words.
    fn operator(&mut self, term: &str) -> Result<bool> {
        let Some((name, value)) = term.split_once(':') else { return Ok(false) };
        match name.to_ascii_lowercase().as_str() {
            "from" => {
                let name = value.strip_prefix('@').unwrap_or(value);
                let username = Username::parse(name).map_err(|_| {
                    Error::bad_request(format!("from: needs a username, as from:@alice, not {value:?}"))
                })?;
                self.from = Some(username);
            }
            "in" => {
                let name = value.strip_prefix('#').unwrap_or(value);
                if name.is_empty() {
                    return Err(Error::bad_request("in: needs a channel's name, as in:#general"));
                }
                self.channel = Some(name.to_owned());
            }
            "before" => self.before = Some(day(value, "before")?),
            "after" => self.after = Some(day(value, "after")?.plus_seconds(DAY_SECONDS)),
            "has" if value.eq_ignore_ascii_case("link") => self.has_link = true,
            "has" => return Err(Error::bad_request(format!("has: knows only has:link, not has:{value}"))),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Where `body` matches the query's words and phrases, as character
    /// ranges `[start, end)` in order, for a client to highlight.
    pub fn highlights(&self, body: &str) -> Vec<(usize, usize)> {
        let tokens = tokens(body);
        let mut ranges = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            let word_matches = self.words.iter().enumerate().any(|(at, word)| {
                *word == token.word
                    || (self.prefix && at + 1 == self.words.len() && token.word.starts_with(word.as_str()))
            });
            if word_matches {
                ranges.push((token.start, token.end));
            }
            for phrase in &self.phrases {
                let run = tokens.get(i..i + phrase.len());
                if run.is_some_and(|run| run.iter().zip(phrase).all(|(t, w)| t.word == *w)) {
                    ranges.push((token.start, tokens[i + phrase.len() - 1].end));
                }
            }
        }
        ranges.sort_unstable();
        // Overlaps (a word inside a phrase) become one range.
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
        for (start, end) in ranges {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }
}

const DAY_SECONDS: i64 = 86_400;

fn day(value: &str, what: &str) -> Result<Timestamp> {
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| Error::bad_request(format!("{what}: needs a date as YYYY-MM-DD, not {value:?}")))?;
    let start = date.and_hms_opt(0, 0, 0).map(|at| at.and_utc().timestamp_millis());
    start.map(Timestamp::from_millis).ok_or_else(|| Error::bad_request(format!("{what}: {value:?} is not a day")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        tokens(text).into_iter().map(|t| t.word).collect()
    }

    #[test]
    fn words_fold_case_and_diacritics_and_keep_their_place() {
        assert_eq!(
            words("Crème brûlée, ΟΔΥΣΣΕΥΣ and Ǆemal's 2nd"),
            ["creme", "brulee", "οδυσσευσ", "and", "dzemal", "s", "2nd"]
        );
        assert_eq!(words("ｆｕｌｌ width ﬁne"), ["full", "width", "fine"], "compatibility forms too");
        assert_eq!(words("😀 -- ..."), Vec::<String>::new());
        let t = tokens("hé there");
        assert_eq!((t[0].start, t[0].end, t[1].start, t[1].end), (0, 2, 3, 8), "in characters");
        assert_eq!(indexed("Hello, Wörld!"), "hello world");
        assert_eq!(words(&"x".repeat(100))[0].len(), MAX_WORD);
    }

    #[test]
    fn the_query_language() {
        let q = SearchQuery::parse(
            r#"Deploy "release notes" from:@Alice in:#ops before:2026-03-01 after:2026-01-31 has:link fri"#,
        )
        .unwrap();
        assert_eq!(q.words, ["deploy", "fri"]);
        assert!(q.prefix, "the last word is a prefix");
        assert_eq!(q.phrases, [vec!["release".to_owned(), "notes".to_owned()]]);
        assert_eq!(q.from.as_ref().map(Username::as_str), Some("alice"));
        assert_eq!(q.channel.as_deref(), Some("ops"));
        assert_eq!(q.before.map(|t| t.to_rfc3339()), Some("2026-03-01T00:00:00.000Z".to_owned()));
        assert_eq!(q.after.map(|t| t.to_rfc3339()), Some("2026-02-01T00:00:00.000Z".to_owned()), "after the day ends");
        assert!(q.has_link);
        assert!(!SearchQuery::parse("deploy ").unwrap().prefix, "a space after it: a whole word");
        assert!(!SearchQuery::parse("\"deploy\"").unwrap().prefix, "quoted: a whole word");
        assert_eq!(SearchQuery::parse("from:@bob").unwrap().words, Vec::<String>::new(), "a filter alone is a search");
        assert_eq!(SearchQuery::parse("re: 10:30").unwrap().words, ["re", "10", "30"], "not an operator: words");
    }

    #[test]
    fn store_syntax_is_only_words() {
        let q = SearchQuery::parse(r#"a* OR b) NEAR(c d) -e ^f 'g' % _ ; DROP TABLE events; --"#).unwrap();
        assert_eq!(q.words, ["a", "or", "b", "near", "c", "d", "e", "f", "g", "drop", "table", "events"]);
        assert!(q.words.iter().all(|w| w.chars().all(char::is_alphanumeric)));
    }

    #[test]
    fn malformed_queries_say_what_is_wrong() {
        let refused = |q: &str| SearchQuery::parse(q).unwrap_err().message;
        assert_eq!(refused("\"open"), "a quoted phrase is not closed: add a \"");
        assert_eq!(refused("before:2026-13-01"), "before: needs a date as YYYY-MM-DD, not \"2026-13-01\"");
        assert_eq!(refused("from:@x"), "from: needs a username, as from:@alice, not \"@x\"");
        assert_eq!(refused("in:#"), "in: needs a channel's name, as in:#general");
        assert_eq!(refused("has:file"), "has: knows only has:link, not has:file");
        assert!(refused("   ").starts_with("q has no word"));
        assert!(refused("!!! ...").starts_with("q has no word"));
        assert_eq!(refused(&"a".repeat(1001)), "q must be at most 1000 characters");
        assert_eq!(refused(&"w ".repeat(65)), "a search has at most 64 words");
        assert!(SearchQuery::parse(&"é".repeat(1000)).is_ok(), "1,000 characters is a query");
    }

    #[test]
    fn highlights_are_character_ranges_of_words_and_phrases() {
        let q = SearchQuery::parse("\"release notes\" dep").unwrap();
        let body = "Dépl: the Release  Notes for deploy; release";
        let ranges = q.highlights(body);
        let shown: Vec<String> = ranges.iter().map(|(s, e)| body.chars().skip(*s).take(e - s).collect()).collect();
        assert_eq!(shown, ["Dépl", "Release  Notes", "deploy"]);
        assert!(has_link("see HTTPS://x.y") && !has_link("http:/ nothing") && !has_link("no"));
    }
}
