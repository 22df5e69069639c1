//! Each breach the checker names, found alone in an otherwise clean history.

use super::*;

fn send(client: &str, cmid: &str, outcome: Outcome) -> Record {
    Record::Send {
        client: client.into(),
        user: format!("u-{client}"),
        channel: "c".into(),
        client_msg_id: cmid.into(),
        outcome,
    }
}

fn log(seq: i64, client: &str, cmid: &str) -> Record {
    Record::Log {
        channel: "c".into(),
        seq,
        id: format!("e{seq}"),
        sender: format!("u-{client}"),
        client_msg_id: Some(cmid.into()),
    }
}

fn recv(client: &str, conn: u32, seq: i64, via: Via) -> Record {
    Record::Recv { client: client.into(), conn, channel: "c".into(), seq, id: format!("e{seq}"), via }
}

fn follow(client: &str, from_seq: i64) -> Record {
    Record::Follow { client: client.into(), channel: "c".into(), from_seq }
}

/// Alice sends 3 (one retried after a failure, one unknown that was never
/// stored); Bob receives everything, part of it twice after a reconnect.
fn clean() -> History {
    let mut h = History::default();
    for r in [
        send("alice", "m1", Outcome::Ok),
        send("alice", "m2", Outcome::Failed),
        send("alice", "m2", Outcome::Ok),
        send("alice", "m3", Outcome::Unknown),
        log(1, "alice", "m1"),
        log(2, "alice", "m2"),
        follow("bob", 1),
        recv("bob", 1, 1, Via::Live),
        recv("bob", 2, 1, Via::Live), // replayed after a reconnect: dropped by the client, allowed
        recv("bob", 2, 2, Via::Live),
    ] {
        h.push(r);
    }
    h
}

#[test]
fn a_clean_history_is_clean() {
    let report = check(&clean());
    assert!(report.is_clean(), "{report}");
    assert_eq!((report.acked, report.failed, report.unknown), (2, 0, 1));
    assert_eq!((report.log_events, report.received), (2, 3));
}

#[test]
fn an_acknowledged_message_missing_from_the_log_is_lost() {
    let mut h = clean();
    h.push(send("alice", "m4", Outcome::Ok));
    let report = check(&h);
    assert_eq!(report.lost, vec![Message { channel: "c".into(), user: "u-alice".into(), client_msg_id: "m4".into() }]);
    assert!(!report.is_clean());
}

#[test]
fn one_message_at_two_seqs_is_a_duplicate() {
    let mut h = clean();
    h.push(log(3, "alice", "m2"));
    h.push(recv("bob", 2, 3, Via::Live));
    let report = check(&h);
    assert_eq!(report.duplicates.len(), 1);
    assert_eq!(report.duplicates[0].seqs, vec![2, 3]);
}

#[test]
fn two_events_at_one_seq_conflict() {
    let mut h = clean();
    h.push(Record::Recv {
        client: "carol".into(),
        conn: 1,
        channel: "c".into(),
        seq: 2,
        id: "other".into(),
        via: Via::Live,
    });
    let report = check(&h);
    assert_eq!(
        report.conflicts,
        vec![Conflict { channel: "c".into(), seq: 2, ids: vec!["e2".into(), "other".into()] }]
    );
}

#[test]
fn a_lower_live_seq_on_one_connection_is_an_inversion() {
    let mut h = History::default();
    for r in [log(1, "alice", "m1"), log(2, "alice", "m2"), recv("bob", 1, 2, Via::Live), recv("bob", 1, 1, Via::Live)]
    {
        h.push(r);
    }
    let report = check(&h);
    assert_eq!(report.inversions.len(), 1);
    assert_eq!((report.inversions[0].seq, report.inversions[0].after), (1, 2));
    // Paged in over REST after a gap frame, a lower seq is no inversion.
    let mut h = History::default();
    for r in [log(1, "alice", "m1"), log(2, "alice", "m2"), recv("bob", 1, 2, Via::Live), recv("bob", 1, 1, Via::Page)]
    {
        h.push(r);
    }
    assert!(check(&h).is_clean());
}

#[test]
fn a_follower_missing_seqs_has_an_unfilled_gap_and_misses_the_acked_ones() {
    let mut h = clean();
    for r in [
        send("alice", "m4", Outcome::Ok),
        log(3, "alice", "m3-was-stored"),
        log(4, "alice", "m4"),
        log(5, "alice", "m5"),
        recv("bob", 2, 5, Via::Live),
    ] {
        h.push(r);
    }
    let report = check(&h);
    assert_eq!(report.unfilled_gaps, vec![Gap { client: "bob".into(), channel: "c".into(), first: 3, last: 4 }]);
    assert_eq!(report.missed.len(), 1, "{report}");
    assert_eq!((report.missed[0].seq, report.missed[0].message.client_msg_id.as_str()), (4, "m4"));
    // Following from a later seq, the same follower owes nothing earlier.
    let mut h = clean();
    h.push(log(3, "alice", "m3"));
    h.push(recv("bob", 2, 3, Via::Live));
    h.push(follow("dave", 3));
    h.push(recv("dave", 1, 3, Via::Live));
    assert!(check(&h).is_clean());
}

#[test]
fn a_history_reads_from_json_lines() {
    let text = r#"{"kind":"send","client":"a","user":"u","channel":"c","client_msg_id":"m","outcome":"ok"}

{"kind":"log","channel":"c","seq":1,"id":"e1","sender":"u","client_msg_id":"m"}
"#;
    let mut h = History::default();
    h.read(text.as_bytes()).unwrap();
    assert!(check(&h).is_clean());
    assert!(History::default().read("{\"kind\":\"nope\"}".as_bytes()).is_err());
}
