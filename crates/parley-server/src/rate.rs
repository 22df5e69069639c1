//! Per-user send rate: a token bucket of `rate` per second holding up to `2 × rate`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use parley_core::id::UserId;
use parley_core::{Error, ErrorCode, Result};

pub struct SendLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<UserId, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Past this many users, full buckets are forgotten (a full bucket is the
/// same as no bucket), so the map is bounded by the users sending right now.
const PRUNE_ABOVE: usize = 10_000;

impl SendLimiter {
    /// `rate` sends per second per user; 0 = no limit.
    pub fn new(rate: u32) -> Self {
        SendLimiter { rate: f64::from(rate), burst: 2.0 * f64::from(rate), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one send from `user`'s bucket, or says `rate_limited`.
    pub fn check(&self, user: UserId) -> Result<()> {
        if self.rate == 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let bucket = buckets.entry(user).or_insert(Bucket { tokens: self.burst, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * self.rate).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Error::new(ErrorCode::RateLimited, "too many messages: slow down"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_burst_then_refuses() {
        let limiter = SendLimiter::new(10);
        let user = UserId::generate();
        for _ in 0..20 {
            limiter.check(user).unwrap();
        }
        assert_eq!(limiter.check(user).unwrap_err().code, ErrorCode::RateLimited);
        limiter.check(UserId::generate()).unwrap();
    }

    #[test]
    fn zero_is_unlimited() {
        let limiter = SendLimiter::new(0);
        let user = UserId::generate();
        for _ in 0..1000 {
            limiter.check(user).unwrap();
        }
    }
}
