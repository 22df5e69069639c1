//! The table of rate limits: each class of request, whom it counts against,
//! and its budget by default; and the `--rate-limit` setting that changes a
//! budget. docs/operations.md ("Security") lists the same rows (a test below
//! holds the two together).

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

/// A kind of request with a budget of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Messages,
    Channels,
    Invites,
    Dms,
    Joins,
    Profile,
    ReadMarkers,
    Searches,
    Registrations,
    Logins,
    LoginsPerAddress,
}

/// Whom a class counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// The signed-in user, over all their sessions on this node.
    User,
    /// The client address (an IPv6 /64 as one), where nobody is signed in yet.
    Address,
    /// The username a login names, whether or not such a user exists.
    Account,
}

/// `count` at once, then one more every `window / count`: a bucket of
/// `count` requests that refills in `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub count: NonZeroU32,
    pub window: Duration,
}

const fn budget(count: u32, window_secs: u64) -> Budget {
    match NonZeroU32::new(count) {
        Some(count) => Budget { count, window: Duration::from_secs(window_secs) },
        None => panic!("a budget of 0"),
    }
}

const MINUTE: u64 = 60;

/// One class: its name in `--rate-limit`, whom it counts, its default, and
/// what a refusal says there are too many of.
pub struct Row {
    pub class: Class,
    pub name: &'static str,
    pub counted: Counted,
    pub default: Budget,
    pub what: &'static str,
}

/// Every class, in [`Class`]'s order. The defaults are far above what a
/// person does (a burst as large as a busy minute of use, and a refill
/// that outlasts anyone clicking) and far below the floods issue 15
/// measured: 6,448 channels in 15 s, 100 invites in 0.2 s, 30 DMs in
/// 0.1 s, 100 profile changes in 0.2 s, 100 join/leave cycles in 0.3 s.
pub const TABLE: [Row; 11] = [
    // `--send-rate 10`: 10 a second, burst 20; set only by `--send-rate`.
    Row { class: Class::Messages, name: "messages", counted: Counted::User, default: budget(20, 2), what: "messages" },
    Row {
        class: Class::Channels,
        name: "channels",
        counted: Counted::User,
        default: budget(20, 10 * MINUTE),
        what: "channels created",
    },
    Row {
        class: Class::Invites,
        name: "invites",
        counted: Counted::User,
        default: budget(20, 10 * MINUTE),
        what: "invites created",
    },
    Row { class: Class::Dms, name: "dms", counted: Counted::User, default: budget(20, 5 * MINUTE), what: "DMs opened" },
    // Joining, leaving and accepting an invite: each is an event every
    // member receives.
    Row {
        class: Class::Joins,
        name: "joins",
        counted: Counted::User,
        default: budget(30, 5 * MINUTE),
        what: "joins and leaves",
    },
    Row {
        class: Class::Profile,
        name: "profile",
        counted: Counted::User,
        default: budget(10, 10 * MINUTE),
        what: "profile changes",
    },
    // The web client tells a read at once, then at most one per channel
    // every 300 ms; a channel's preferences count here too.
    Row {
        class: Class::ReadMarkers,
        name: "read-markers",
        counted: Counted::User,
        default: budget(100, 10),
        what: "read markers and preferences",
    },
    // People search reads every user; the public channel list up to a
    // thousand channels; a message search whatever its words match. The web
    // client searches people 150 ms after typing stops, messages on Enter.
    Row {
        class: Class::Searches,
        name: "searches",
        counted: Counted::User,
        default: budget(60, MINUTE),
        what: "searches",
    },
    // Many people behind one NAT may sign up on the same morning: 30 at
    // once, then one a minute.
    Row {
        class: Class::Registrations,
        name: "registrations-per-address",
        counted: Counted::Address,
        default: budget(30, 30 * MINUTE),
        what: "registrations from this address",
    },
    // Every attempt counts, right or wrong, and before the password is
    // checked: a guesser learns nothing from the 11th answer. One more a
    // minute, so that the 11th within any minute is refused.
    Row {
        class: Class::Logins,
        name: "logins-per-account",
        counted: Counted::Account,
        default: budget(10, 10 * MINUTE),
        what: "logins to this account",
    },
    Row {
        class: Class::LoginsPerAddress,
        name: "logins-per-address",
        counted: Counted::Address,
        default: budget(60, 10 * MINUTE),
        what: "logins from this address",
    },
];

impl Class {
    pub fn row(self) -> &'static Row {
        &TABLE[self as usize]
    }
}

/// One `--rate-limit` entry: `CLASS=COUNT/WINDOW` (`channels=20/10m`), or
/// `CLASS=0` for no limit. `all` names every class of the table but
/// `messages`, whose setting is `--send-rate`. Later entries win.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct RateLimitSetting {
    /// `None`: every class but messages.
    pub class: Option<Class>,
    /// `None`: no limit.
    pub budget: Option<Budget>,
}

