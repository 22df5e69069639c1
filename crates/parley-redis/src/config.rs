//! What a node needs to know to share presence through Redis.

use std::time::Duration;

use parley_core::{Error, Result};

/// Timings of a node's claim on its users, and the key namespace.
///
/// A node that dies stops renewing: its claim lapses within `ttl`, and some
/// live node sweeps it within `sweep_every` after that. So a dead node's users
/// are reported offline by `online_among` within `ttl` and announced
/// `Offline` within `ttl + sweep_every` (25 s with the defaults; the product
/// promises 30 s). After a Redis restart each node repairs its state at its
/// next renewal, within `renew_every`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisPresenceConfig {
    /// Every key and the notice channel start with `<prefix>:`.
    pub prefix: String,
    /// Lifetime of a node's claim; renewed every `renew_every`.
    pub ttl: Duration,
    /// How often a node renews its claim. At most a third of `ttl`, so that
    /// two missed renewals in a row (a slow Redis, a pause) do not lapse it.
    pub renew_every: Duration,
    /// How often a node looks for lapsed nodes and takes their users offline.
    pub sweep_every: Duration,
    /// Bound on one call to Redis (connect, command, script).
    pub timeout: Duration,
}

impl Default for RedisPresenceConfig {
    fn default() -> Self {
        RedisPresenceConfig {
            prefix: "parley".to_owned(),
            ttl: Duration::from_secs(20),
            renew_every: Duration::from_secs(5),
            sweep_every: Duration::from_secs(5),
            timeout: Duration::from_secs(2),
        }
    }
}

impl RedisPresenceConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        let fail = |why: &str| Err(Error::internal(format!("redis presence config: {why}")));
        if self.prefix.is_empty() || self.prefix.contains(char::is_whitespace) {
            return fail("prefix must be non-empty and without spaces");
        }
        if [self.renew_every, self.sweep_every, self.timeout].contains(&Duration::ZERO) {
            return fail("renew_every, sweep_every and timeout must be positive");
        }
        if self.renew_every * 3 > self.ttl {
            return fail("ttl must be at least three renewal periods");
        }
        if self.ttl.as_millis() > u128::from(u32::MAX) {
            return fail("ttl is too long");
        }
        Ok(())
    }

    /// `ttl` in whole milliseconds, as `SET … PX` takes it (checked by `validate`).
    pub(crate) fn ttl_ms(&self) -> u64 {
        self.ttl.as_millis().max(1) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_announce_a_dead_node_within_30_s() {
        let config = RedisPresenceConfig::default();
        config.validate().unwrap();
        assert!(config.ttl + config.sweep_every <= Duration::from_secs(30));
    }

    #[test]
    fn a_ttl_shorter_than_three_renewals_is_refused() {
        let config = RedisPresenceConfig { ttl: Duration::from_secs(10), ..RedisPresenceConfig::default() };
        assert!(config.validate().is_err());
        let config = RedisPresenceConfig { prefix: "a b".into(), ..RedisPresenceConfig::default() };
        assert!(config.validate().is_err());
    }
}
