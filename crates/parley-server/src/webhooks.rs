//! Outgoing webhooks' delivery: each new message of a channel POSTed as JSON
//! to the hook's URL, in `seq` order, at least once, signed with
//! HMAC-SHA256 (`X-Parley-Signature: sha256=<hex>` of the body) and named by
//! `X-Parley-Delivery: <channel_id>:<seq>`, the receiver's idempotency key.
//!
//! Every node runs a deliverer. Where each hook stands is in the store
//! (`delivered_seq`, the failure being retried), and a node takes a hook by
//! leasing it there ([`lease_due`](parley_core::ports::OutgoingStore::lease_due)), renewing the lease with
//! each event it delivers, so one node at a time delivers it, in either
//! mode, and a node killed mid-way leaves the hook to another 15 s later;
//! the event it was delivering is then sent again with the same key. A failure is retried
//! with exponential backoff (from a second, doubling, at most an hour
//! apart) for 24 hours, after which that event is given up on, said
//! in the hook's `last_error`, and the next one goes.
//!
//! Why a lease in the store rather than a consumer group on the events
//! topic: the store is where a hook's progress must be kept anyway (an
//! admin reads it), it reads the same events in the same order in both
//! modes, and hooks move on independently. A consumer group would commit
//! one offset per partition for every channel and hook in it: one hook
//! whose receiver is down for a day would hold back every other hook of its
//! partition, or its messages would have to be parked somewhere else.
//!
//! A hook's URL must be http(s). Unless `--webhook-allow-private`, an
//! address that resolves to a loopback, private, link-local or otherwise
//! non-public address is refused, when the hook is made and at every
//! delivery (the connection goes to the address that was checked, and
//! redirects are not followed), so that a webhook cannot probe the server's
//! own network.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use parley_core::model::{Delivery, Event, EventKind, OutgoingHook};
use parley_core::ports::Store;
use parley_core::time::Timestamp;
use parley_core::{Error, Result};
use parley_protocol as wire;
use reqwest::Url;
use sha2::Sha256;
use tokio_util::sync::CancellationToken;

/// How often a deliverer looks for hooks with messages to deliver.
const POLL: Duration = Duration::from_millis(500);
/// How long a node holds a hook it took; renewed with each event it
/// delivers, so longer than one try ([`TIMEOUT`]). A node killed mid-way
/// leaves its hooks to the others this long after.
const LEASE_SECONDS: i64 = 15;
/// Events one hook sends per round.
const BATCH: u32 = 20;
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long one event is retried before it is given up on.
const GIVE_UP_SECONDS: i64 = 24 * 3600;
/// The longest wait between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// The longest URL a hook may have.
pub const MAX_URL: usize = 2048;

pub struct Deliverer {
    pub store: Arc<dyn Store>,
    /// This node, as leases name it.
    pub node: String,
    pub allow_private: bool,
    /// The first retry's wait; each next one doubles it.
    pub backoff: Duration,
}

