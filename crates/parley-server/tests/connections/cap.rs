//! The connection cap: below the process's open-file limit, new connections
//! past it closed at once, and room again as soon as some close.

use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::server::LimitedServer;
use super::{healthz, until_closed};

/// 256 open files leave 128 connections: the rest is kept for the store
/// and for accepting (crates/parley-server/src/connections/cap.rs).
const FILES: u32 = 256;
const CAP: usize = 128;

#[tokio::test]
async fn the_connection_cap_holds_below_the_file_limit_and_recovers() {
    // Long timeouts: here the connections are held on purpose.
    let server = LimitedServer::start(FILES, &["--header-timeout", "60", "--keepalive-timeout", "60"]);
    let addr = server.addr;
    assert_eq!(server.logged(&format!("max_connections={CAP}")).len(), 1, "the cap is in the listening line");
    assert_eq!(healthz(addr).await, Ok(200));
    // The server lets go of that connection when it reads its end.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Twice the cap, and as many as the file limit: without a cap the
    // server would run out of descriptors (`accept error: Too many open files`).
    let mut sockets = Vec::new();
    for _ in 0..2 * CAP {
        sockets.push(TcpStream::connect(addr).await.expect("the kernel takes the connection").into_split());
    }
    let closes = futures::future::join_all(
        sockets.iter_mut().map(|(read, _)| async move { until_closed(read, Duration::from_secs(1)).await.is_some() }),
    )
    .await;
    let mut held: Vec<_> = sockets.into_iter().zip(closes).filter(|(_, closed)| !closed).map(|(s, _)| s).collect();
    assert_eq!(held.len(), CAP, "as many held as the cap, the others closed at once");

    // A new client now is closed at once, not left waiting in the queue.
    let started = Instant::now();
    let (mut read, _write) = TcpStream::connect(addr).await.unwrap().into_split();
    assert!(until_closed(&mut read, Duration::from_secs(2)).await.is_some(), "closed, not queued");
    assert!(started.elapsed() < Duration::from_secs(1), "closed after {:?}", started.elapsed());
    assert!(healthz(addr).await.is_err(), "no room for healthz while the cap is full");
    assert!(!server.logged("connection limit reached").is_empty(), "the refusals are logged");
    assert!(server.logged("Too many open files").is_empty(), "{:?}", server.logged("Too many open files"));

    // Some close: there is room again.
    held.truncate(CAP - 10);
    let answered = wait_for_healthz(addr).await;
    assert!(answered < Duration::from_secs(2), "healthz answered {answered:?} after room was made");
    drop(held);
    wait_for_healthz(addr).await;

    let metrics = server.metrics().await;
    assert!(metrics.contains(&format!("parley_http_connection_limit {CAP}\n")), "{metrics}");
    let refused = metrics
        .lines()
        .find_map(|l| l.strip_prefix("parley_http_connections_refused_total "))
        .and_then(|n| n.parse::<usize>().ok())
        .expect("refusals counted");
    assert!(refused > CAP, "{refused} refused");
    assert!(server.terminate(Duration::from_secs(15)), "SIGTERM drains and exits 0");
}

/// Asks `/healthz` until it answers 200 (within 10 s); how long that took.
async fn wait_for_healthz(addr: std::net::SocketAddr) -> Duration {
    let started = Instant::now();
    while healthz(addr).await != Ok(200) {
        assert!(started.elapsed() < Duration::from_secs(10), "healthz never answered again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}
