//! A few seconds of each load scenario against the real `parley` binary: the
//! tool runs, and every acked message reaches every member exactly once.
//! Speed is never asserted here (docs/benchmarks.md holds the figures).
//!
//! The server binary is found next to this test's profile directory
//! (`target/<profile>/parley`), or at `$PARLEY_BIN`; build it first with
//! `cargo build -p parley-server` (`./scripts/test` builds the workspace).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn parley_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("PARLEY_BIN") {
        return PathBuf::from(path);
    }
    // target/<profile>/deps/smoke-… → target/<profile>/parley
    let exe = std::env::current_exe().expect("the test's path");
    let profile = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
    let binary = profile.join(format!("parley{}", std::env::consts::EXE_SUFFIX));
    assert!(binary.exists(), "{} is missing: run `cargo build -p parley-server` first", binary.display());
    binary
}

/// Runs `parley-bench <args> --json <file>`; returns the exit status, stdout and the JSON.
fn bench(args: &[&str]) -> (bool, String, Value) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let json = dir.path().join("report.json");
    let output = Command::new(env!("CARGO_BIN_EXE_parley-bench"))
        .args(args)
        .arg("--spawn")
        .arg(parley_binary())
        .arg("--json")
        .arg(&json)
        .output()
        .expect("parley-bench runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let text = std::fs::read_to_string(&json).unwrap_or_else(|_| panic!("no JSON written\n{stdout}\n{stderr}"));
    (output.status.success(), format!("{stdout}\n{stderr}"), serde_json::from_str(&text).expect("JSON report"))
}

fn assert_consistent(report: &Value, output: &str) {
    let c = &report["consistency"];
    assert_eq!(c["consistent"], true, "{output}");
    assert_eq!(c["missing"], 0, "{output}");
    assert_eq!(c["duplicates"], 0, "{output}");
    assert!(c["acked"].as_u64().unwrap_or(0) > 0, "nothing was acked\n{output}");
    assert_eq!(c["owed"], c["received"], "{output}");
}

#[test]
fn throughput_delivers_every_acked_message_to_every_member() {
    let (ok, output, report) = bench(&[
        "throughput",
        "--senders",
        "20",
        "--channels",
        "4",
        "--members",
        "10",
        "--duration",
        "3",
        "--warmup",
        "0.5",
    ]);
    assert!(ok, "{output}");
    assert_consistent(&report, &output);
    assert_eq!(report["sessions"], 40);
    assert!(report["deliver_latency"]["count"].as_u64().unwrap_or(0) > 0, "{output}");
    // Read from the spawned server's own metrics listener.
    assert!(report["server_stored_per_sec"].as_f64().is_some_and(|r| r > 0.0), "{output}");
}

/// A mixed run, its changes made over `over`: every change's event reaches
/// every member once, and the server counts them among its stored events.
fn mixed_run(over: &str) {
    let (ok, output, report) = bench(&[
        "throughput",
        "--senders",
        "6",
        "--channels",
        "3",
        "--members",
        "4",
        "--rate",
        "150",
        "--duration",
        "2",
        "--warmup",
        "0.5",
        "--edits",
        "0.1",
        "--reactions",
        "0.3",
        "--changes-over",
        over,
    ]);
    assert!(ok, "{output}");
    assert_consistent(&report, &output);
    let changes = &report["consistency"]["changes"];
    assert!(changes["stored"].as_u64().unwrap_or(0) > 0, "no change was stored\n{output}");
    assert_eq!(changes["failed"], 0, "{output}");
    assert_eq!(changes["owed"].as_u64(), changes["stored"].as_u64().map(|n| n * 4), "{output}");
    assert_eq!(changes["owed"], changes["received"], "{output}");
    assert!(report["change_latency"]["count"].as_u64().unwrap_or(0) > 0, "{output}");
    let (events, messages) = (&report["server_events_per_sec"], &report["server_stored_per_sec"]);
    assert!(events.as_f64() > messages.as_f64(), "{events} events/s against {messages} messages/s\n{output}");
}

#[test]
fn edits_and_reactions_on_the_socket_reach_every_member_once() {
    mixed_run("ws");
}

#[test]
fn edits_and_reactions_over_rest_reach_every_member_once() {
    mixed_run("rest");
}

