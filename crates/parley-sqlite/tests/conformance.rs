//! The `Store` conformance suite run against `SqliteStore` on a real file in a temporary directory, a test per check.

use std::sync::Arc;

use parley_core::ports::Store;
use parley_sqlite::SqliteStore;
use tempfile::TempDir;

/// A fresh store; the directory lives as long as the check that uses it.
async fn sqlite_store() -> (Arc<dyn Store>, TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path()).await.expect("open the sqlite store");
    (Arc::new(store), dir)
}

parley_testkit::store_conformance!(sqlite_store());
