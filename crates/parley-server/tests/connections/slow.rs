//! The five ways to hold a connection without finishing a request, each
//! closed within its timeout while `/healthz` keeps answering; and what is
//! being served (an SSE stream, a WebSocket) is not cut by them.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parley_testkit::app::spawn_app_with;
use parley_testkit::ws::WsClient;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::server::LimitedServer;
use super::{assert_between, healthz, until_closed, SseReader};

/// Of each shape, this many at once.
const EACH: usize = 10;
/// How long the test waits for any one close: far beyond every timeout.
const PATIENCE: Duration = Duration::from_secs(15);

/// Connects, does `shape`'s part (writing on while the server listens), and
/// returns how long after `shape`'s reference moment the server closed the
/// connection, and what it sent.
async fn hold(addr: SocketAddr, shape: Shape) -> (Duration, Vec<u8>) {
    let stream = TcpStream::connect(addr).await.expect("connects");
    let (mut read, mut write) = stream.into_split();
    let mut from = Instant::now();
    match shape {
        Shape::ConnectOnly => {}
        Shape::HalfALine => write.write_all(b"GET /healthz HT").await.unwrap(),
        Shape::TrickledHeaders => {
            // A WebSocket upgrade request, one header line every 300 ms:
            // the upgrade is under the header timeout like any request.
            tokio::spawn(async move {
                let lines = ["GET /api/v1/ws HTTP/1.1\r\n", "Host: x\r\n", "Upgrade: websocket\r\n"];
                for line in lines.iter().cycle() {
                    if write.write_all(line.as_bytes()).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            });
        }
        Shape::TrickledBody => {
            let head = "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                        Content-Length: 100000\r\n\r\n{\"username\": \"";
            write.write_all(head.as_bytes()).await.unwrap();
            from = Instant::now();
            tokio::spawn(async move {
                while write.write_all(b"a").await.is_ok() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            });
        }
        Shape::IdleKeepAlive => {
            write.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
            let mut answer = [0u8; 512];
            let n = tokio::io::AsyncReadExt::read(&mut read, &mut answer).await.unwrap();
            assert!(answer[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer[..n]));
            from = Instant::now();
        }
    }
    let sent = until_closed(&mut read, PATIENCE).await.unwrap_or_else(|| panic!("{shape:?} still open"));
    (from.elapsed(), sent)
}

#[derive(Debug, Clone, Copy)]
enum Shape {
    ConnectOnly,
    HalfALine,
    TrickledHeaders,
    TrickledBody,
    IdleKeepAlive,
}

#[tokio::test]
async fn slow_and_idle_connections_are_closed_in_time_while_healthz_answers() {
    // A low file limit, as in the attack this answers; header 1 s,
    // keep-alive 2 s, bodies at least 1 KiB/s over 1 s windows.
    let flags = ["--header-timeout", "1", "--keepalive-timeout", "2", "--body-timeout", "1"];
    let server = LimitedServer::start(256, &flags);
    let addr = server.addr;

    let done = Arc::new(AtomicBool::new(false));
    let checker = tokio::spawn({
        let done = done.clone();
        async move {
            let mut answered = 0;
            while !done.load(Ordering::Relaxed) {
                let started = Instant::now();
                assert_eq!(healthz(addr).await, Ok(200), "healthz while connections are held");
                assert!(started.elapsed() < Duration::from_secs(1), "healthz slow: {:?}", started.elapsed());
                answered += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            answered
        }
    });

    let shapes =
        [Shape::ConnectOnly, Shape::HalfALine, Shape::TrickledHeaders, Shape::TrickledBody, Shape::IdleKeepAlive];
    let held = shapes.iter().flat_map(|shape| (0..EACH).map(move |_| (*shape, tokio::spawn(hold(addr, *shape)))));
    let held: Vec<_> = held.collect();
    for (shape, task) in held {
        let (took, sent) = task.await.unwrap();
        let what = format!("{shape:?}");
        match shape {
            // Headers: 1 s from the accept, whatever trickles in meanwhile.
            Shape::ConnectOnly | Shape::HalfALine | Shape::TrickledHeaders => {
                assert_between(&what, took, (0.9, 2.5));
                assert!(sent.is_empty(), "{what}: no answer, just the close");
            }
            // The body: cut when its first 1 s window brought under 1 KiB, and answered 408.
            Shape::TrickledBody => {
                assert_between(&what, took, (0.9, 2.5));
                let sent = String::from_utf8_lossy(&sent);
                assert!(sent.starts_with("HTTP/1.1 408"), "{what}: {sent}");
                assert!(sent.contains("connection: close"), "{what}: {sent}");
            }
            // Idle after a response: the keep-alive timeout (2 s), not the header's (1 s).
            Shape::IdleKeepAlive => assert_between(&what, took, (1.8, 3.5)),
        }
    }
    done.store(true, Ordering::Relaxed);
    assert!(checker.await.unwrap() >= 10, "healthz was asked throughout");

    let metrics = server.metrics().await;
    for (timeout, at_least) in [("header", 3 * EACH), ("body", EACH), ("idle", EACH)] {
        let line = format!("parley_http_connections_timed_out_total{{timeout=\"{timeout}\"}}");
        let count: usize = metrics
            .lines()
            .find_map(|l| l.strip_prefix(&line))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{line} in {metrics}"));
        assert!(count >= at_least, "{line} {count}");
    }
    assert!(server.terminate(Duration::from_secs(15)), "SIGTERM drains and exits 0");
}

#[tokio::test]
async fn live_sessions_are_not_cut_by_the_connection_timeouts() {
    let app = spawn_app_with(|c| {
        c.limits.header_timeout = Duration::from_millis(500);
        c.limits.keepalive_timeout = Duration::from_millis(500);
        c.limits.body_timeout = Duration::from_millis(500);
    })
    .await;
    let alice = app.register("alice").await;
    let channel = app.create_channel(&alice, "general", "public").await;
    let (mut ws, _) = WsClient::connect(app.addr, &alice.token, json!({})).await;
    let stream = app.http.get(app.url("/api/v1/stream")).bearer_auth(&alice.token).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let mut stream = SseReader::new(stream);
    stream.next_of("ready").await;

    tokio::time::sleep(Duration::from_secs(2)).await;
    ws.send(json!({"type": "ping", "ref": 1})).await;
    assert_eq!(ws.next_of("pong").await["ref"], 1, "the WebSocket is open after 4× every timeout");
    app.send(&alice, &channel, "m1", "still there?").await;
    assert_eq!(stream.next_of("event").await["event"]["body"], "still there?", "and so is the stream");
}
