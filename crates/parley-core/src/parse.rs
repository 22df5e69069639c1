//! Input newtypes, parsed once at the edge: past the edge a `Body` is always a valid body.
//!
//! Lengths are counted in Unicode scalar values (what a user sees as characters
//! in almost every case), never in bytes.

use std::fmt;

use crate::{names, Error, Result};

fn char_len(s: &str) -> usize {
    s.chars().count()
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// 3–32 of `a-z 0-9 _ . -`. Upper-case ASCII is accepted and folded to lower
/// case, which is what makes usernames unique ignoring case. Being ASCII
/// letters, digits and three marks, a username is NFC and drawn as what it is,
/// the rules display names are held to (see [`names`]); one that looks like
/// another user's name is refused where users are stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub const MIN: usize = 3;
    pub const MAX: usize = 32;
    /// Words a mention gives a meaning of its own ([`crate::mentions`]),
    /// which no new account may take (one that has it already keeps it,
    /// unmentionable).
    pub const RESERVED: [&str; 3] = ["channel", "here", "everyone"];

    pub fn parse(raw: &str) -> Result<Self> {
        let len = raw.len();
        if !(Self::MIN..=Self::MAX).contains(&len) {
            return Err(Error::bad_request("username must be 3 to 32 characters"));
        }
        if !raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')) {
            return Err(Error::bad_request("username may contain only a-z, 0-9, '_', '.' and '-'"));
        }
        Ok(Username(raw.to_ascii_lowercase()))
    }

    /// A username for a new account: one a mention means something else
    /// by (`@here`) is refused.
    pub fn parse_new(raw: &str) -> Result<Self> {
        let name = Username::parse(raw)?;
        if Self::RESERVED.contains(&name.as_str()) {
            return Err(Error::bad_request(format!(
                "\"{name}\" means something else in a mention (@{name}): choose another username"
            )));
        }
        Ok(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user's shown name: 1–64 characters in NFC after trimming, drawn as what
/// it is — the rules of usernames but for case and the alphabet: no
/// invisible, direction-changing or control character (see [`names`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX: usize = 64;

    pub fn parse(raw: &str) -> Result<Self> {
        let name = names::normalized(raw);
        if !(1..=Self::MAX).contains(&char_len(&name)) {
            return Err(Error::bad_request("display_name must be 1 to 64 characters"));
        }
        names::check_visible("display_name", &name)?;
        Ok(DisplayName(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// 8–1024 characters. Never printed: `Debug` is redacted.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self> {
        let len = char_len(raw);
        if len < 8 {
            return Err(Error::bad_request("password must be at least 8 characters"));
        }
        if len > 1024 {
            return Err(Error::bad_request("password must be at most 1024 characters"));
        }
        Ok(Password(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $min:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub const MAX: usize = $max;

            /// Trims surrounding whitespace, then checks the length and that
            /// no control character is left.
            pub fn parse(raw: &str) -> Result<Self> {
                let trimmed = raw.trim();
                let len = char_len(trimmed);
                if !($min..=$max).contains(&len) {
                    return Err(Error::bad_request(concat!(
                        $what, " must be ", $min, " to ", $max, " characters"
                    )));
                }
                if has_control(trimmed) {
                    return Err(Error::bad_request(concat!($what, " may not contain control characters")));
                }
                Ok($name(trimmed.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_type!(
    /// A channel's name: 1–80 characters.
    ChannelName, "name", 1, 80
);
text_type!(
    /// A channel's topic: up to 250 characters.
    Topic, "topic", 0, 250
);

/// A message body: 1–4000 characters after trimming. Blank is `bad_request`;
/// longer is `payload_too_large`. Newlines and tabs are kept; other control
/// characters are refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Body(String);

impl Body {
    pub const MAX: usize = 4000;

    pub fn parse(raw: &str) -> Result<Self> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(Error::bad_request("body must not be blank"));
        }
        if char_len(trimmed) > Self::MAX {
            return Err(Error::too_large("body must be at most 4000 characters"));
        }
        if trimmed.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
            return Err(Error::bad_request("body may not contain control characters"));
        }
        Ok(Body(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The sender's own id for a message, which makes a retry harmless: 1–64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientMsgId(String);

impl ClientMsgId {
    pub const MAX: usize = 64;

    pub fn parse(raw: &str) -> Result<Self> {
        let len = char_len(raw);
        if len == 0 || len > Self::MAX {
            return Err(Error::bad_request("client_msg_id must be 1 to 64 characters"));
        }
        if has_control(raw) {
            return Err(Error::bad_request("client_msg_id may not contain control characters"));
        }
        Ok(ClientMsgId(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A position in a channel's log: 0 means "before the first event".
pub type Seq = i64;

/// Parses a `seq` given by a client: a whole number ≥ 0.
pub fn parse_seq(raw: i64, what: &str) -> Result<Seq> {
    if raw < 0 {
        return Err(Error::bad_request(format!("{what} must not be negative")));
    }
    Ok(raw)
}

/// How many events one page may hold: default 50, at most 500 (larger asks are
/// capped at 500, since they are not wrong, only greedy); 0 is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(u32);

impl PageLimit {
    pub const DEFAULT: u32 = 50;
    pub const MAX: u32 = 500;

    pub fn parse(raw: Option<i64>) -> Result<Self> {
        match raw {
            None => Ok(PageLimit(Self::DEFAULT)),
            Some(n) if n < 1 => Err(Error::bad_request("limit must be at least 1")),
            Some(n) => Ok(PageLimit(n.min(i64::from(Self::MAX)) as u32)),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// Which slice of a channel's log to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// Events with `seq > after`, oldest first.
    After(Seq, PageLimit),
    /// The newest `limit` events with `seq < before` (or the newest of all), oldest first.
    Before(Option<Seq>, PageLimit),
    /// `limit` events around `seq` (it and up to half before it), oldest first.
    Around(Seq, PageLimit),
}

impl Page {
    pub fn parse(after: Option<i64>, before: Option<i64>, around: Option<i64>, limit: Option<i64>) -> Result<Self> {
        let limit = PageLimit::parse(limit)?;
        match (after, before, around) {
            (Some(a), None, None) => Ok(Page::After(parse_seq(a, "after")?, limit)),
            (None, Some(b), None) => Ok(Page::Before(Some(parse_seq(b, "before")?), limit)),
            (None, None, Some(seq)) => Ok(Page::Around(parse_seq(seq, "around")?, limit)),
            (None, None, None) => Ok(Page::Before(None, limit)),
            _ => Err(Error::bad_request("give one of after, before and around, not several")),
        }
    }
}

/// How many times an invite may be used: 1–10,000, or unlimited when absent.
pub fn parse_max_uses(raw: Option<i64>) -> Result<Option<u32>> {
    match raw {
        None => Ok(None),
        Some(n) if (1..=10_000).contains(&n) => Ok(Some(n as u32)),
        Some(_) => Err(Error::bad_request("max_uses must be 1 to 10000")),
    }
}

/// How long an invite lives: 1 second to 365 days, or forever when absent.
pub fn parse_expires_in(raw: Option<i64>) -> Result<Option<i64>> {
    match raw {
        None => Ok(None),
        Some(n) if (1..=365 * 24 * 3600).contains(&n) => Ok(Some(n)),
        Some(_) => Err(Error::bad_request("expires_in_seconds must be 1 to 31536000")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use proptest::prelude::*;

    #[test]
    fn usernames_fold_case() {
        assert_eq!(Username::parse("Alice_1").unwrap().as_str(), "alice_1");
        assert!(Username::parse("al").is_err());
        assert!(Username::parse("al ice").is_err());
        assert!(Username::parse("ålice").is_err());
        assert!(
            Username::parse_new("Here").is_err() && Username::parse("Here").is_ok(),
            "reserved for new accounts only"
        );
        assert!(Username::parse_new("heretic").is_ok());
    }

    #[test]
    fn display_names_are_nfc_trimmed_and_visible() {
        let decomposed = "e\u{0301}".repeat(64);
        assert_eq!(DisplayName::parse(&decomposed).unwrap().as_str(), "é".repeat(64), "counted after NFC");
        assert!(DisplayName::parse(&"é".repeat(65)).is_err());
        assert_eq!(DisplayName::parse("  Al  ").unwrap().as_str(), "Al");
        assert_eq!(DisplayName::parse("\u{202E}ecila").unwrap_err().code, ErrorCode::BadRequest);
        assert_eq!(DisplayName::parse("al\u{200B}ice").unwrap_err().code, ErrorCode::BadRequest);
        assert!(DisplayName::parse(" \u{3000} ").is_err());
    }

    #[test]
    fn body_edges() {
        assert_eq!(Body::parse("  hi \n").unwrap().as_str(), "hi");
        assert_eq!(Body::parse("   ").unwrap_err().code, ErrorCode::BadRequest);
        assert_eq!(Body::parse(&"x".repeat(4000)).unwrap().as_str().len(), 4000);
        assert_eq!(Body::parse(&"x".repeat(4001)).unwrap_err().code, ErrorCode::PayloadTooLarge);
        assert_eq!(Body::parse(&"é".repeat(4000)).unwrap().as_str().chars().count(), 4000);
    }

    #[test]
    fn paging_edges() {
        assert_eq!(Page::parse(None, None, None, None).unwrap(), Page::Before(None, PageLimit(50)));
        assert_eq!(Page::parse(Some(0), None, None, Some(900)).unwrap(), Page::After(0, PageLimit(500)));
        assert!(Page::parse(Some(1), Some(2), None, None).is_err());
        assert!(Page::parse(Some(-1), None, None, None).is_err());
        assert!(Page::parse(None, None, None, Some(0)).is_err());
    }

    proptest! {
        #[test]
        fn username_accepts_exactly_the_alphabet(s in "\\PC{0,40}") {
            let ok = (3..=32).contains(&s.len())
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
            prop_assert_eq!(Username::parse(&s).is_ok(), ok);
            if let Ok(u) = Username::parse(&s) {
                prop_assert_eq!(u.as_str(), s.to_ascii_lowercase());
                prop_assert_eq!(Username::parse(u.as_str()).unwrap(), u);
            }
        }

        #[test]
        fn body_is_trimmed_and_bounded(s in "[ \\t\\na-zé😀]{0,4100}") {
            let trimmed = s.trim();
            match Body::parse(&s) {
                Ok(b) => {
                    prop_assert_eq!(b.as_str(), trimmed);
                    prop_assert!((1..=4000).contains(&b.as_str().chars().count()));
                }
                Err(e) if trimmed.is_empty() => prop_assert_eq!(e.code, ErrorCode::BadRequest),
                Err(e) => {
                    prop_assert_eq!(e.code, ErrorCode::PayloadTooLarge);
                    prop_assert!(trimmed.chars().count() > 4000);
                }
            }
        }

        #[test]
        fn display_name_parses_to_itself(s in "\\PC{0,70}|.{0,70}") {
            if let Ok(name) = DisplayName::parse(&s) {
                prop_assert_eq!(DisplayName::parse(name.as_str()).unwrap(), name.clone());
                prop_assert!((1..=64).contains(&name.as_str().chars().count()));
                prop_assert_eq!(name.as_str().trim(), name.as_str());
            }
        }

        #[test]
        fn body_never_panics(s in "\\PC*|.*") {
            let _ = Body::parse(&s);
        }

        #[test]
        fn paging_bounds(after in proptest::option::of(-5i64..1_000_000),
                         before in proptest::option::of(-5i64..1_000_000),
                         limit in proptest::option::of(-5i64..100_000)) {
            match Page::parse(after, before, None, limit) {
                Ok(Page::After(a, l)) => {
                    prop_assert!(a >= 0 && before.is_none());
                    prop_assert!((1..=500).contains(&l.get()));
                }
                Ok(Page::Before(b, l)) => {
                    prop_assert!(after.is_none() && b == before && b.is_none_or(|b| b >= 0));
                    prop_assert!((1..=500).contains(&l.get()));
                    prop_assert_eq!(l.get() as i64, limit.unwrap_or(50).min(500));
                }
                Err(e) => {
                    prop_assert_eq!(e.code, ErrorCode::BadRequest);
                    prop_assert!((after.is_some() && before.is_some())
                        || after.is_some_and(|a| a < 0) || before.is_some_and(|b| b < 0)
                        || limit.is_some_and(|l| l < 1));
                }
                Ok(Page::Around(..)) => prop_assert!(false, "no around was given"),
            }
        }

        #[test]
        fn client_msg_id_bounds(s in "\\PC{0,70}") {
            let n = s.chars().count();
            prop_assert_eq!(ClientMsgId::parse(&s).is_ok(), (1..=64).contains(&n));
        }
    }
}
