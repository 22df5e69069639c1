//! `parley admin`, run as the machine's owner runs it: on the store, with no
//! server up, then seen through a server started over the same store.

use std::path::Path;
use std::process::Command;

use parley_testkit::process::ParleyProcess;
use parley_testkit::services::ScratchDb;
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
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// A new account's id and token.
async fn register(server: &ParleyProcess, name: &str) -> (String, String) {
    let body = json!({"username": name, "password": "correct horse battery"});
    let response = reqwest::Client::new().post(server.url("/api/v1/auth/register")).json(&body).send().await.unwrap();
    let body: Value = response.json().await.unwrap();
    (body["user"]["id"].as_str().unwrap().to_owned(), body["token"].as_str().unwrap().to_owned())
}

fn lines(dir: &Path, name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join(name)).expect(name);
    text.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect()
}

#[tokio::test]
async fn export_writes_every_user_channel_membership_and_event_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let server = ParleyProcess::start(Path::new(env!("CARGO_BIN_EXE_parley")), dir.path(), &[]);
    let register = |name: &'static str| register(&server, name);
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

/// Runs `parley <args>`: whether it succeeded, and what it printed.
fn parley(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_parley")).args(args).output().expect("parley runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// Two exports hold the same, line by line.
fn same_export(first: &Path, second: &Path) {
    let (before, after) = (export_files(first), export_files(second));
    assert_eq!(before.iter().map(|f| &f.0).collect::<Vec<_>>(), after.iter().map(|f| &f.0).collect::<Vec<_>>());
    for ((name, was), (_, now)) in before.iter().zip(&after) {
        for (n, (was, now)) in was.lines().zip(now.lines()).enumerate() {
            assert_eq!(was, now, "{name} line {}", n + 1);
        }
        assert_eq!(was.lines().count(), now.lines().count(), "{name}");
    }
}

/// Every file of an export but the manifest's time of writing.
fn export_files(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let mut text = std::fs::read_to_string(&path).unwrap();
            if name == "manifest.json" {
                let mut manifest: Value = serde_json::from_str(&text).unwrap();
                manifest["exported_at"] = Value::Null;
                text = manifest.to_string();
            }
            (name, text)
        })
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn an_export_imported_into_an_empty_store_exports_the_same_log_event_by_event() {
    use reqwest::Method;
    let dir = tempfile::tempdir().unwrap();
    let server = ParleyProcess::start(Path::new(env!("CARGO_BIN_EXE_parley")), dir.path(), &[]);
    let register = |name: &'static str| register(&server, name);
    let (alice, a) = register("alice").await;
    let (bob, b) = register("bob").await;
    let (carol, c) = register("carol").await;
    let (dave, d) = register("dave").await;
    let s = &server;
    let new_channel = |token: String, name: &'static str, kind: &'static str| async move {
        let body = json!({"name": name, "kind": kind, "topic": "first topic"});
        call(s, &token, Method::POST, "/api/v1/channels", body).await["channel"]["id"].as_str().unwrap().to_owned()
    };
    let general = new_channel(a.clone(), "general", "public").await;
    let ch = |rest: &str| format!("/api/v1/channels/{general}{rest}");
    for token in [&b, &c, &d] {
        call(s, token, Method::POST, &ch("/join"), json!({})).await;
    }
    let post = |token: String, body: String, id: String, reply: Option<i64>| {
        let path = ch("/messages");
        async move {
            let mut request = json!({"body": body, "client_msg_id": id});
            if let Some(seq) = reply {
                request["reply_to_seq"] = json!(seq);
            }
            call(s, &token, Method::POST, &path, request).await["event"]["seq"].as_i64().unwrap()
        }
    };
    let hello = post(a.clone(), "hello @bob and **everyone**".into(), "m1".into(), None).await;
    let plan = post(b.clone(), "the plan".into(), "m2".into(), None).await;
    let reply = post(c.clone(), "a reply in the thread".into(), "m3".into(), Some(plan)).await;
    post(d.clone(), "@channel lunch?".into(), "m4".into(), Some(reply)).await;
    let gone = post(c.clone(), "I will be deleted".into(), "m5".into(), None).await;
    let edited = post(b.clone(), "first text".into(), "m6".into(), None).await;
    for (n, body) in ["second text, @carol", "third text"].iter().enumerate() {
        let request = json!({"body": body, "client_msg_id": format!("e{n}")});
        call(s, &b, Method::PATCH, &ch(&format!("/messages/{edited}")), request).await;
    }
    let request = json!({"body": "edited before its delete", "client_msg_id": "e9"});
    call(s, &c, Method::PATCH, &ch(&format!("/messages/{gone}")), request).await;
    call(s, &a, Method::DELETE, &ch(&format!("/messages/{gone}?client_msg_id=x1")), json!({})).await;
    for (token, emoji, id) in [(&a, "👍", "r1"), (&b, "👍", "r2"), (&c, ":tada:", "r3"), (&d, "👍", "r4")] {
        let path = ch(&format!("/messages/{plan}/reactions/{}?client_msg_id={id}", urlencode(emoji)));
        call(s, token, Method::PUT, &path, json!({})).await;
    }
    let path = ch(&format!("/messages/{plan}/reactions/{}?client_msg_id=r5", urlencode("👍")));
    call(s, &b, Method::DELETE, &path, json!({})).await;
    call(s, &c, Method::PUT, &ch(&format!("/pins/{plan}?client_msg_id=p1")), json!({})).await;
    call(s, &c, Method::PUT, &ch(&format!("/pins/{hello}?client_msg_id=p2")), json!({})).await;
    call(s, &a, Method::DELETE, &ch(&format!("/pins/{hello}?client_msg_id=p3")), json!({})).await;
    let role = json!({"role": "admin", "client_msg_id": "o1"});
    call(s, &a, Method::PUT, &ch(&format!("/members/{bob}")), role).await;
    // Renamed twice, the name it gave up taken by another channel.
    call(s, &a, Method::PATCH, &ch(""), json!({"client_msg_id": "n1", "name": "lobby"})).await;
    let newer = new_channel(c.clone(), "general", "private").await;
    call(s, &b, Method::PATCH, &ch(""), json!({"client_msg_id": "n2", "name": "hall"})).await;
    call(s, &b, Method::PATCH, &ch(""), json!({"client_msg_id": "n4", "topic": ""})).await;
    call(s, &b, Method::PATCH, &ch(""), json!({"client_msg_id": "n3", "topic": "the last topic"})).await;
    call(s, &a, Method::DELETE, &ch(&format!("/members/{dave}?client_msg_id=k1")), json!({})).await;
    call(s, &a, Method::PUT, &ch(&format!("/bans/{dave}?client_msg_id=k2")), json!({})).await;
    call(s, &a, Method::DELETE, &ch(&format!("/bans/{dave}?client_msg_id=k3")), json!({})).await;
    call(s, &c, Method::POST, &ch("/leave"), json!({})).await;
    call(s, &b, Method::POST, &ch("/read"), json!({"seq": reply})).await;
    call(s, &b, Method::PUT, &ch("/preferences"), json!({"notify": "all", "muted": true})).await;
    let path = format!("/api/v1/channels/{newer}/messages");
    call(s, &c, Method::POST, &path, json!({"body": "in the new general", "client_msg_id": "g1"})).await;
    let path = format!("/api/v1/channels/{newer}");
    call(s, &c, Method::PATCH, &path, json!({"client_msg_id": "g2", "archived": true})).await;
    let dm = call(s, &a, Method::POST, "/api/v1/dms", json!({"user_ids": [carol, bob]})).await["channel"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/channels/{dm}/messages");
    call(s, &b, Method::POST, &path, json!({"body": "psst @alice", "client_msg_id": "d1"})).await;
    call(s, &a, Method::PATCH, &format!("/api/v1/admin/users/{dave}"), json!({"deactivated": true})).await;
    let mentions_before = call(s, &b, Method::GET, "/api/v1/mentions", json!({})).await;
    let search_before = call(s, &b, Method::GET, "/api/v1/search?q=text", json!({})).await;
    server.kill();

    let data = dir.path().to_str().unwrap().to_owned();
    let first = dir.path().join("first");
    let (ok, out) = parley(&["export", "--data-dir", &data, "--out", first.to_str().unwrap(), "--with-credentials"]);
    assert!(ok, "{out}");
    let copy = tempfile::tempdir().unwrap();
    let copy_data = copy.path().to_str().unwrap().to_owned();
    let (ok, out) = parley(&["import", "--data-dir", &copy_data, first.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("imported 4 users, 3 channels"), "{out}");
    let second = dir.path().join("second");
    let (ok, out) =
        parley(&["export", "--data-dir", &copy_data, "--out", second.to_str().unwrap(), "--with-credentials"]);
    assert!(ok, "{out}");
    same_export(&first, &second);
    // And into PostgreSQL, the cluster's store.
    let db = ScratchDb::create().await;
    let (ok, out) = parley(&["import", "--database", &db.url, first.to_str().unwrap()]);
    assert!(ok, "{out}");
    let third = dir.path().join("third");
    let (ok, out) = parley(&["export", "--database", &db.url, "--out", third.to_str().unwrap(), "--with-credentials"]);
    assert!(ok, "{out}");
    same_export(&first, &third);
    let events = lines(&second, "events.jsonl");
    assert!(events.len() > 30, "{}", events.len());

    let (ok, out) = parley(&["import", "--data-dir", &copy_data, first.to_str().unwrap()]);
    assert!(!ok && out.contains("not empty"), "a second import into the same store is refused: {out}");

    // What the store derives from the log, served again.
    let server = ParleyProcess::start(Path::new(env!("CARGO_BIN_EXE_parley")), copy.path(), &[]);
    let (status, bob_again) = login(&server, "bob", "correct horse battery").await;
    assert_eq!(status, 200, "passwords came with --with-credentials: {bob_again}");
    let b = bob_again["token"].as_str().unwrap();
    let s = &server;
    assert_eq!(call(s, b, Method::GET, "/api/v1/mentions", json!({})).await, mentions_before);
    assert_eq!(call(s, b, Method::GET, "/api/v1/search?q=text", json!({})).await, search_before);
    let (status, _) = login(&server, "dave", "correct horse battery").await;
    assert_eq!(status, 403, "still deactivated");
    let _ = (alice, c, d);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b':' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// A Slack workspace export as Slack documents it: users.json,
/// channels.json, and a folder per public channel of one file per day.
fn slack_export(path: &Path) {
    use std::io::Write;
    let long = format!("{}\n{}", "a".repeat(3000), "b".repeat(3000));
    let files = [
        (
            "users.json",
            json!([
                {"id": "U1", "name": "ann.lee", "real_name": "Ann Lee", "profile": {"display_name": "Ann"}},
                {"id": "U2", "name": "bo", "profile": {"real_name": "Bo"}},
                {"id": "U3", "name": "gone.person", "deleted": true, "profile": {}},
            ]),
        ),
        (
            "channels.json",
            json!([
                {"id": "C1", "name": "general", "created": 1_500_000_000, "creator": "U1",
                 "members": ["U1", "U2"], "topic": {"value": "All hands", "creator": "U1", "last_set": 0}},
                {"id": "C2", "name": "old-stuff", "created": 1_500_000_000, "creator": "U2",
                 "members": ["U2"], "is_archived": true},
            ]),
        ),
        (
            "general/2017-07-14.json",
            json!([
                {"type": "message", "user": "U2", "text": "a question", "ts": "1500000200.000200",
                 "thread_ts": "1500000200.000200", "reply_count": 2},
                {"type": "message", "user": "U1", "text": "hello <@U2> &amp; <https://example.com|welcome>",
                 "ts": "1500000100.000100",
                 "reactions": [{"name": "+1", "users": ["U2", "U1"], "count": 2},
                               {"name": "thumbsup::skin-tone-2", "users": ["U3"], "count": 1},
                               {"name": "our-party-parrot", "users": ["U2"], "count": 1}]},
                {"type": "message", "subtype": "channel_join", "user": "U3", "text": "<@U3> has joined",
                 "ts": "1500000150.000000"},
                {"type": "message", "user": "U1", "text": "an answer", "ts": "1500000300.000300",
                 "thread_ts": "1500000200.000200", "parent_user_id": "U2"},
                {"type": "message", "user": "U9", "text": "from nobody we know", "ts": "1500000400.000000"},
            ]),
        ),
        (
            "general/2017-07-15.json",
            json!([
                {"type": "message", "user": "U3", "text": "another answer", "ts": "1500090000.000001",
                 "thread_ts": "1500000200.000200"},
                {"type": "message", "user": "U2", "text": long, "ts": "1500090100.000000"},
                {"type": "message", "subtype": "file_share", "user": "U1", "text": "the plan",
                 "ts": "1500090200.000000",
                 "files": [{"name": "plan.pdf", "title": "Plan", "url_private": "https://files.example/plan.pdf"}]},
            ]),
        ),
        ("old-stuff/2017-07-14.json", json!([{"type": "message", "user": "U2", "text": "old", "ts": "1500000500.0"}])),
        // What an export holds when its owner asked for private channels and DMs too.
        (
            "groups.json",
            json!([{"id": "G1", "name": "secret-plans", "created": 1_500_000_000, "creator": "U1",
                    "members": ["U1", "U2"]}]),
        ),
        (
            "secret-plans/2017-07-14.json",
            json!([{"type": "message", "user": "U2", "text": "psst, private", "ts": "1500000600.000000"}]),
        ),
        ("dms.json", json!([{"id": "D1", "created": 1_500_000_000, "members": ["U1", "U2"]}])),
        (
            "D1/2017-07-14.json",
            json!([{"type": "message", "user": "U1", "text": "hi bo", "ts": "1500000700.000000"},
                   {"type": "message", "user": "U3", "text": "not one of this DM", "ts": "1500000701.000000"}]),
        ),
        (
            "mpims.json",
            json!([{"id": "G2", "name": "mpdm-ann.lee--bo--gone.person-1", "created": 1_500_000_000,
                    "creator": "U1", "members": ["U1", "U2", "U3"]}]),
        ),
        (
            "mpdm-ann.lee--bo--gone.person-1/2017-07-14.json",
            json!([{"type": "message", "user": "U3", "text": "hello, all three", "ts": "1500000800.000000"}]),
        ),
    ];
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, value) in files {
        zip.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(serde_json::to_string_pretty(&value).unwrap().as_bytes()).unwrap();
    }
    zip.finish().unwrap();
}

#[tokio::test]
async fn a_slack_export_is_added_in_order_with_threads_and_reactions_and_a_second_run_adds_nothing() {
    use reqwest::Method;
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("slack.zip");
    slack_export(&zip);
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let (ok, out, err) = admin(Path::new(data), &["create-user", "boss", "--password", "boss password"]);
    assert!(ok, "{out}{err}");
    let (ok, out) = parley(&["import", "--data-dir", data, "--slack", zip.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(
        out.contains("added 3 users, 5 channels, 10 messages, 3 reactions")
            && out.contains("left out: 3 messages, 1 reactions"),
        "{out}"
    );
    let (ok, again) = parley(&["import", "--data-dir", data, "--slack", zip.to_str().unwrap()]);
    assert!(ok, "{again}");
    assert!(again.contains("added 0 users, 0 channels, 0 messages, 0 reactions"), "nothing twice: {again}");

    let server = ParleyProcess::start(Path::new(env!("CARGO_BIN_EXE_parley")), Path::new(data), &[]);
    let (status, boss) = login(&server, "boss", "boss password").await;
    assert_eq!(status, 200, "{boss}");
    let token = boss["token"].as_str().unwrap();
    let s = &server;
    let public = call(s, token, Method::GET, "/api/v1/channels/public", json!({})).await;
    let general = public["channels"].as_array().unwrap().iter().find(|c| c["name"] == "general").expect("#general");
    assert_eq!(general["topic"], "All hands");
    let id = general["id"].as_str().unwrap();
    call(s, token, Method::POST, &format!("/api/v1/channels/{id}/join"), json!({})).await;
    let page = call(s, token, Method::GET, &format!("/api/v1/channels/{id}/events?limit=100"), json!({})).await;
    let events = page["events"].as_array().unwrap();
    let messages: Vec<&Value> = events.iter().filter(|e| e["type"] == "message").collect();
    let bodies: Vec<&str> = messages.iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(
        bodies[..4],
        ["hello @slack-u2 & [welcome](https://example.com)", "a question", "an answer", "another answer"],
        "in the order of their times, each person by their username"
    );
    assert_eq!((bodies[4].len(), bodies[5].len()), (3000, 3000), "a long message in two parts, nothing lost");
    assert_eq!(bodies[6], "the plan\n📎 [Plan](https://files.example/plan.pdf)");
    assert_eq!(messages[0]["created_at"], "2017-07-14T02:41:40.000Z", "Slack's time kept");
    let root = messages[1];
    assert_eq!((root["reply_count"].as_i64(), messages[2]["reply_to_seq"] == root["seq"]), (Some(2), true));
    let reactions = &messages[0]["reactions"];
    assert_eq!((reactions[0]["emoji"].as_str(), reactions[0]["count"].as_i64()), (Some("👍"), Some(3)), "{reactions}");
    let users = call(s, token, Method::GET, "/api/v1/users?q=ann", json!({})).await;
    assert_eq!(users["users"][0]["display_name"], "Ann", "{users}");
    assert_eq!(login(&server, "ann.lee", "any password at all").await.0, 401, "no password until a reset link");
    server.kill();

    // Ann's private channel and DMs came too.
    let (ok, out, err) = admin(Path::new(data), &["reset-password", "ann.lee", "--password", "ann's password"]);
    assert!(ok, "{out}{err}");
    let server = ParleyProcess::start(Path::new(env!("CARGO_BIN_EXE_parley")), Path::new(data), &[]);
    let (_, ann) = login(&server, "ann.lee", "ann's password").await;
    let token = ann["token"].as_str().unwrap();
    let mine = call(&server, token, Method::GET, "/api/v1/channels", json!({})).await;
    let unread: Vec<&Value> = mine["channels"].as_array().unwrap().iter().map(|c| &c["unread_count"]).collect();
    assert!(unread.iter().all(|n| **n == json!(0)), "history comes read: {unread:?}");
    let mut kinds: Vec<(String, i64)> = mine["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                format!("{} {}", c["kind"].as_str().unwrap(), c["name"].as_str().unwrap()),
                c["member_count"].as_i64().unwrap(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("direct ".into(), 2),
            ("direct ".into(), 3),
            ("private secret-plans".into(), 2),
            ("public general".into(), 4)
        ],
        "{mine}"
    );
    for channel in mine["channels"].as_array().unwrap().iter().filter(|c| c["kind"] == "direct") {
        let path = format!("/api/v1/channels/{}/events", channel["id"].as_str().unwrap());
        let events = call(&server, token, Method::GET, &path, json!({})).await;
        let bodies: Vec<&str> =
            events["events"].as_array().unwrap().iter().filter_map(|e| e["body"].as_str()).collect();
        let expected: &[&str] = if channel["member_count"] == 2 { &["hi bo"] } else { &["hello, all three"] };
        assert_eq!(bodies, expected, "only its people's words");
    }
}
