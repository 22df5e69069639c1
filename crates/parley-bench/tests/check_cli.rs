//! `parley-bench check` on history files: exit 0 when clean, 1 with the breach named.

use std::process::Command;

fn run(history: &str, json: bool) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    std::fs::write(&path, history).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_parley-bench"));
    command.arg("check").arg(&path);
    if json {
        command.arg("--json");
    }
    let output = command.output().unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned())
}

const SENT: &str = r#"{"kind":"send","client":"a","user":"u","channel":"c","client_msg_id":"m1","outcome":"ok"}
{"kind":"send","client":"a","user":"u","channel":"c","client_msg_id":"m2","outcome":"ok"}
{"kind":"log","channel":"c","seq":1,"id":"e1","sender":"u","client_msg_id":"m1"}
"#;

#[test]
fn a_lost_message_fails_the_check() {
    let (ok, text) = run(SENT, false);
    assert!(!ok);
    assert!(text.contains("lost acknowledged: 1"), "{text}");
    let (_, json) = run(SENT, true);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["lost"][0]["client_msg_id"], "m2");
}

#[test]
fn a_clean_history_passes() {
    let clean = SENT.replace("\"m2\",\"outcome\":\"ok\"", "\"m2\",\"outcome\":\"unknown\"");
    let (ok, text) = run(&clean, false);
    assert!(ok, "{text}");
    assert!(text.ends_with("clean\n"));
}
