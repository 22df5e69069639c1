//! The `Presence` port on Redis: a node, its keeper and its subscriber, started and stopped together.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use parley_core::id::{ChannelId, UserId};
use parley_core::ports::Health;
use parley_core::presence::{Mine, Notice, NoticeStream, Presence};
use parley_core::{Error, Result};
use redis::aio::ConnectionManagerConfig;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::info;

use crate::error::bounded;
use crate::node::{Node, CHUNK};
use crate::scripts::notices_channel;
use crate::subscriber::{self, Notices};
use crate::{keeper, wire, RedisPresenceConfig};

/// Notices buffered per subscriber. A subscriber that falls this far behind
/// loses the oldest ones, with a log line; the stream goes on.
const NOTICE_BUFFER: usize = 1_024;

/// Presence on Redis for one node; see the crate docs for the design.
///
/// Dropping it stops its tasks without cleaning up, as a crash would: its
/// users go offline when its claim lapses. [`RedisPresence::shutdown`] gives
/// the claim up at once.
pub struct RedisPresence {
    node: Arc<Node>,
    /// Taken at shutdown, so that streams end once the subscriber task has.
    notices: Mutex<Option<broadcast::Sender<Notice>>>,
    stop: CancellationToken,
    tasks: TaskTracker,
}

impl RedisPresence {
    /// Connects to `url` (`redis://host:port[/db]`), claims a new random node
    /// id, subscribes to the notice channel, and starts the node's tasks.
    /// `unavailable` when Redis does not answer within `config.timeout`.
    pub async fn connect(url: &str, config: RedisPresenceConfig) -> Result<RedisPresence> {
        config.validate()?;
        let client = redis::Client::open(url)
            .map_err(|err| Error::internal(format!("redis: bad url: {err}")).with_source(err))?;
        let timeout = config.timeout;
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(timeout);
        let conn = bounded("connect", timeout, client.get_connection_manager_with_config(manager)).await?;
        let node = Arc::new(Node::new(config, conn));
        // The claim exists before any notice can name this node's users.
        node.apply(Vec::new()).await?;
        let channel = notices_channel(&node.config.prefix);
        let first = subscriber::open(&client, &channel, timeout).await?;

        let (notices, _) = broadcast::channel(NOTICE_BUFFER);
        let (stop, tasks) = (CancellationToken::new(), TaskTracker::new());
        tasks.spawn(keeper::run(node.clone(), stop.clone()));
        let ping_every = node.config.renew_every;
        tasks.spawn(subscriber::run(client, channel, first, notices.clone(), ping_every, timeout, stop.clone()));
        tasks.close();
        info!(node = %node.id, prefix = %node.config.prefix, "redis presence: node started");
        Ok(RedisPresence { node, notices: Mutex::new(Some(notices)), stop, tasks })
    }

    /// This node's id in Redis keys and logs.
    pub fn node_id(&self) -> &str {
        &self.node.id
    }

    /// Stops the node's tasks and gives up its claim: users no other node has
    /// are announced `Offline` now rather than after the TTL. Notice streams
    /// then end with `unavailable`, and later calls are refused. Returns
    /// the error of giving up the claim (it lapses by itself then); a second
    /// call does nothing.
    pub async fn shutdown(&self) -> Result<()> {
        self.stop.cancel();
        self.tasks.wait().await;
        self.notices.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        self.node.leave().await
    }
}

impl RedisPresence {
    /// Publishes a notice the scripts do not: kept nowhere, lost while Redis is down.
    async fn publish(&self, what: &str, notice: &Notice) -> Result<()> {
        let node = &self.node;
        node.check_up()?;
        let mut publish = redis::cmd("PUBLISH");
        publish.arg(notices_channel(&node.config.prefix)).arg(wire::encode(notice));
        let mut conn = node.conn.clone();
        node.call(what, publish.query_async::<i64>(&mut conn)).await?;
        Ok(())
    }
}

impl Drop for RedisPresence {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[async_trait]
impl Presence for RedisPresence {
    async fn set_online(&self, user: UserId, online: bool) -> Result<()> {
        self.node.set_online(user, online).await
    }

    async fn online_among(&self, users: &[UserId]) -> Result<Vec<UserId>> {
        let node = &self.node;
        node.check_up()?;
        let mut online = Vec::new();
        for chunk in users.chunks(CHUNK) {
            let mut call = node.scripts.online_among.prepare_invoke();
            call.arg(&node.config.prefix);
            for user in chunk {
                call.arg(user.to_string());
            }
            let mut conn = node.conn.clone();
            let found: Vec<i64> = node.call("online_among", call.invoke_async(&mut conn)).await?;
            if found.len() != chunk.len() {
                return Err(Error::internal("redis: online_among: one answer per user expected"));
            }
            online.extend(chunk.iter().zip(found).filter(|(_, found)| *found == 1).map(|(user, _)| *user));
        }
        Ok(online)
    }

    async fn typing(&self, channel: ChannelId, user: UserId) -> Result<()> {
        self.publish("typing", &Notice::Typing { channel, user }).await
    }

    async fn mine(&self, user: UserId, what: Mine) -> Result<()> {
        self.publish("a user's own notice", &Notice::Mine { user, what }).await
    }

    async fn subscribe(&self) -> Result<Box<dyn NoticeStream>> {
        let notices = self.notices.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match notices.as_ref() {
            Some(sender) if !self.stop.is_cancelled() => Ok(Box::new(Notices::new(sender.subscribe()))),
            _ => Err(Error::unavailable("redis presence: shut down")),
        }
    }
}

#[async_trait]
impl Health for RedisPresence {
    /// Succeeds while Redis answers a `PING` within the configured timeout:
    /// what `/readyz` asks.
    async fn ping(&self) -> Result<()> {
        let node = &self.node;
        let mut conn = node.conn.clone();
        node.call("ping", redis::cmd("PING").query_async::<String>(&mut conn)).await?;
        Ok(())
    }
}
