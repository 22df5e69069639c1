//! `parley admin`: what the machine's owner does to the store directly, with
//! no server running or signed in: make the first admin, let someone locked
//! out back in. Each action is written to the audit log as done by the
//! account it changed.

use anyhow::Context;
use parley_core::model::{ServerRole, User};
use parley_core::parse::{Password, Username};
use parley_core::ports::Store;
use rand::Rng;

use crate::auth::Auth;
use crate::backends::open_store;
use crate::config::{AdminAction, Config};

pub async fn run(config: &Config, action: AdminAction) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let auth = Auth::new(store.clone()).await?;
    let result = act(store.as_ref(), &auth, action).await;
    store.close().await;
    result
}

async fn act(store: &dyn Store, auth: &Auth, action: AdminAction) -> anyhow::Result<()> {
    match action {
        AdminAction::CreateUser { username, admin, password } => {
            let username = Username::parse_new(&username).map_err(|e| anyhow::anyhow!("{}", e.message))?;
            let (password, made_up) = password_or_new(password)?;
            let user = auth.create_user(username, password, admin).await?;
            record(store, &user, "user.create", format!(r#"{{"role":"{}","by":"parley admin"}}"#, user.role.as_str()))
                .await?;
            println!("created {} ({}, {})", user.username, user.role.as_str(), user.id);
            print_made_up(made_up.as_deref());
        }
        AdminAction::Promote { username } => {
            let user = find(store, &username).await?;
            store.set_server_role(user.id, ServerRole::Admin).await?;
            store.set_deactivated(user.id, None).await?;
            record(store, &user, "user.role", r#"{"role":"admin","by":"parley admin"}"#.to_owned()).await?;
            println!("{} is now an admin of the server", user.username);
        }
        AdminAction::ResetPassword { username, password } => {
            let user = find(store, &username).await?;
            let (password, made_up) = password_or_new(password)?;
            auth.set_password(user.id, password).await?;
            record(store, &user, "user.password_reset", r#"{"by":"parley admin"}"#.to_owned()).await?;
            println!("password of {} set; every session of theirs has ended", user.username);
            print_made_up(made_up.as_deref());
        }
    }
    Ok(())
}

async fn find(store: &dyn Store, username: &str) -> anyhow::Result<User> {
    let name = Username::parse(username).map_err(|_| anyhow::anyhow!("no user named {username:?}"))?;
    let (user, _) = store.credentials(&name).await?.with_context(|| format!("no user named {username:?}"))?;
    Ok(user)
}

async fn record(store: &dyn Store, user: &User, action: &str, detail: String) -> anyhow::Result<()> {
    let entry = parley_core::model::AuditEntry {
        id: 0,
        at: parley_core::time::Timestamp::now(),
        actor_id: user.id,
        action: action.to_owned(),
        user_id: Some(user.id),
        channel_id: None,
        detail,
    };
    Ok(store.record(&entry).await?)
}

/// The password given, or a new one of 20 letters and digits (~119 bits),
/// also returned to be printed.
fn password_or_new(given: Option<String>) -> anyhow::Result<(Password, Option<String>)> {
    let (text, made_up) = match given {
        Some(text) => (text, false),
        None => {
            const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
            let mut rng = rand::thread_rng();
            ((0..20).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect(), true)
        }
    };
    let password = Password::parse(&text).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    Ok((password, made_up.then_some(text)))
}

fn print_made_up(password: Option<&str>) {
    if let Some(password) = password {
        println!("password: {password}");
    }
}
