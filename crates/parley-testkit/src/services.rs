//! The real PostgreSQL, Redis and Kafka of cluster-mode tests, as started by
//! `scripts/services`. A URL comes from its `PARLEY_TEST_*` variable when set
//! (`./scripts/test` exports them); otherwise the script is run once per test
//! process (it is idempotent and reuses running services), so a plain
//! `cargo test` works too. A missing service is a failure, never a skip.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// `postgres://…` of a server with a `parley` database.
pub fn database_url() -> String {
    url("PARLEY_TEST_DATABASE")
}

/// `redis://…`
pub fn redis_url() -> String {
    url("PARLEY_TEST_REDIS")
}

/// Kafka bootstrap servers, `host:port[,…]`.
pub fn kafka_brokers() -> String {
    url("PARLEY_TEST_KAFKA")
}

/// The state directory of the running services, for `scripts/services kill-broker` and the like.
pub fn services_dir() -> String {
    url("PARLEY_SERVICES_DIR")
}

/// Runs `scripts/services <args>` against the same state directory (kill a broker, restart PostgreSQL).
pub fn control(args: &[&str]) {
    let status = Command::new(script())
        .args(args)
        .env("PARLEY_SERVICES_DIR", services_dir())
        .status()
        .expect("scripts/services runs");
    assert!(status.success(), "scripts/services {args:?} failed");
}

fn url(name: &str) -> String {
    if let Ok(value) = std::env::var(name) {
        return value;
    }
    started().get(name).cloned().unwrap_or_else(|| panic!("scripts/services printed no {name}"))
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/services")
}

/// The `export NAME=value` lines of one run of `scripts/services`.
fn started() -> &'static HashMap<String, String> {
    static STARTED: OnceLock<HashMap<String, String>> = OnceLock::new();
    STARTED.get_or_init(|| {
        // One broker: the three-broker tests start their own cluster in a state directory of their own.
        let output = Command::new(script()).args(["--kafka-brokers", "1"]).output().expect("scripts/services runs");
        assert!(output.status.success(), "scripts/services failed:\n{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.strip_prefix("export ")?.split_once('='))
            .map(|(name, value)| (name.to_owned(), value.trim_matches(['"', '\'']).to_owned()))
            .collect()
    })
}
