//! People search, the same on every store: what a query matches in a username
//! and in a display name.
//!
//! A user matches when the query, ignoring case, starts
//! - their username (these come first), or
//! - a later part of their username, after a `_`, `.` or `-` (`jones` finds `mary.jones`), or
//! - a word of their display name (`ali` and `smi` both find "Dr Alice Smith").
//!
//! Display names are matched through their [`words`], which a store keeps
//! beside the name and writes with it: case is folded here, by Rust's Unicode
//! rules, rather than by each database's SQL (SQLite's folds ASCII only).

use crate::parse::Username;
use crate::{Error, Result};

/// A people search, parsed at the edge: trimmed, at most as long as a username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeopleQuery {
    text: String,
    words: String,
}

impl PeopleQuery {
    pub const MAX: usize = Username::MAX;

    pub fn parse(raw: &str) -> Result<Self> {
        let trimmed = raw.trim();
        if trimmed.chars().count() > Self::MAX {
            return Err(Error::bad_request("q must be at most 32 characters"));
        }
        let mut words = words(trimmed);
        // Ending in a letter or digit, the last word is a prefix ("ali" finds
        // "alice"); ending after one ("bob_", "mary-"), it is a whole word.
        if trimmed.ends_with(char::is_alphanumeric) {
            words.pop();
        }
        Ok(PeopleQuery { text: trimmed.to_lowercase(), words })
    }

    /// The query in lower case: a prefix of a username or of one of its later
    /// parts, taken literally (`_` and `%` are characters, not patterns).
    /// Empty: every user matches.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The query as [`words`], without the last space when it ends in a
    /// letter or digit: what a display name's `words` hold where a word
    /// starts. Empty when the query has no letter or digit; it then matches
    /// no display name.
    pub fn words(&self) -> &str {
        &self.words
    }
}

/// The words of a display name as search sees them: its runs of letters and
/// digits, lower-cased, each after a space, and a space after the last. "Dr
/// Alice Smith-Jones" is `" dr alice smith jones "`, in which `" smi"` (from
/// the query "Smi") starts a word wherever it is found, and `" smith "` is a
/// whole word.
///
/// A final sigma is folded to σ: lower-casing turns Σ into ς at the end of a
/// word, so the start of a name typed in capitals ("ΟΔΥΣ") would otherwise
/// end in ς where the name ("Οδυσσέας") has σ.
pub fn words(text: &str) -> String {
    let mut words = String::with_capacity(text.len() + 2);
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        words.push(' ');
        words.extend(word.to_lowercase().chars().map(|c| if c == 'ς' { 'σ' } else { c }));
    }
    if !words.is_empty() {
        words.push(' ');
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn words_are_lower_case_runs_of_letters_and_digits() {
        assert_eq!(words("Dr Alice Smith-Jones"), " dr alice smith jones ");
        assert_eq!(words("  Émile  O'Brien (ops) 2nd "), " émile o brien ops 2nd ");
        assert_eq!(words("ÅSA Öberg"), " åsa öberg ");
        assert_eq!(words("😀 ✨"), "");
        assert_eq!(words(""), "");
    }

    /// Found by the `query` fuzz target: the start of a name in capitals
    /// must find the name, though lower-casing makes its last Σ a ς.
    #[test]
    fn the_start_of_a_name_in_capitals_finds_it_with_a_final_sigma() {
        let typed = PeopleQuery::parse("ΝΙΚΟΣ ΟΔΥΣ").unwrap();
        assert!(words("ΝΙΚΟΣ ΟΔΥΣΣΕΑΣ").starts_with(typed.words()), "{:?}", typed.words());
        assert!(words("Οδυσσέας").contains(PeopleQuery::parse("ΟΔΥΣ").unwrap().words()));
        assert!(words("Νίκος").contains(PeopleQuery::parse("νίκος").unwrap().words()));
    }

    #[test]
    fn a_query_is_trimmed_lower_cased_and_bounded() {
        let q = PeopleQuery::parse("  Dr Ali ").unwrap();
        assert_eq!((q.text(), q.words()), ("dr ali", " dr ali"));
        let q = PeopleQuery::parse("Mary.J").unwrap();
        assert_eq!((q.text(), q.words()), ("mary.j", " mary j"));
        let q = PeopleQuery::parse("bob_").unwrap();
        assert_eq!((q.text(), q.words()), ("bob_", " bob "), "a whole word");
        let q = PeopleQuery::parse("_%").unwrap();
        assert_eq!((q.text(), q.words()), ("_%", ""));
        assert_eq!(PeopleQuery::parse("").unwrap().text(), "");
        assert!(PeopleQuery::parse(&"é".repeat(32)).is_ok(), "counted in characters");
        assert_eq!(PeopleQuery::parse(&"b".repeat(33)).unwrap_err().code, ErrorCode::BadRequest);
    }
}
