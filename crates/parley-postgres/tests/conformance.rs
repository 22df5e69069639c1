//! The `Store` conformance suite run against `PostgresStore` on the real
//! PostgreSQL of `scripts/services`, a test per check, each on a scratch
//! database of its own.

use std::sync::Arc;

use parley_core::ports::Store;
use parley_postgres::PostgresStore;
use parley_testkit::services::ScratchDb;

/// A fresh store on a fresh scratch database; the guard drops the database.
async fn postgres_store() -> (Arc<dyn Store>, ScratchDb) {
    let db = ScratchDb::create().await;
    let store = PostgresStore::connect(&db.url).await.expect("connect the postgres store");
    (Arc::new(store), db)
}

parley_testkit::store_conformance!(postgres_store());
