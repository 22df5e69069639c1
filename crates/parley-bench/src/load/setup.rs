//! Accounts and channels over REST, before any socket opens. Registration is
//! bound by argon2 (tens of milliseconds of CPU each), so it runs a few at a
//! time and each account is registered once and its token reused.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use futures::{stream, StreamExt, TryStreamExt};

use super::api::{Account, Api};

/// Registrations in flight at once: enough to keep the server's hashing
/// pool busy, few enough not to time out behind it.
pub const REGISTER_CONCURRENCY: usize = 4;
/// Joins in flight at once (cheap: one stored event each).
const JOIN_CONCURRENCY: usize = 16;

/// A prefix unique to this run, so runs against one long-lived server never collide.
pub fn run_prefix() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("pb{:x}", now.as_millis() % 0xff_ffff_ffff)
}

/// Registers `count` users `<prefix>_<i>`, `concurrency` at a time, in order.
pub async fn register(api: &Api, prefix: &str, count: usize, concurrency: usize) -> anyhow::Result<Vec<Account>> {
    let started = Instant::now();
    let mut done = 0usize;
    let mut accounts = Vec::with_capacity(count);
    let mut registrations = stream::iter(0..count)
        .map(|i| {
            let api = api.clone();
            let username = format!("{prefix}_{i}");
            async move { api.register(&username).await }
        })
        .buffered(concurrency.max(1));
    while let Some(account) = registrations.next().await {
        accounts.push(account?);
        done += 1;
        if done.is_multiple_of(100) || done == count {
            let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-3);
            super::progress::status(&format!("registered {done}/{count} users ({rate:.0}/s)"));
        }
    }
    super::progress::end_status();
    Ok(accounts)
}

/// `channels` public channels of `members` each, from consecutive accounts:
/// channel `c` holds accounts `c*members .. (c+1)*members`, the first of
/// which creates it. Returns the channel ids.
pub async fn channels(
    api: &Api,
    prefix: &str,
    accounts: &[Account],
    channels: usize,
    members: usize,
) -> anyhow::Result<Vec<String>> {
    anyhow::ensure!(accounts.len() >= channels * members, "{} accounts for {channels} × {members}", accounts.len());
    let mut ids = Vec::with_capacity(channels);
    for c in 0..channels {
        let creator = &accounts[c * members];
        ids.push(api.create_channel(&creator.token, &format!("{prefix}-{c}")).await?);
    }
    let joins = (0..channels).flat_map(|c| (1..members).map(move |m| (c, c * members + m)));
    stream::iter(joins)
        .map(|(c, a)| {
            let (api, token, channel) = (api.clone(), accounts[a].token.clone(), ids[c].clone());
            async move { api.join(&token, &channel).await }
        })
        .buffer_unordered(JOIN_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await
        .context("joining channels")?;
    Ok(ids)
}
