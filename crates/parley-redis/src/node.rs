//! One node's local truth (its online users) and its mirror in Redis: the
//! calls that change it, bounded, with Redis known down answered at once.

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use parley_core::id::UserId;
use parley_core::{Error, ErrorCode, Result};
use redis::aio::ConnectionManager;
use redis::RedisResult;
use tokio::sync::{Mutex, Notify};
use tracing::{info, warn};
use uuid::Uuid;

use crate::error::bounded;
use crate::scripts::{users_key, Op, Scripts};
use crate::RedisPresenceConfig;

/// Users per script call: bounds the time one script holds Redis (scripts
/// run alone) and the size of one request.
pub(crate) const CHUNK: usize = 256;

/// What the port's methods and the keeper share.
pub(crate) struct Node {
    pub config: RedisPresenceConfig,
    /// A random id, new at every start.
    pub id: String,
    pub conn: ConnectionManager,
    pub scripts: Scripts,
    /// Held across the Redis call of every change, so that Redis sees this
    /// node's changes in the order of the local truth.
    local: Mutex<Local>,
    /// The last call failed as `unavailable`: calls answer at once until the
    /// keeper's next probe succeeds, rather than queueing behind timeouts.
    down: AtomicBool,
    /// Asks the keeper to renew now (Redis lost the claim, or went down).
    pub wake: Notify,
}

/// This node's users: the truth Redis is repaired from.
#[derive(Default)]
struct Local {
    online: HashSet<UserId>,
    /// Users whose last change may not have reached Redis; re-sent, and
    /// announced again, at the next renewal.
    dirty: HashSet<UserId>,
    /// Redis lost this node's claim (expired, swept, restarted): re-assert all.
    resync: bool,
    /// The node left: no change reaches Redis any more.
    stopped: bool,
}

impl Node {
    pub(crate) fn new(config: RedisPresenceConfig, conn: ConnectionManager) -> Node {
        Node {
            config,
            id: Uuid::now_v7().simple().to_string(),
            conn,
            scripts: Scripts::new(),
            local: Mutex::new(Local::default()),
            down: AtomicBool::new(false),
            wake: Notify::new(),
        }
    }

    /// One call to Redis, bounded by the timeout; keeps `down` up to date.
    pub(crate) async fn call<T>(&self, what: &str, call: impl Future<Output = RedisResult<T>>) -> Result<T> {
        let result = bounded(what, self.config.timeout, call).await;
        match &result {
            Ok(_) => {
                if self.down.swap(false, Ordering::SeqCst) {
                    info!(node = %self.id, "redis presence: redis answers again");
                }
            }
            Err(err) if err.code == ErrorCode::Unavailable => {
                if !self.down.swap(true, Ordering::SeqCst) {
                    warn!(node = %self.id, error = %err, "redis presence: redis is down, changes kept to re-send");
                    self.wake.notify_one();
                }
            }
            Err(_) => {}
        }
        result
    }

    pub(crate) fn check_up(&self) -> Result<()> {
        if self.is_down() {
            return Err(Error::unavailable("redis: down since a call failed; the node retries in the background"));
        }
        Ok(())
    }

    pub(crate) fn is_down(&self) -> bool {
        self.down.load(Ordering::SeqCst)
    }

    /// Records the change locally, then in Redis. On failure the change is
    /// kept, and the keeper re-sends it once Redis answers.
    pub(crate) async fn set_online(&self, user: UserId, online: bool) -> Result<()> {
        let mut local = self.local.lock().await;
        if local.stopped {
            return Err(Error::unavailable("redis presence: shut down"));
        }
        if online {
            local.online.insert(user);
        } else {
            local.online.remove(&user);
        }
        let op = match (online, local.dirty.contains(&user)) {
            (true, false) => Op::On,
            (false, false) => Op::Off,
            (true, true) => Op::OnAgain,
            (false, true) => Op::OffAgain,
        };
        let result = match self.check_up() {
            Ok(()) => self.apply(vec![(user.to_string(), op)]).await,
            Err(err) => Err(err),
        };
        match result {
            Ok(lapsed) => {
                local.dirty.remove(&user);
                if lapsed {
                    local.resync = true;
                    self.wake.notify_one();
                }
                Ok(())
            }
            Err(err) => {
                local.dirty.insert(user);
                Err(err)
            }
        }
    }

