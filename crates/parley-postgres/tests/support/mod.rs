//! Scratch databases on the real PostgreSQL of `scripts/services`: one per check, dropped with its guard.

use sqlx::{Connection, PgConnection};

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
        let admin_url = parley_testkit::services::database_url();
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
