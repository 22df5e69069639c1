//! Rate limits on every write and on the expensive reads: one keyed GCRA
//! limiter (`governor`) per class of [`budgets::TABLE`], asked by a handler
//! before it acts. Past a budget the answer is `rate_limited` with when to
//! try again (HTTP: 429 with `Retry-After`; WebSocket: an `error` frame).
//!
//! Budgets are per node: behind a load balancer that spreads one user's
//! requests over N nodes, that user gets up to N times each.

pub mod budgets;

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use parley_core::id::UserId;
use parley_core::{Error, Result};

pub use budgets::{Budget, Class, Counted, RateLimitSetting, TABLE};

use crate::gateway::limits::AddressKey;

/// Who a request is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Who {
    User(UserId),
    Address(AddressKey),
    /// A username as given to login, folded and cut to [`ACCOUNT_KEY_MAX`]
    /// bytes: an unknown name is counted exactly like a known one.
    Account(Box<str>),
}

/// Longer than any username; a longer string names nobody, and is cut so
/// that a flood of long names stays small.
const ACCOUNT_KEY_MAX: usize = 64;

/// How often keys whose budget is full again are forgotten (a full budget
/// is the same as none), so memory follows the clients of the last minutes.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

pub struct RateLimits {
    /// By [`Class`]; `None`: that class has no limit.
    limiters: Vec<Option<(Budget, DefaultKeyedRateLimiter<Who>)>>,
    started: Instant,
    /// Milliseconds after `started` of the next prune.
    next_prune: AtomicU64,
}

impl RateLimits {
    /// The table's defaults, `send_rate` sends a second per user (burst
    /// twice that; 0 = no limit), then `settings` in order.
    pub fn new(send_rate: u32, settings: &[RateLimitSetting]) -> RateLimits {
        let mut budgets: Vec<Option<Budget>> = TABLE.iter().map(|row| Some(row.default)).collect();
        budgets[Class::Messages as usize] = std::num::NonZeroU32::new(send_rate.saturating_mul(2))
            .map(|count| Budget { count, window: Duration::from_secs(2) });
        for setting in settings {
            for row in TABLE.iter().filter(|row| setting.class.map_or(row.class != Class::Messages, |c| c == row.class))
            {
                budgets[row.class as usize] = setting.budget;
            }
        }
        let limiters = budgets
            .into_iter()
            .map(|budget| budget.map(|budget| (budget, RateLimiter::keyed(quota(budget)))))
            .collect();
        RateLimits { limiters, started: Instant::now(), next_prune: AtomicU64::new(PRUNE_EVERY.as_millis() as u64) }
    }

    /// The budget of `class` in effect; `None` when it has no limit.
    pub fn budget(&self, class: Class) -> Option<Budget> {
        self.limiters[class as usize].as_ref().map(|(budget, _)| *budget)
    }

    /// Takes one from `user`'s budget of `class`, or says when to retry.
    pub fn user(&self, class: Class, user: UserId) -> Result<()> {
        debug_assert_eq!(class.row().counted, Counted::User);
        self.check(class, Who::User(user))
    }

    /// Takes one from the budget of `class` of the client at `client`; a
    /// client of unknown address (a router driven without a socket) is not counted.
    pub fn address(&self, class: Class, client: Option<IpAddr>) -> Result<()> {
        debug_assert_eq!(class.row().counted, Counted::Address);
        match client {
            Some(ip) => self.check(class, Who::Address(AddressKey::from(ip))),
            None => Ok(()),
        }
    }

    /// Takes one from the budget of `class` of the account named `username`.
    pub fn account(&self, class: Class, username: &str) -> Result<()> {
        debug_assert_eq!(class.row().counted, Counted::Account);
        let mut key = username.trim().to_lowercase();
        if key.len() > ACCOUNT_KEY_MAX {
            let mut end = ACCOUNT_KEY_MAX;
            while !key.is_char_boundary(end) {
                end -= 1;
            }
            key.truncate(end);
        }
        self.check(class, Who::Account(key.into_boxed_str()))
    }