    /// Renews the claim and applies `changes` in chunks; true when the claim
    /// had lapsed before this call.
    pub(crate) async fn apply(&self, changes: Vec<(String, Op)>) -> Result<bool> {
        let chunks: Vec<&[(String, Op)]> = if changes.is_empty() { vec![&[]] } else { changes.chunks(CHUNK).collect() };
        let mut lapsed = false;
        for chunk in chunks {
            let mut call = self.scripts.apply.prepare_invoke();
            call.arg(&self.config.prefix).arg(&self.id).arg(self.config.ttl_ms());
            for (user, op) in chunk {
                call.arg(user).arg(op.as_str());
            }
            let mut conn = self.conn.clone();
            let answer: i64 = self.call("apply", call.invoke_async(&mut conn)).await?;
            lapsed |= answer == 1;
        }
        Ok(lapsed)
    }

    /// The keeper's renewal: renews the claim and re-sends the changes that
    /// may not have reached Redis; after a lapse, re-asserts every user of
    /// this node and withdraws any Redis holds for it beyond those.
    pub(crate) async fn renew(&self) -> Result<()> {
        let mut local = self.local.lock().await;
        if local.stopped {
            return Ok(());
        }
        let local = &mut *local;
        if !local.resync {
            let again = |user: &UserId| if local.online.contains(user) { Op::OnAgain } else { Op::OffAgain };
            let changes = local.dirty.iter().map(|user| (user.to_string(), again(user))).collect();
            let lapsed = self.apply(changes).await?;
            local.dirty.clear();
            if !lapsed {
                return Ok(());
            }
            local.resync = true;
            info!(node = %self.id, users = local.online.len(), "redis presence: claim had lapsed, re-asserting");
        }
        let mut read = redis::cmd("SMEMBERS");
        read.arg(users_key(&self.config.prefix, &self.id));
        let mut conn = self.conn.clone();
        let held: Vec<String> = self.call("read claim", read.query_async(&mut conn)).await?;
        let mut changes = Vec::new();
        for user in &local.online {
            changes.push((user.to_string(), if local.dirty.contains(user) { Op::OnAgain } else { Op::On }));
        }
        for user in local.dirty.difference(&local.online) {
            changes.push((user.to_string(), Op::OffAgain));
        }
        let listed: HashSet<String> = changes.iter().map(|(user, _)| user.clone()).collect();
        changes.extend(held.into_iter().filter(|user| !listed.contains(user)).map(|user| (user, Op::Off)));
        self.apply(changes).await?;
        local.dirty.clear();
        local.resync = false;
        Ok(())
    }

    /// Forgets the nodes whose claim lapsed; how many.
    pub(crate) async fn sweep(&self) -> Result<i64> {
        let mut call = self.scripts.sweep.prepare_invoke();
        call.arg(&self.config.prefix).arg(&self.id);
        let mut conn = self.conn.clone();
        self.call("sweep", call.invoke_async(&mut conn)).await
    }

    /// Gives the claim up for good (at shutdown, once the keeper has stopped);
    /// a second call does nothing.
    pub(crate) async fn leave(&self) -> Result<()> {
        let mut local = self.local.lock().await;
        if std::mem::replace(&mut local.stopped, true) {
            return Ok(());
        }
        let mut call = self.scripts.leave.prepare_invoke();
        call.arg(&self.config.prefix).arg(&self.id);
        let mut conn = self.conn.clone();
        self.call("leave", call.invoke_async::<i64>(&mut conn)).await?;
        info!(node = %self.id, "redis presence: node left");
        Ok(())
    }
}