impl Deliverer {
    pub async fn run(self, stop: CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(POLL) => {}
            }
            if let Err(error) = self.round().await {
                tracing::warn!(%error, "outgoing webhooks: a round failed");
            }
        }
    }

    /// Delivers what is due of every hook this node takes, hooks side by side.
    async fn round(&self) -> Result<()> {
        let now = Timestamp::now();
        let hooks = self.store.lease_due(&self.node, now, now.plus_seconds(LEASE_SECONDS), 32).await?;
        let results = futures::future::join_all(hooks.iter().map(|hook| self.deliver(hook))).await;
        results.into_iter().collect()
    }

    /// Sends the hook's next events in order, stopping at the first that
    /// fails, or when this node no longer holds the hook.
    async fn deliver(&self, hook: &OutgoingHook) -> Result<()> {
        let mut delivery = hook.delivery.clone();
        let events = self.store.events_after(hook.channel_id, delivery.delivered_seq, BATCH).await?;
        for event in &events {
            if matches!(event.kind, EventKind::Message { .. }) {
                match self.post(hook, event).await {
                    Ok(()) => delivery = Delivery { delivered_seq: event.seq, ..Delivery::default() },
                    Err(reason) => delivery = self.failed(delivery, event, reason),
                }
            } else {
                delivery.delivered_seq = event.seq;
            }
            let until = Timestamp::now().plus_seconds(LEASE_SECONDS);
            if !self.store.record_delivery(hook.id, &self.node, until, &delivery).await?
                || delivery.next_attempt_at.is_some()
            {
                break;
            }
        }
        Ok(())
    }

    /// Where a delivery stands after `event` failed: retried later, or,
    /// failing for 24 hours, given up on.
    fn failed(&self, delivery: Delivery, event: &Event, reason: String) -> Delivery {
        let now = Timestamp::now();
        let since = delivery.failing_since.unwrap_or(now);
        if now.millis() - since.millis() >= GIVE_UP_SECONDS * 1000 {
            tracing::warn!(seq = event.seq, %reason, "outgoing webhook: given up after 24 h");
            let last_error = Some(format!("gave up on seq {} after 24 h: {reason}", event.seq));
            return Delivery { delivered_seq: event.seq, last_error, ..Delivery::default() };
        }
        let attempts = delivery.attempts.saturating_add(1);
        let wait = self.backoff.saturating_mul(1 << attempts.min(20).saturating_sub(1)).min(MAX_BACKOFF);
        let next = Timestamp::from_millis(now.millis() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2));
        Delivery {
            delivered_seq: delivery.delivered_seq,
            failing_since: Some(since),
            last_error: Some(reason),
            attempts,
            next_attempt_at: Some(next),
        }
    }

    async fn post(&self, hook: &OutgoingHook, event: &Event) -> std::result::Result<(), String> {
        let url = Url::parse(&hook.url).map_err(|e| format!("malformed url: {e}"))?;
        let addr = checked_address(&url, self.allow_private).await.map_err(|e| e.message)?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .resolve(&host, addr)
            .user_agent("Parley-Webhook/1")
            .build()
            .map_err(|e| format!("http client: {e}"))?;
        let body = serde_json::to_vec(&serde_json::json!({
            "channel_id": event.channel_id.to_string(),
            "seq": event.seq,
            "event": wire::Event::from(event),
        }))
        .map_err(|e| format!("encoding: {e}"))?;
        let response = client
            .post(url)
            .header("content-type", "application/json")
            .header("x-parley-signature", format!("sha256={}", signature(&hook.secret, &body)))
            .header("x-parley-delivery", format!("{}:{}", event.channel_id, event.seq))
            .body(body)
            .send()
            .await
            .map_err(|e| format!("could not deliver: {e}"))?;
        match response.status() {
            status if status.is_success() => Ok(()),
            status => Err(format!("the receiver answered {status}")),
        }
    }
}

/// The hex HMAC-SHA256 of `body` under `secret`: what `X-Parley-Signature`
/// carries after `sha256=`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// A hook's URL as the server takes it: http(s), a host, at most
/// [`MAX_URL`] bytes.
pub fn parse_url(raw: &str) -> Result<Url> {
    if raw.len() > MAX_URL {
        return Err(Error::bad_request(format!("url must be at most {MAX_URL} bytes")));
    }
    let url = Url::parse(raw.trim()).map_err(|e| Error::bad_request(format!("url is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::bad_request("url must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::bad_request("url must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::bad_request("url may not carry a user name or password"));
    }
    Ok(url)
}

/// The address `url` resolves to, refused when it is not a public one
/// (unless `allow_private`): every address the name resolves to is checked.
pub async fn checked_address(url: &Url, allow_private: bool) -> Result<SocketAddr> {
    let host = url.host_str().ok_or_else(|| Error::bad_request("url must name a host"))?;
    let port = url.port_or_known_default().unwrap_or(80);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Error::bad_request(format!("cannot resolve {host}: {e}")))?
        .collect();
    let first = *addrs.first().ok_or_else(|| Error::bad_request(format!("{host} resolves to no address")))?;
    if !allow_private {
        if let Some(private) = addrs.iter().find(|a| !is_public(a.ip())) {
            return Err(Error::bad_request(format!(
                "{host} resolves to {}, a private or local address: refused (see --webhook-allow-private)",
                private.ip()
            )));
        }
    }
    Ok(first)
}

/// Whether `ip` is an address of the public internet.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_pass() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn urls_are_http_with_a_host() {
        assert!(parse_url("https://example.com/hook").is_ok());
        assert!(parse_url("http://10.0.0.1:8080/x").is_ok(), "the address is checked when resolved");
        for bad in ["ftp://example.com/", "file:///etc/passwd", "not a url", "http://user:pw@example.com/", "http://"] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
        assert!(parse_url(&format!("https://example.com/{}", "a".repeat(MAX_URL))).is_err());
    }

    /// RFC 4231's test case 2.
    #[test]
    fn signatures_are_hmac_sha256() {
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[tokio::test]
    async fn loopback_is_refused_unless_allowed() {
        let url = parse_url("http://127.0.0.1:9/hook").unwrap();
        assert!(checked_address(&url, false).await.is_err());
        assert_eq!(checked_address(&url, true).await.unwrap(), "127.0.0.1:9".parse().unwrap());
        let url = parse_url("http://localhost:9/hook").unwrap();
        assert!(checked_address(&url, false).await.is_err(), "a name resolving to loopback");
    }
}
