//! The processor's step in cluster mode: commands taken from the command log
//! are appended by the [`Sequencer`], and every event they stored — or, for a
//! retried message, the event first stored for it — is published on the event
//! feed. Only once [`process`] returns may the caller move its read position
//! past those commands: a crash before then processes them again, which the
//! dedupe key makes harmless, and readers drop a `seq` they already have.

use crate::command::Command;
use crate::feed::EventFeed;
use crate::model::Event;
use crate::sequencer::Sequencer;
use crate::{ErrorCode, Result};

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Processed {
    /// Events published: new ones, and those first stored for retries.
    pub published: usize,
    /// Commands the rules refused (the sender left the channel since, or
    /// another node's new channel took the name first, say).
    pub refused: usize,
}

/// Appends `commands`, in order, and publishes what they stored.
///
/// Fails — nothing to commit, try the same commands again — when the store or
/// the feed is unavailable, or a whole batch failed (the Sequencer reports
/// that as `unavailable` or `internal`, never `conflict`). A command the rules
/// refuse (`not_found`, `forbidden`, `bad_request`, `conflict`) is dropped
/// with a log line: trying it again would be refused again, and the gateway
/// that sent it has told its caller so already, or does on finding it not
/// stored.
pub async fn process(sequencer: &Sequencer, feed: &dyn EventFeed, commands: Vec<Command>) -> Result<Processed> {
    let mut events: Vec<Event> = Vec::new();
    let mut refused = 0;
    for result in sequencer.submit_all(commands).await {
        match result {
            Ok(appended) => events.extend(appended.events),
            Err(error) if matches!(error.code, ErrorCode::Unavailable | ErrorCode::Internal) => {
                return Err(error);
            }
            Err(error) => {
                refused += 1;
                tracing::info!(code = error.code.as_str(), error = %error, "command refused");
            }
        }
    }
    // Per channel in seq order, each event once: a retry's event may be older
    // than new ones of the same step, or come twice.
    events.sort_by_key(|e| (e.channel_id, e.seq));
    events.dedup_by_key(|e| (e.channel_id, e.seq));
    let published = events.len();
    if published > 0 {
        feed.publish(events.into()).await?;
    }
    Ok(Processed { published, refused })
}
