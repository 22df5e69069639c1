//! Connection hygiene against the real server: clients that connect and hold
//! on are let go in time, the connection cap holds below the file limit and
//! recovers, and live sessions are limited per user and per address.

mod cap;
mod server;
mod sessions;
mod slow;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::tcp::OwnedReadHalf;

/// Reads (and keeps) what the server sends until it closes the connection
/// (end of stream or reset); `None` if it is still open after `patience`.
pub async fn until_closed(read: &mut OwnedReadHalf, patience: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match tokio::time::timeout_at(deadline, read.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(got),
            Ok(Ok(n)) => got.extend_from_slice(&buffer[..n]),
        }
    }
}

/// `GET /healthz` on a connection of its own, as a new client would: the
/// status, or why there was none.
pub async fn healthz(addr: SocketAddr) -> Result<u16, String> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| e.to_string())?;
    let response = http.get(format!("http://{addr}/healthz")).send().await.map_err(|e| format!("{e:?}"))?;
    Ok(response.status().as_u16())
}

/// Asserts that `took` lies in `within` (inclusive bounds, in seconds).
pub fn assert_between(what: &str, took: Duration, within: (f64, f64)) {
    let secs = took.as_secs_f64();
    assert!(within.0 <= secs && secs <= within.1, "{what}: closed after {secs:.2} s, expected {within:?}");
}

/// An SSE response, read one message at a time.
pub struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> SseReader {
        SseReader { response, buffer: String::new() }
    }

    /// The data of the next message named `kind`, skipping others.
    pub async fn next_of(&mut self, kind: &str) -> serde_json::Value {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let message: String = self.buffer.drain(..end + 2).collect();
                let event = message.lines().find_map(|l| l.strip_prefix("event:")).map(str::trim);
                let data: String = message.lines().filter_map(|l| l.strip_prefix("data:")).collect();
                if event == Some(kind) {
                    return serde_json::from_str(data.trim()).expect("JSON data");
                }
            }
            let chunk = tokio::time::timeout(Duration::from_secs(20), self.response.chunk())
                .await
                .expect("an SSE message in time")
                .expect("chunk read")
                .expect("stream open");
            self.buffer.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    }
}
