//! The in-process feed passes the EventFeed conformance suite.

use std::sync::Arc;

use parley_core::feed::{EventFeed, LocalFeed};

#[tokio::test]
async fn local_feed_conforms() {
    parley_testkit::feed_suite::run_all(|| async { Arc::new(LocalFeed::default()) as Arc<dyn EventFeed> }).await;
}
