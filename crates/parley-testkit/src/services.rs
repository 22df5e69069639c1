//! The real PostgreSQL, Redis and Kafka of cluster-mode tests, as started by
//! `scripts/services`. A URL comes from its `PARLEY_TEST_*` variable when set
//! (`./scripts/test` exports them); otherwise the script is run once per test
//! process (it is idempotent and reuses running services), so a plain
//! `cargo test` works too. A missing service is a failure, never a skip.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use sqlx::{Connection, PgConnection};

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

/// A second Kafka of three brokers (replication 3, `min.insync.replicas=2`),
/// in a state directory of its own so that killing one of its brokers
/// disturbs no other test. Started on first use by `scripts/services`.
pub struct ThreeBrokers {
    pub brokers: String,
    dir: String,
}

impl ThreeBrokers {
    pub fn get() -> &'static ThreeBrokers {
        static THREE: OnceLock<ThreeBrokers> = OnceLock::new();
        THREE.get_or_init(|| {
            let dir = std::env::var("PARLEY_TEST_KAFKA3_DIR").unwrap_or_else(|_| "/tmp/parley-services-3".into());
            let output = Command::new(script())
                .args(["--kafka-brokers", "3"])
                .env("PARLEY_SERVICES_DIR", &dir)
                .output()
                .expect("scripts/services runs");
            assert!(
                output.status.success(),
                "scripts/services --kafka-brokers 3 failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let brokers = exports(&output.stdout).remove("PARLEY_TEST_KAFKA").expect("three brokers");
            ThreeBrokers { brokers, dir }
        })
    }

    /// SIGKILLs broker `n` (1–3).
    pub fn kill(&self, n: u32) {
        self.run(&["kill-broker", &n.to_string()]);
    }

    /// Starts broker `n` again and waits until it answers.
    pub fn start(&self, n: u32) {
        self.run(&["start-broker", &n.to_string()]);
    }

    fn run(&self, args: &[&str]) {
        let status = Command::new(script()).args(args).env("PARLEY_SERVICES_DIR", &self.dir).status().expect("runs");
        assert!(status.success(), "scripts/services {args:?} failed");
    }
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
        exports(&output.stdout)
    })
}

/// The `NAME=value` of `export` lines.
fn exports(stdout: &[u8]) -> HashMap<String, String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|line| line.strip_prefix("export ")?.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.trim_matches(['"', '\'']).to_owned()))
        .collect()
}

/// A database of its own on the test server, named `parley_t_<uuid>` so that
/// concurrent test runs never share one. Dropping the guard drops it, even
/// after a failed check; a run that is killed leaves it behind, and the
/// name says what it was.
pub struct ScratchDb {
    admin_url: String,
    name: String,
    pub url: String,
}

impl ScratchDb {
    pub async fn create() -> ScratchDb {
        let admin_url = database_url();
        let name = format!("parley_t_{}", uuid::Uuid::now_v7().simple());
        let mut admin = PgConnection::connect(&admin_url).await.expect("connect to the test server");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create a scratch database");
        admin.close().await.ok();
        let url = with_database(&admin_url, &name);
        ScratchDb { admin_url, name, url }
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, where nothing may block on a
        // future: the DROP runs on a thread of its own with its own runtime.
        // FORCE ends the store's connections that are still open.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await?;
                admin.close().await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop scratch database {}: {e}", self.name),
            Err(_) => eprintln!("could not drop scratch database {}: the thread panicked", self.name),
        }
    }
}

/// `url` with its database (the path) replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    format!("{}/{database}{query}", &base[..authority_end])
}
