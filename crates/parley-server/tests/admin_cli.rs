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

async fn call(server: &ParleyProcess, token: &str, method: reqwest::Method, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .request(method, server.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response.json().await.unwrap_or(Value::Null)
}

fn lines(dir: &Path, name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join(name)).expect(name);
    text.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect()
}

#[tokio::test]
async fn export_writes_every_user_channel_membership_and_event_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let server = ParleyProcess::start(Path::new(env!("CARGO_BIN_EXE_parley")), dir.path(), &[]);
    let register = |name: &'static str| {
        let server = &server;
        async move {
            let body = json!({"username": name, "password": "correct horse battery"});
            let response =
                reqwest::Client::new().post(server.url("/api/v1/auth/register")).json(&body).send().await.unwrap();
            let body: Value = response.json().await.unwrap();
            (body["user"]["id"].as_str().unwrap().to_owned(), body["token"].as_str().unwrap().to_owned())
        }
    };
    let ((alice, a), (bob, b)) = (register("alice").await, register("bob").await);
    let general =
        call(&server, &a, reqwest::Method::POST, "/api/v1/channels", json!({"name": "general", "kind": "public"}))
            .await["channel"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
    call(&server, &b, reqwest::Method::POST, &format!("/api/v1/channels/{general}/join"), json!({})).await;
    for n in 0..3 {
        let body = json!({"body": format!("hello {n}"), "client_msg_id": format!("m{n}")});
        call(&server, &a, reqwest::Method::POST, &format!("/api/v1/channels/{general}/messages"), body).await;
    }
    let edit = json!({"body": "hello, edited", "client_msg_id": "e1"});
    call(&server, &a, reqwest::Method::PATCH, &format!("/api/v1/channels/{general}/messages/3"), edit).await;
    let dm = call(&server, &a, reqwest::Method::POST, "/api/v1/dms", json!({"user_ids": [bob]})).await["channel"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({"body": "psst", "client_msg_id": "d1"});
    call(&server, &b, reqwest::Method::POST, &format!("/api/v1/channels/{dm}/messages"), body).await;
    server.kill();

    let out = dir.path().join("export");
    let data = dir.path().to_str().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_parley")).arg("export").args(["--data-dir", data]).args(args).output().unwrap()
    };
    let done = run(&["--out", out.to_str().unwrap()]);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let manifest: Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let events = lines(&out, "events.jsonl");
    assert_eq!(
        (&manifest["users"], &manifest["channels"], &manifest["members"], &manifest["events"]),
        (&json!(2), &json!(2), &json!(4), &json!(events.len()))
    );
    let users = lines(&out, "users.jsonl");
    assert!(users.iter().all(|u| u.get("password_hash").is_none()), "no hashes without --with-credentials");
    assert!(users.iter().any(|u| u["id"] == alice.as_str() && u["role"] == "admin"));
    let channels = lines(&out, "channels.jsonl");
    let kinds: Vec<&str> = channels.iter().filter_map(|c| c["kind"].as_str()).collect();
    assert!(kinds.contains(&"public") && kinds.contains(&"direct"), "{kinds:?}");
    assert!(channels.iter().all(|c| c["created_by"].is_string()));
    for channel in &channels {
        let id = channel["id"].as_str().unwrap();
        let seqs: Vec<i64> =
            events.iter().filter(|e| e["channel_id"] == id).map(|e| e["seq"].as_i64().unwrap()).collect();
        assert_eq!(
            seqs,
            (1..=channel["last_seq"].as_i64().unwrap()).collect::<Vec<_>>(),
            "{id}: its whole log, in order"
        );
    }
    let edited = events.iter().find(|e| e["channel_id"] == general.as_str() && e["seq"] == 3).unwrap();
    assert_eq!(
        (&edited["body"], edited["edited_at"].is_string()),
        (&json!("hello, edited"), true),
        "a message's state"
    );
    let members = lines(&out, "members.jsonl");
    assert!(members.iter().all(|m| m["last_read_seq"].is_i64() && m["role"].is_string()));

    let refused = run(&["--out", out.to_str().unwrap()]);
    assert!(!refused.status.success(), "a directory not empty is refused");
    let with = dir.path().join("with");
    assert!(run(&["--out", with.to_str().unwrap(), "--with-credentials"]).status.success());
    let users = lines(&with, "users.jsonl");
    assert!(users.iter().all(|u| u["password_hash"].as_str().is_some_and(|h| h.starts_with("$argon2id$"))));
}
