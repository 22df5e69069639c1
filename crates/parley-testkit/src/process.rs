//! The real `parley` binary as a child process, for tests that kill it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct ParleyProcess {
    child: Child,
    pub addr: SocketAddr,
    /// `--metrics-listen`'s address, when `extra` set one.
    pub metrics_addr: Option<SocketAddr>,
}

impl ParleyProcess {
    /// Starts `parley serve` on a free loopback port over `data_dir`,
    /// without rate limits, and waits until it listens (it logs the bound
    /// address).
    pub fn start(binary: &Path, data_dir: &Path, extra: &[&str]) -> ParleyProcess {
        let mut child = Command::new(binary)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--send-rate",
                "0",
                "--rate-limit",
                "all=0",
                "--registration",
                "open",
                "--data-dir",
            ])
            .arg(data_dir)
            .args(extra)
            .env("PARLEY_LOG", "info")
            .env("PARLEY_LOG_FORMAT", "text")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("parley starts");
        let stderr = child.stderr.take().expect("stderr");
        let (found, addr) = mpsc::channel();
        // Keep draining stderr for the life of the process so it never blocks on a full pipe.
        std::thread::spawn(move || {
            let echo = std::env::var("TEST_LOG").is_ok_and(|v| v == "1");
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if echo {
                    eprintln!("[parley] {line}");
                }
                // `… parley listening addr=<public> metrics=<address, or how /metrics is served> …`
                let field = |name: &str| line.split(name).nth(1)?.split_whitespace().next()?.parse::<SocketAddr>().ok();
                if let Some(parsed) = field(" addr=") {
                    let _ = found.send((parsed, field(" metrics=")));
                }
            }
        });
        let (addr, metrics_addr) = addr.recv_timeout(Duration::from_secs(30)).expect("parley logged its address");
        ParleyProcess { child, addr, metrics_addr }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// `path` on the `--metrics-listen` address.
    pub fn metrics_url(&self, path: &str) -> String {
        format!("http://{}{}", self.metrics_addr.expect("started with --metrics-listen"), path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no chance to flush or say goodbye.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits up to `within` for the exit.
    pub fn terminate(mut self, within: Duration) -> Option<ExitStatus> {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        None
    }
}

impl Drop for ParleyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