    fn check(&self, class: Class, who: Who) -> Result<()> {
        let Some((_, limiter)) = &self.limiters[class as usize] else { return Ok(()) };
        self.prune_now_and_then();
        limiter.check_key(&who).map_err(|not_until| {
            let wait = not_until.wait_time_from(limiter.clock().now());
            // Whole seconds, rounded up: `Retry-After` has no finer unit.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let seconds = seconds.max(1);
            tracing::debug!(class = class.row().name, who = ?who, retry_after = seconds, "rate limited");
            Error::rate_limited(
                format!("too many {}: slow down, try again in {seconds} s", class.row().what),
                Duration::from_secs(seconds),
            )
        })
    }

    /// Forgets full budgets every [`PRUNE_EVERY`], on whichever request
    /// comes first after it: no task of its own to own and stop.
    fn prune_now_and_then(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        let due = self.next_prune.load(Ordering::Relaxed);
        if now < due {
            return;
        }
        let next = now + PRUNE_EVERY.as_millis() as u64;
        if self.next_prune.compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return;
        }
        for (_, limiter) in self.limiters.iter().flatten() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// `count` at once, refilled one at a time over `window`.
fn quota(budget: Budget) -> Quota {
    let period = (budget.window / budget.count.get()).max(Duration::from_nanos(1));
    Quota::with_period(period).expect("a period above 0").allow_burst(budget.count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_core::ErrorCode;

    #[test]
    fn the_send_rate_allows_its_burst_then_refuses_with_when_to_retry() {
        let limits = RateLimits::new(10, &[]);
        let user = UserId::generate();
        for _ in 0..20 {
            limits.user(Class::Messages, user).unwrap();
        }
        let refused = limits.user(Class::Messages, user).unwrap_err();
        assert_eq!(refused.code, ErrorCode::RateLimited);
        assert_eq!(refused.retry_after, Some(Duration::from_secs(1)));
        limits.user(Class::Messages, UserId::generate()).unwrap();
        limits.user(Class::Channels, user).unwrap();
    }

    #[test]
    fn zero_is_unlimited_and_settings_apply_in_order() {
        let set = |s: &str| s.parse::<RateLimitSetting>().unwrap();
        let limits = RateLimits::new(0, &[set("all=0"), set("invites=1/1h")]);
        let user = UserId::generate();
        for _ in 0..1000 {
            limits.user(Class::Messages, user).unwrap();
            limits.user(Class::Channels, user).unwrap();
        }
        assert_eq!(limits.budget(Class::Invites).map(|b| b.to_string()).as_deref(), Some("1/1h"));
        limits.user(Class::Invites, user).unwrap();
        assert_eq!(limits.user(Class::Invites, user).unwrap_err().retry_after, Some(Duration::from_secs(3600)));
        let defaults = RateLimits::new(10, &[set("all=0")]);
        assert!(defaults.budget(Class::Messages).is_some(), "all leaves messages to --send-rate");
    }

    #[test]
    fn accounts_are_counted_by_folded_name_and_addresses_by_their_64() {
        let limits = RateLimits::new(0, &["logins-per-account=2/1m".parse().unwrap()]);
        limits.account(Class::Logins, "Alice").unwrap();
        limits.account(Class::Logins, " alice ").unwrap();
        assert!(limits.account(Class::Logins, "ALICE").is_err());
        limits.account(Class::Logins, "nobody-at-all").unwrap();
        let long = "é".repeat(100);
        limits.account(Class::Logins, &long).unwrap();

        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let limits = RateLimits::new(0, &["registrations-per-address=1/1m".parse().unwrap()]);
        limits.address(Class::Registrations, ip("2001:db8::1")).unwrap();
        assert!(limits.address(Class::Registrations, ip("2001:db8::2")).is_err(), "the same /64");
        limits.address(Class::Registrations, ip("2001:db8:0:1::1")).unwrap();
        limits.address(Class::Registrations, None).unwrap();
        limits.address(Class::Registrations, None).unwrap();
    }
}