#[test]
fn a_throughput_sweep_runs_each_rate_on_the_same_channels_and_draws_them() {
    let plot = tempfile::tempdir().expect("a temp dir");
    let svg = plot.path().join("latency.svg");
    let (ok, output, report) = bench(&[
        "throughput",
        "--senders",
        "4",
        "--channels",
        "2",
        "--members",
        "3",
        "--rates",
        "100,0",
        "--duration",
        "1",
        "--warmup",
        "0.2",
        "--plot",
        svg.to_str().expect("a UTF-8 path"),
    ]);
    assert!(ok, "{output}");
    let sweep = report["sweep"].as_array().expect("one report per rate");
    assert_eq!(sweep.len(), 2, "{output}");
    for run in sweep {
        assert_consistent(run, &output);
    }
    assert_eq!(sweep[0]["parameters"]["load"]["rate"], 100.0);
    // A paced run sets what it was asked beside what it sent.
    assert_eq!(sweep[0]["offered_per_sec"], 100.0, "{output}");
    assert!(sweep[0]["late_sends"].is_u64(), "{output}");
    assert!(output.contains("schedule: offered 100/s"), "{output}");
    let svg = std::fs::read_to_string(&svg).expect("the latency chart");
    assert_eq!(svg.matches("<polyline").count(), 5, "{svg}");
}

#[test]
fn fanout_runs_against_parley_and_the_baseline() {
    let (ok, output, report) =
        bench(&["fanout", "--members", "20", "--baseline", "--duration", "2", "--warmup", "0.5", "--window", "4"]);
    assert!(ok, "{output}");
    assert_consistent(&report["parley"], &output);
    assert_consistent(&report["baseline"], &output);
    assert!(report["parley_percent_of_baseline"].as_f64().is_some(), "{output}");
}

#[test]
fn idle_opens_every_session_and_reads_the_server_memory() {
    let (ok, output, report) = bench(&["idle", "--sessions", "100", "--settle", "0.5"]);
    assert!(ok, "{output}");
    assert_eq!(report["sessions"], 100, "{output}");
    assert!(report["rss_after_mib"].as_f64() >= report["rss_before_mib"].as_f64(), "{output}");
}

#[test]
fn idle_opens_its_sessions_from_child_processes_in_steps() {
    let plot = tempfile::tempdir().expect("a temp dir");
    let svg = plot.path().join("memory.svg");
    let (ok, output, report) = bench(&[
        "idle",
        "--sessions",
        "200",
        "--processes",
        "2",
        "--steps",
        "2",
        "--settle",
        "0.3",
        "--plot",
        svg.to_str().expect("a UTF-8 path"),
    ]);
    assert!(ok, "{output}");
    let svg = std::fs::read_to_string(&svg).expect("the memory chart");
    assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
    assert_eq!(report["sessions"], 200, "{output}");
    assert_eq!(report["processes"], 2, "{output}");
    let points = report["points"].as_array().expect("points");
    let sessions: Vec<&Value> = points.iter().map(|p| &p["sessions"]).collect();
    assert_eq!(sessions, [100, 200], "{output}");
    assert!(points.iter().all(|p| p["server_rss_mib"].as_f64().unwrap_or(0.0) > 0.0), "{output}");
    // Read from the children, which hold the sessions.
    assert!(report["client_rss_mib"].as_f64().unwrap_or(0.0) > 0.0, "{output}");
}

#[test]
fn resume_brings_every_missed_event_inline_and_through_the_gap() {
    // More than the 1,000 replayed inline, so the gap and its paging run too.
    let (ok, output, report) = bench(&["resume", "--missed", "1200", "--repeat", "2"]);
    assert!(ok, "{output}");
    assert_eq!(report["consistent"], true, "{output}");
}

#[test]
fn history_and_login_run_without_errors() {
    let (ok, output, report) = bench(&["history", "--events", "600", "--clients", "2", "--duration", "1"]);
    assert!(ok, "{output}");
    assert_eq!(report["errors"], 0, "{output}");
    assert!(report["pages_per_sec"].as_f64().unwrap_or(0.0) > 0.0, "{output}");
    let (ok, output, report) = bench(&["login", "--users", "2", "--clients", "2", "--duration", "1"]);
    assert!(ok, "{output}");
    assert_eq!(report["errors"], 0, "{output}");
    assert!(report["logins_per_sec"].as_f64().unwrap_or(0.0) > 0.0, "{output}");
}