impl RateLimitSetting {
    /// `all=0`: no limit but `--send-rate`'s.
    pub const ALL_OFF: RateLimitSetting = RateLimitSetting { class: None, budget: None };
}

impl FromStr for RateLimitSetting {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, value) = s.split_once('=').ok_or_else(|| format!("{s:?}: expected CLASS=COUNT/WINDOW"))?;
        let class = match name.trim() {
            "all" => None,
            "messages" => return Err("messages are limited by --send-rate".into()),
            name => Some(
                TABLE
                    .iter()
                    .find(|row| row.name == name)
                    .map(|row| row.class)
                    .ok_or_else(|| format!("no rate limit class {name:?} (see docs/operations.md)"))?,
            ),
        };
        let value = value.trim();
        let budget =
            if value == "0" { None } else { Some(value.parse::<Budget>().map_err(|e| format!("{s:?}: {e}"))?) };
        Ok(RateLimitSetting { class, budget })
    }
}

impl TryFrom<String> for RateLimitSetting {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// `COUNT/WINDOW`, the window a number with `ms`, `s` (the default), `m` or `h`.
impl FromStr for Budget {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (count, window) = s.split_once('/').ok_or("expected COUNT/WINDOW, such as 20/10m")?;
        let count = count.trim().parse::<NonZeroU32>().map_err(|_| "COUNT must be a whole number from 1")?;
        let window = window.trim();
        let split = window.find(|c: char| !c.is_ascii_digit()).unwrap_or(window.len());
        let (number, unit) = window.split_at(split);
        let number: u64 = number.parse().map_err(|_| "WINDOW must be a number with ms, s, m or h")?;
        let window = match unit {
            "ms" => Duration::from_millis(number),
            "" | "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number * 60),
            "h" => Duration::from_secs(number * 3600),
            _ => return Err("WINDOW's unit must be ms, s, m or h".into()),
        };
        if window.is_zero() {
            return Err("WINDOW must be longer than 0".into());
        }
        Ok(Budget { count, window })
    }
}

/// As written in docs/operations.md: `20/10m`.
impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.window.as_millis();
        let (number, unit) = match ms {
            _ if ms.is_multiple_of(3_600_000) => (ms / 3_600_000, "h"),
            _ if ms.is_multiple_of(60_000) => (ms / 60_000, "m"),
            _ if ms.is_multiple_of(1000) => (ms / 1000, "s"),
            _ => (ms, "ms"),
        };
        write!(f, "{}/{number}{unit}", self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_the_order_of_its_classes() {
        for (i, row) in TABLE.iter().enumerate() {
            assert_eq!(row.class as usize, i, "{}", row.name);
        }
    }

    #[test]
    fn settings_parse() {
        let set: RateLimitSetting = "channels=5/90s".parse().unwrap();
        assert_eq!(set.class, Some(Class::Channels));
        assert_eq!(set.budget, Some(budget(5, 90)));
        assert_eq!("all=0".parse(), Ok(RateLimitSetting { class: None, budget: None }));
        let ms: RateLimitSetting = "invites = 3/500ms".parse().unwrap();
        assert_eq!(ms.budget.unwrap().window, Duration::from_millis(500));
        for wrong in ["channels", "channels=5", "channels=0/1s", "channels=5/0s", "channels=5/1d", "nope=1/1s"] {
            assert!(wrong.parse::<RateLimitSetting>().is_err(), "{wrong}");
        }
        assert!("messages=1/1s".parse::<RateLimitSetting>().unwrap_err().contains("--send-rate"));
    }

    #[test]
    fn budgets_are_written_as_they_are_set() {
        assert_eq!(budget(20, 600).to_string(), "20/10m");
        assert_eq!(budget(30, 1800).to_string(), "30/30m");
        assert_eq!(budget(2, 3600).to_string(), "2/1h");
        assert_eq!(budget(20, 2).to_string(), "20/2s");
        assert_eq!("3/1500ms".parse::<Budget>().unwrap().to_string(), "3/1500ms");
    }

    /// docs/operations.md has a row for each class, with its setting and default.
    #[test]
    fn operations_md_lists_every_class_with_its_default() {
        let docs = include_str!("../../../../docs/operations.md");
        for row in &TABLE[1..] {
            let cells = format!("| `--rate-limit {}=…` | `{}` |", row.name, row.default);
            assert!(docs.contains(&cells), "docs/operations.md has no row with {cells}");
        }
        assert!(docs.contains("| `--send-rate` | `10` (20/2s) |"), "the messages row");
    }
}
