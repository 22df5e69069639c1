//! How many live sessions (WebSocket and SSE) one user, and one client
//! address, may hold on this node at once. A place is taken before a
//! session starts and given back when it ends, so a refusal never races a
//! session that is starting: the 21st is refused even if all 21 arrive at
//! once.
//!
//! Refusals, as docs/protocol.md states them: over the address's limit, the
//! request is answered 429 before any upgrade or stream (the address is
//! known from the request); over the user's, an SSE request is answered 429
//! and a WebSocket, whose user is known only from `hello`, gets an `error`
//! frame `rate_limited` and closes with [`super::close::CloseCode::TooManySessions`].

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use parley_core::id::UserId;
use parley_core::{Error, ErrorCode};

use crate::http::error::ApiError;
use crate::metrics::{Metrics, SessionLimit};

/// `Retry-After` of a refusal: a place frees when some session of the user
/// or address closes, which nobody can foresee; sooner than this is noise.
const RETRY_AFTER_SECS: &str = "10";

pub struct SessionLimits {
    users: Arc<Counts<UserId>>,
    addresses: Arc<Counts<AddressKey>>,
    metrics: Arc<Metrics>,
}

/// A client address as counted: an IPv6 host is given a /64 of its own, so
/// one /64 counts as one address (or its limit would be a formality).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum AddressKey {
    V4(u32),
    V6Net(u64),
}

impl From<IpAddr> for AddressKey {
    fn from(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => AddressKey::V4(v4.to_bits()),
            IpAddr::V6(v6) => AddressKey::V6Net((v6.to_bits() >> 64) as u64),
        }
    }
}

/// Sessions held per key, at most `limit` each (0: not counted at all).
struct Counts<K> {
    limit: usize,
    held: Mutex<HashMap<K, usize>>,
}

impl<K: Hash + Eq + Copy + Send + 'static> Counts<K> {
    fn new(limit: usize) -> Arc<Self> {
        Arc::new(Counts { limit, held: Mutex::new(HashMap::new()) })
    }

    fn take(self: &Arc<Self>, key: K) -> Option<Place> {
        if self.limit == 0 {
            return Some(Place(None));
        }
        let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = held.entry(key).or_default();
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        let counts = self.clone();
        Some(Place(Some(Box::new(move || counts.give_back(key)))))
    }

    fn give_back(&self, key: K) {
        let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = held.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                held.remove(&key);
            }
        }
    }
}

/// A session's place under a limit, given back when dropped: held for as
/// long as the session runs.
#[must_use = "the place is given back when this is dropped"]
pub struct Place(Option<Box<dyn FnOnce() + Send>>);

impl Drop for Place {
    fn drop(&mut self) {
        if let Some(give_back) = self.0.take() {
            give_back();
        }
    }
}

impl SessionLimits {
    /// `per_user` and `per_address` live sessions at most; 0 = no limit.
    pub fn new(per_user: usize, per_address: usize, metrics: Arc<Metrics>) -> Self {
        SessionLimits { users: Counts::new(per_user), addresses: Counts::new(per_address), metrics }
    }

    /// A place for one more session from `client`; an unknown client is not counted.
    pub fn admit_address(&self, client: Option<IpAddr>) -> Result<Place, Error> {
        let Some(client) = client else { return Ok(Place(None)) };
        self.addresses.take(AddressKey::from(client)).ok_or_else(|| {
            self.metrics.session_refused(SessionLimit::Address);
            tracing::info!(client = %client, limit = self.addresses.limit, "session refused: too many from one address");
            Error::new(
                ErrorCode::RateLimited,
                format!("too many live sessions from this address (at most {}): close one first", self.addresses.limit),
            )
        })
    }

    /// A place for one more session of `user`.
    pub fn admit_user(&self, user: UserId) -> Result<Place, Error> {
        self.users.take(user).ok_or_else(|| {
            self.metrics.session_refused(SessionLimit::User);
            tracing::info!(user = %user, limit = self.users.limit, "session refused: too many for one user");
            Error::new(
                ErrorCode::RateLimited,
                format!("too many live sessions for this user (at most {}): close one first", self.users.limit),
            )
        })
    }
}

/// A refusal as an HTTP answer: 429 `rate_limited` with a `Retry-After`.
pub fn refusal(error: Error) -> Response {
    let mut response = ApiError(error).into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_counted_per_user_and_per_address_and_given_back() {
        let limits = SessionLimits::new(2, 3, Arc::default());
        let alice = UserId::generate();
        let (a, b) = (limits.admit_user(alice).unwrap(), limits.admit_user(alice).unwrap());
        assert!(limits.admit_user(alice).is_err(), "a third session of alice");
        assert!(limits.admit_user(UserId::generate()).is_ok(), "someone else's");
        drop(a);
        let _c = limits.admit_user(alice).expect("a place again once one ends");
        drop(b);

        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let held: Vec<_> = (1..=3).map(|i| limits.admit_address(ip(&format!("2001:db8::{i}"))).unwrap()).collect();
        assert!(limits.admit_address(ip("2001:db8::ffff")).is_err(), "one /64 is one address");
        assert!(limits.admit_address(ip("2001:db8:0:1::1")).is_ok(), "the next /64 is another");
        assert!(limits.admit_address(None).is_ok(), "an unknown client is not counted");
        drop(held);
        assert!(limits.admit_address(ip("2001:db8::ffff")).is_ok());

        let unlimited = SessionLimits::new(0, 0, Arc::default());
        let many: Vec<_> = (0..1000).map(|_| unlimited.admit_user(alice).unwrap()).collect();
        assert_eq!(many.len(), 1000);
    }
}
