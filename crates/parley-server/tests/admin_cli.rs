//! `parley admin`, run as the machine's owner runs it: on the store, with no
//! server up, then seen through a server started over the same store.

use std::path::Path;
use std::process::Command;

use parley_testkit::process::ParleyProcess;
use serde_json::{json, Value};

fn admin(data_dir: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_parley"))
        .arg("admin")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("PARLEY_NEW_PASSWORD")
        .output()
        .expect("parley admin runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

async fn login(server: &ParleyProcess, username: &str, password: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .expect("login sent");
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_owner_makes_an_admin_and_lets_a_locked_out_user_back_in() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = admin(dir.path(), &["create-user", "boss", "--password", "boss password"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("created boss (admin"), "the first account is the admin: {out}");
    let (ok, out, err) = admin(dir.path(), &["create-user", "ann"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("created ann (member"), "{out}");
    let made_up = out.lines().find_map(|l| l.strip_prefix("password: ")).expect("a made-up password").to_owned();
    assert!(made_up.len() >= 16, "{made_up}");
    let (ok, _, err) = admin(dir.path(), &["create-user", "ANN"]);
    assert!(!ok && err.contains("taken"), "a taken name: {err}");
    let (ok, _, err) = admin(dir.path(), &["promote", "nobody"]);
    assert!(!ok && err.contains("no user named"), "{err}");
    let (ok, out, err) = admin(dir.path(), &["promote", "ann"]);
    assert!(ok && out.contains("ann is now an admin"), "{out}{err}");
    let (ok, out, err) = admin(dir.path(), &["reset-password", "boss"]);
    assert!(ok, "{out}{err}");
    let boss_password = out.lines().find_map(|l| l.strip_prefix("password: ")).expect("a new password").to_owned();

    let server = ParleyProcess::start(Path::new(env!("CARGO_BIN_EXE_parley")), dir.path(), &[]);
    let (status, ann) = login(&server, "ann", &made_up).await;
    assert_eq!((status, &ann["user"]["role"]), (200, &json!("admin")), "{ann}");
    assert_eq!(login(&server, "boss", "boss password").await.0, 401, "the old password is gone");
    let (status, boss) = login(&server, "boss", &boss_password).await;
    assert_eq!(status, 200, "{boss}");
    let audit: Value = reqwest::Client::new()
        .get(server.url("/api/v1/admin/audit"))
        .bearer_auth(boss["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = audit["entries"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions, ["user.password_reset", "user.role", "user.create", "user.create"]);
}
