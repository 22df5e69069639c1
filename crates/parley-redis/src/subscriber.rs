//! One pub/sub connection per node on the notice channel, fanned out to every
//! subscriber. When the connection drops (a Redis restart) or stops answering
//! pings, it is opened again with backoff; notices published meanwhile are
//! lost, as the port allows.

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use parley_core::presence::{Notice, NoticeStream};
use parley_core::{Error, Result};
use redis::aio::{PubSubSink, PubSubStream};
use redis::{Client, Msg, Value};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::error::bounded;
use crate::wire;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// A subscribed connection, split so that pings go out while messages come in.
pub(crate) type Connection = (PubSubSink, PubSubStream);

pub(crate) async fn open(client: &Client, channel: &str, timeout: Duration) -> Result<Connection> {
    bounded("subscribe", timeout, async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok(pubsub.split())
    })
    .await
}

/// Forwards notices from Redis to `notices` until `stop`, reconnecting as needed.
pub(crate) async fn run(
    client: Client,
    channel: String,
    first: Connection,
    notices: broadcast::Sender<Notice>,
    ping_every: Duration,
    timeout: Duration,
    stop: CancellationToken,
) {
    let mut connection = Some(first);
    let mut backoff = FIRST_BACKOFF;
    loop {
        let (mut sink, mut stream) = match connection.take() {
            Some(connection) => connection,
            None => {
                let opened = tokio::select! {
                    _ = stop.cancelled() => return,
                    opened = open(&client, &channel, timeout) => opened,
                };
                match opened {
                    Ok(connection) => {
                        info!(channel, "redis presence: subscribed again");
                        backoff = FIRST_BACKOFF;
                        connection
                    }
                    Err(err) => {
                        // Once per outage at `warn`: Redis being down is logged where it is noticed.
                        if backoff == FIRST_BACKOFF {
                            warn!(channel, error = %err, "redis presence: cannot subscribe, retrying");
                        } else {
                            debug!(channel, error = %err, retry_in = ?backoff, "redis presence: cannot subscribe");
                        }
                        tokio::select! {
                            _ = stop.cancelled() => return,
                            _ = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                }
            }
        };
        let mut ping = tokio::time::interval(ping_every);
        ping.tick().await;
        loop {
            tokio::select! {
                biased;
                _ = stop.cancelled() => return,
                message = stream.next() => match message {
                    Some(message) => forward(&message, &notices),
                    None => {
                        warn!(channel, "redis presence: pub/sub connection lost");
                        break;
                    }
                },
                _ = ping.tick() => {
                    // A connection that went silent without closing (a network
                    // partition) would otherwise wait forever.
                    if let Err(err) = bounded("ping", timeout, sink.ping::<Value>()).await {
                        warn!(channel, error = %err, "redis presence: pub/sub connection not answering");
                        break;
                    }
                }
            }
        }
    }
}

fn forward(message: &Msg, notices: &broadcast::Sender<Notice>) {
    let text = String::from_utf8_lossy(message.get_payload_bytes());
    match wire::decode(&text) {
        // No subscriber at the moment is fine: notices are not kept.
        Some(notice) => drop(notices.send(notice)),
        None => warn!(notice = %text, "redis presence: skipping an undecodable notice"),
    }
}

/// One subscriber's view: a receiver of the node's fan-out.
pub(crate) struct Notices {
    receiver: broadcast::Receiver<Notice>,
}

impl Notices {
    pub(crate) fn new(receiver: broadcast::Receiver<Notice>) -> Notices {
        Notices { receiver }
    }
}

#[async_trait]
impl NoticeStream for Notices {
    async fn next(&mut self) -> Result<Notice> {
        loop {
            match self.receiver.recv().await {
                Ok(notice) => return Ok(notice),
                // The bounded buffer's overflow policy: the oldest notices go.
                Err(RecvError::Lagged(lost)) => warn!(lost, "redis presence: subscriber too slow, notices dropped"),
                Err(RecvError::Closed) => return Err(Error::unavailable("redis presence: shut down")),
            }
        }
    }
}
