//! The `parley` binary as a child process with a low open-file limit
//! (`prlimit --nofile`), its log kept for the test to read.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_parley");
/// Opens `/metrics` on the server's own port ([`LimitedServer::metrics`]).
const METRICS_TOKEN: &str = "connections-test-metrics";

pub struct LimitedServer {
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    _data: tempfile::TempDir,
}

impl LimitedServer {
    /// `parley serve` on a free loopback port with at most `files` open
    /// files (soft and hard), and `extra` flags.
    pub fn start(files: u32, extra: &[&str]) -> LimitedServer {
        let data = tempfile::tempdir().expect("data dir");
        let mut child = Command::new("prlimit")
            .arg(format!("--nofile={files}:{files}"))
            .arg(BINARY)
            .args(["serve", "--listen", "127.0.0.1:0", "--send-rate", "0", "--registration", "open", "--data-dir"])
            .arg(data.path())
            .args(["--metrics-token", METRICS_TOKEN])
            .args(extra)
            .env("PARLEY_LOG", "info")
            .env("PARLEY_LOG_FORMAT", "text")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("prlimit starts parley (prlimit is util-linux's)");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (found, addr) = mpsc::channel();
        let kept = log.clone();
        // Drained for the life of the process, so it never blocks on a full pipe.
        std::thread::spawn(move || {
            let echo = std::env::var("TEST_LOG").is_ok_and(|v| v == "1");
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if echo {
                    eprintln!("[parley] {line}");
                }
                // Kept before the address is told: the test reads the
                // listening line as soon as it has the address.
                let addr = line.split("addr=").nth(1).and_then(|rest| rest.split_whitespace().next()?.parse().ok());
                kept.lock().unwrap().push(line);
                if let Some(parsed) = addr {
                    let _ = found.send(parsed);
                }
            }
        });
        let addr = addr.recv_timeout(Duration::from_secs(60)).expect("parley logged its address");
        LimitedServer { child, addr, log, _data: data }
    }

    /// `/metrics`, asked on the server's port (with the token).
    pub async fn metrics(&self) -> String {
        let url = format!("http://{}/metrics", self.addr);
        let response = reqwest::Client::new().get(url).bearer_auth(METRICS_TOKEN).send().await.unwrap();
        assert!(response.status().is_success(), "/metrics: {}", response.status());
        response.text().await.unwrap()
    }

    /// The log lines so far that contain `text`.
    pub fn logged(&self, text: &str) -> Vec<String> {
        self.log.lock().unwrap().iter().filter(|line| line.contains(text)).cloned().collect()
    }

    /// SIGTERM, and whether it then exited 0 within `within`.
    pub fn terminate(mut self, within: Duration) -> bool {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for LimitedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
