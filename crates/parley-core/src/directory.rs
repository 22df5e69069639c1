//! The public channel directory (`GET /channels/public`): public channels by
//! name, a page at a time, optionally only those whose name contains some
//! text; and the admins' list of every channel (`GET /admin/channels`),
//! paged the same way. Parsed at the edge, read the same way by every store.
//!
//! Names are unique, so a name is a cursor: the next page is the channels
//! whose name sorts after the last one shown, byte by byte (SQLite's BINARY
//! collation, PostgreSQL's "C", Rust's `str` order).

use crate::parse::ChannelName;
use crate::{Error, Result};

/// One page of the directory, as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryPage {
    after: String,
    contains: String,
    limit: u32,
    every: bool,
}

impl DirectoryPage {
    /// Enough for every public channel of a large server in one answer, as
    /// clients that do not page (the web client) expect; small enough that
    /// one answer stays a few hundred KB.
    pub const DEFAULT_LIMIT: u32 = 1000;
    pub const MAX_LIMIT: u32 = 1000;

    /// `q`: text the name must contain, ignoring ASCII case (as names are
    /// unique); `after`: the last name of the previous page; `limit`: 1 up,
    /// above [`Self::MAX_LIMIT`] taken as it.
    pub fn parse(q: Option<&str>, after: Option<&str>, limit: Option<i64>) -> Result<Self> {
        let contains = q.unwrap_or_default().trim();
        if contains.chars().count() > ChannelName::MAX {
            return Err(Error::bad_request("q must be at most 80 characters"));
        }
        let after = after.unwrap_or_default();
        if after.chars().count() > ChannelName::MAX {
            return Err(Error::bad_request("after must be a channel name"));
        }
        let limit = match limit {
            None => Self::DEFAULT_LIMIT,
            Some(n) if n < 1 => return Err(Error::bad_request("limit must be at least 1")),
            Some(n) => n.min(i64::from(Self::MAX_LIMIT)) as u32,
        };
        Ok(DirectoryPage { after: after.to_owned(), contains: contains.to_ascii_lowercase(), limit, every: false })
    }

    /// Every channel but DMs, private and archived ones too: the admins' list.
    pub fn of_every_channel(self) -> Self {
        DirectoryPage { every: true, ..self }
    }

    /// Private and archived channels too (DMs and deleted ones never).
    pub fn every(&self) -> bool {
        self.every
    }

    /// Names after this one only; empty: from the first.
    pub fn after(&self) -> &str {
        &self.after
    }

    /// For `lower(name) LIKE … ESCAPE '\'`: the query in ASCII lower case
    /// (what SQLite's `lower` and PostgreSQL's under "C" fold), its `%`, `_`
    /// and `\` taken literally, anywhere in the name. `%` alone without a query.
    pub fn name_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.contains.len() + 2);
        pattern.push('%');
        for c in self.contains.chars() {
            if matches!(c, '\\' | '%' | '_') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        if !self.contains.is_empty() {
            pattern.push('%');
        }
        pattern
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn parses_and_bounds_a_page() {
        let page = DirectoryPage::parse(None, None, None).unwrap();
        assert_eq!((page.after(), page.name_pattern().as_str(), page.limit()), ("", "%", 1000));
        let page = DirectoryPage::parse(Some(" Ops_100% "), Some("general"), Some(5000)).unwrap();
        assert_eq!(page.name_pattern(), "%ops\\_100\\%%");
        assert_eq!((page.after(), page.limit()), ("general", 1000));
        assert_eq!(DirectoryPage::parse(Some("Été"), None, None).unwrap().name_pattern(), "%Été%", "ASCII folds only");
        for (q, after, limit) in
            [(None, None, Some(0)), (Some("x".repeat(81)), None, None), (None, Some("y".repeat(81)), None)]
        {
            let refused = DirectoryPage::parse(q.as_deref(), after.as_deref(), limit).unwrap_err();
            assert_eq!(refused.code, ErrorCode::BadRequest);
        }
    }
}
