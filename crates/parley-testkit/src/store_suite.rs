//! The `Store` conformance suite: what every backend must do, through the ports and the core's `Sequencer` and `Chat`.
//!
//! A backend runs it in one of two ways:
//!
//! ```text
//! // one #[tokio::test] per check, so a failure names its check
//! parley_testkit::store_conformance!(async {
//!     let dir = tempfile::tempdir().unwrap();
//!     let store: Arc<dyn Store> = Arc::new(MyStore::open(dir.path()).await.unwrap());
//!     (store, dir) // the second part lives as long as the check
//! });
//!
//! // or every check in one test, each on a fresh store, failures listed at the end
//! parley_testkit::store_suite::run_all(|| async { make_store().await }).await;
//! ```
//!
//! Each check is also a `pub async fn(Arc<dyn Store>)` that panics on failure.
//! Checks need a multi-threaded Tokio runtime: some hold the Sequencer's writer
//! (as it hands a batch to the log) to make several commands land in one batch.
//! Checks give their users and channels unique names, so they also pass on a
//! store that other checks have already written to.

mod accounts;
mod changes;
mod channels;
mod concurrency;
mod dms;
mod harness;
mod invites;
mod log;
mod lookalikes;
mod mentions;
mod moderation;
mod names;
mod presence;
mod search;
mod server;

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use futures::FutureExt;
use parley_core::ports::Store;

pub use accounts::*;
pub use changes::*;
pub use channels::*;
pub use concurrency::*;
pub use dms::*;
pub use invites::*;
pub use log::*;
pub use lookalikes::*;
pub use mentions::*;
pub use moderation::*;
pub use names::*;
pub use presence::*;
pub use search::*;
pub use server::*;

/// A store under test, and whatever must live exactly as long as it (a
/// temporary directory, a scratch database).
pub struct Fixture {
    store: Arc<dyn Store>,
    _keep: Option<Box<dyn Any + Send>>,
}

impl Fixture {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Fixture { store, _keep: None }
    }

    /// Keeps `guard` alive until the fixture is dropped.
    pub fn keeping(self, guard: impl Any + Send) -> Self {
        Fixture { _keep: Some(Box::new(guard)), ..self }
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }
}

impl From<Arc<dyn Store>> for Fixture {
    fn from(store: Arc<dyn Store>) -> Self {
        Fixture::new(store)
    }
}

impl<G: Any + Send> From<(Arc<dyn Store>, G)> for Fixture {
    fn from((store, guard): (Arc<dyn Store>, G)) -> Self {
        Fixture::new(store).keeping(guard)
    }
}

/// A check in progress: it panics if the store fails it.
pub type CheckFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One named check of the suite.
#[derive(Clone, Copy)]
pub struct Check {
    pub name: &'static str,
    pub run: fn(Arc<dyn Store>) -> CheckFuture,
}

/// The list of checks, for the table and for the test macro alike: `$then`
/// (a macro of this crate) is called with `{ $args }` and every check's name.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_suite_checks {
    ($then:ident { $($args:tt)* }) => {
        $crate::$then! {
            { $($args)* }
            users_create_and_lookup,
            users_duplicate_username_conflicts,
            users_search_by_prefix,
            users_search_username_parts,
            users_search_display_words,
            users_search_order,
            users_set_display_name,
            users_look_alike_names_conflict,
            users_look_alike_names_race,
            sessions_lifecycle,
            sessions_listed_and_ended,
            accounts_admission,
            accounts_roles_and_deactivation,
            password_resets_used_once,
            invites_listed_and_revoked,
            audit_log_pages,
            webhooks_and_bots,
            outgoing_webhooks_leased,
            export_reads_everything,
            channels_create_with_owner,
            channels_member_count_join_leave,
            channels_members_ordered,
            channels_my_channels_unread,
            channels_preferences,
            channels_public_list,
            channels_names_unique,
            channels_names_unique_within_one_batch,
            dms_same_people_same_channel,
            dms_refused,
            presence_dm_shown,
            presence_peers_follow_the_rule,
            invites_lifecycle,
            invites_used_up_and_expired,
            log_seq_and_paging,
            log_channels_kept_apart,
            dedupe_retry_returns_first,
            dedupe_key_is_channel_sender_and_id,
            dedupe_within_one_batch,
            membership_rechecked_at_append,
            membership_within_one_batch,
            reply_to_out_of_range,
            concurrent_writers_one_channel,
            on_stored_sees_every_event_once,
            processor_stores_and_publishes,
            processor_refuses_a_taken_name_for_good,
            changes_edit_then_delete,
            changes_reactions,
            changes_pins_and_roles,
            changes_threads,
            moderation_rename_topic_archive,
            moderation_remove_and_ban,
            moderation_server_admin_and_delete,
            blocks_refuse_dm_messages,
            mentions_named_members_told,
            mentions_follow_edits_and_deletes,
            mentions_dms_and_large_channels,
            search_words_phrases_and_operators,
            search_follows_edits_deletes_and_membership,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __store_suite_table {
    ({} $($check:ident),* $(,)?) => {
        /// Every check of the suite, in a stable order.
        pub fn checks() -> Vec<Check> {
            vec![$(Check { name: stringify!($check), run: |store| Box::pin($check(store)) }),*]
        }
    };
}

__store_suite_checks!(__store_suite_table {});

/// Runs every check, each on a fresh store from `new_store`, and panics at the
/// end naming every check that failed. Needs a multi-threaded runtime.
pub async fn run_all<F, Fut, X>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = X>,
    X: Into<Fixture>,
{
    let mut failed = Vec::new();
    for check in checks() {
        let fixture: Fixture = new_store().await.into();
        let outcome = AssertUnwindSafe((check.run)(fixture.store())).catch_unwind().await;
        match outcome {
            Ok(()) => eprintln!("store conformance: {} ... ok", check.name),
            Err(_) => {
                eprintln!("store conformance: {} ... FAILED", check.name);
                failed.push(check.name);
            }
        }
    }
    assert!(failed.is_empty(), "store conformance checks failed: {}", failed.join(", "));
}

/// Expands to one `#[tokio::test]` per check of the suite, each on the store
/// the given expression makes. The expression is awaited, and may give an
/// `Arc<dyn Store>` or `(Arc<dyn Store>, guard)` (anything `Into<Fixture>`).
/// The calling crate needs `tokio` (with `macros` and `rt-multi-thread`).
#[macro_export]
macro_rules! store_conformance {
    ($make:expr) => {
        $crate::__store_suite_checks!(__store_conformance_tests { $make });
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_tests {
    ({ $make:expr } $($check:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                let fixture: $crate::store_suite::Fixture = ::std::convert::Into::into($make.await);
                $crate::store_suite::$check(fixture.store()).await;
            }
        )*
    };
}
