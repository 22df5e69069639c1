//! The server under load: a running one named by URL, or a child process
//! started here (the `parley` binary, or this binary's bare `baseline`).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;

/// Which server a scenario loads.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Base URL of a running server (`http://127.0.0.1:8080`); plain HTTP
    /// only. Either this or `--spawn` is required.
    #[arg(long, conflicts_with = "spawn")]
    pub url: Option<String>,
    /// Start this `parley` binary on a free loopback port over a fresh data
    /// directory with `--send-rate 0`, sign-up open to all (`--registration
    /// open`: it registers its users), no other rate limit
    /// (`--rate-limit all=0`) and no limit on sessions per user or per
    /// address (the load is thousands of users, channels and sessions from
    /// one loopback address, often of one user), and stop it at the end.
    #[arg(long, value_name = "PARLEY_BINARY")]
    pub spawn: Option<PathBuf>,
    /// The server's pid, for its CPU and RSS from /proc (known when spawned).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// One more argument for the spawned server (repeat it: `--server-arg=--kafka --server-arg=…`).
    #[arg(long = "server-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub server_args: Vec<String>,
    /// Write the spawned server's log here (it is otherwise only counted).
    #[arg(long, value_name = "FILE")]
    pub server_log: Option<PathBuf>,
    /// The server's `/metrics` (`http://127.0.0.1:9090/metrics`, its
    /// `--metrics-listen`), for its own count of stored messages. A spawned
    /// server gets a metrics listener of its own on a free loopback port.
    #[arg(long, value_name = "URL", conflicts_with = "spawn")]
    pub metrics_url: Option<String>,
}

/// A server to talk to, and, when started here, the process that owns it.
pub struct Target {
    pub addr: SocketAddr,
    pub pid: Option<u32>,
    /// The server's `/metrics`, when known.
    metrics_url: Option<String>,
    child: Option<Spawned>,
}

impl Target {
    /// Connects to `--url` or starts `--spawn`.
    pub fn open(args: &TargetArgs) -> anyhow::Result<Target> {
        if let Some(binary) = &args.spawn {
            let spawned = Spawned::parley(binary, &args.server_args, args.server_log.as_deref())?;
            let metrics_url = spawned.metrics.map(|addr| format!("http://{addr}/metrics"));
            return Ok(Target { addr: spawned.addr, pid: Some(spawned.pid()), metrics_url, child: Some(spawned) });
        }
        let url = args.url.as_deref().context("either --url or --spawn is required")?;
        let metrics_url = args.metrics_url.clone();
        Ok(Target { addr: parse_http_url(url)?, pid: args.server_pid, metrics_url, child: None })
    }

    /// Starts this binary's bare broadcast server (`parley-bench baseline`).
    pub fn baseline(nodelay: bool) -> anyhow::Result<Target> {
        let exe = std::env::current_exe().context("finding this binary")?;
        let mut command = Command::new(exe);
        command.args(["baseline", "--listen", "127.0.0.1:0"]);
        if nodelay {
            command.arg("--nodelay");
        }
        let spawned = Spawned::start(command, None, None)?;
        Ok(Target { addr: spawned.addr, pid: Some(spawned.pid()), metrics_url: None, child: Some(spawned) })
    }

    /// The server's `/metrics` URL, when known (`--metrics-url`, or the
    /// spawned server's metrics listener).
    pub fn metrics_url(&self) -> Option<String> {
        self.metrics_url.clone()
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }

    /// The size of the spawned server's data directory's files, in bytes.
    pub fn data_bytes(&self) -> Option<u64> {
        let dir = self.child.as_ref()?._data.as_ref()?.path();
        let entries = std::fs::read_dir(dir).ok()?;
        Some(entries.flatten().filter_map(|e| e.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum())
    }

    /// What the spawned server logged at WARN and ERROR, and its slow-session closes.
    pub fn log_summary(&self) -> Option<LogSummary> {
        self.child.as_ref().map(|c| c.log.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    /// Stops a spawned server (SIGTERM, then SIGKILL after a few seconds).
    pub fn stop(mut self) {
        if let Some(child) = self.child.take() {
            child.stop(Duration::from_secs(5));
        }
    }
}

/// `http://host:port[/…]` → the socket address (loopback tests only: no DNS beyond the OS resolver).
fn parse_http_url(url: &str) -> anyhow::Result<SocketAddr> {
    let Some(rest) = url.strip_prefix("http://") else { bail!("--url must start with http:// (got {url})") };
    let authority = rest.split('/').next().unwrap_or(rest);
    use std::net::ToSocketAddrs;
    authority
        .to_socket_addrs()
        .with_context(|| format!("resolving {authority}"))?
        .next()
        .with_context(|| format!("{authority} resolves to no address"))
}

/// Counts of the spawned server's notable log lines, and the first few of them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LogSummary {
    pub warn: u64,
    pub error: u64,
    /// "session too slow: closing with 1008" lines (logged at INFO).
    pub slow_session_closes: u64,
    pub examples: Vec<String>,
}

impl LogSummary {
    const EXAMPLES: usize = 8;

    fn note(&mut self, line: &str) {
        let notable = if line.contains(" WARN ") {
            self.warn += 1;
            true
        } else if line.contains(" ERROR ") {
            self.error += 1;
            true
        } else if line.contains("session too slow") {
            self.slow_session_closes += 1;
            true
        } else {
            false
        };
        if notable && self.examples.len() < Self::EXAMPLES {
            self.examples.push(line.to_owned());
        }
    }
}

/// A server child process. Its stderr is drained for its whole life (a full
/// pipe would stall the server), scanned for `addr=` and notable lines.
struct Spawned {
    child: Child,
    addr: SocketAddr,
    /// Its `--metrics-listen` address, from the same line as `addr`.
    metrics: Option<SocketAddr>,
    log: Arc<Mutex<LogSummary>>,
    /// The data directory, removed when the server is gone.
    _data: Option<tempfile::TempDir>,
}

impl Spawned {
    fn parley(binary: &Path, extra: &[String], log_file: Option<&Path>) -> anyhow::Result<Spawned> {
        let data = tempfile::Builder::new().prefix("parley-bench-").tempdir().context("creating a data directory")?;
        let mut command = Command::new(binary);
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--send-rate", "0", "--registration", "open", "--data-dir"])
            .arg(data.path())
            .args(["--rate-limit", "all=0", "--max-sessions-per-user", "0", "--max-sessions-per-address", "0"]);
        // /metrics is on a listener of its own (not on the public port).
        if !extra.iter().any(|a| a.starts_with("--metrics-listen")) {
            command.args(["--metrics-listen", "127.0.0.1:0"]);
        }
        command
            .args(extra)
            .env("PARLEY_LOG", std::env::var("PARLEY_LOG").unwrap_or_else(|_| "info".into()))
            .env("PARLEY_LOG_FORMAT", "text")
            .env("NO_COLOR", "1");
        Spawned::start(command, Some(data), log_file)
    }

    /// Starts `command` and waits (up to 60 s) for the line naming its address.
    fn start(
        mut command: Command,
        data: Option<tempfile::TempDir>,
        log_file: Option<&Path>,
    ) -> anyhow::Result<Spawned> {
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {program}"))?;
        let stderr = child.stderr.take().context("the server's stderr")?;
        let mut sink = match log_file {
            Some(path) => Some(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?),
            None => None,
        };
        let log = Arc::new(Mutex::new(LogSummary::default()));
        let (found, addr) = mpsc::channel();
        let summary = log.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(file) = sink.as_mut() {
                    let _ = writeln!(file, "{line}");
                }
                if let Some(parsed) = listening_addrs(&line) {
                    let _ = found.send(parsed);
                }
                summary.lock().unwrap_or_else(|p| p.into_inner()).note(&line);
            }
        });
        let started = Instant::now();
        let (addr, metrics) = match addr.recv_timeout(Duration::from_secs(60)) {
            Ok(addrs) => addrs,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                bail!("{program} did not report its address within 60 s (exit: {status:?})");
            }
        };
        eprintln!("started {program} (pid {}) on {addr} in {:.1} s", child.id(), started.elapsed().as_secs_f64());
        Ok(Spawned { child, addr, metrics, log, _data: data })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(mut self, within: Duration) {
        // std offers only SIGKILL; `kill` gives the server its graceful path.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in a log line such as `… parley listening addr=127.0.0.1:4321
/// metrics=127.0.0.1:4322 mode=…`, and the metrics listener's when it names one.
fn listening_addrs(line: &str) -> Option<(SocketAddr, Option<SocketAddr>)> {
    let field = |name: &str| line.split(name).nth(1)?.split_whitespace().next()?.parse::<SocketAddr>().ok();
    Some((field(" addr=")?, field(" metrics=")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_address_in_the_listening_line() {
        let line = "2026-11-22T10:00:00Z  INFO parley_server::app: parley listening addr=127.0.0.1:40123 mode=embedded";
        assert_eq!(listening_addrs(line), Some(("127.0.0.1:40123".parse().unwrap(), None)));
        let line = "… parley listening addr=127.0.0.1:40123 metrics=127.0.0.1:40124 mode=embedded";
        let metrics = Some("127.0.0.1:40124".parse().unwrap());
        assert_eq!(listening_addrs(line), Some(("127.0.0.1:40123".parse().unwrap(), metrics)));
        let line = "… parley listening addr=127.0.0.1:40123 metrics=off mode=embedded";
        assert_eq!(listening_addrs(line), Some(("127.0.0.1:40123".parse().unwrap(), None)));
        assert_eq!(listening_addrs("no address here"), None);
    }

    #[test]
    fn urls_name_a_socket_address() {
        assert_eq!(parse_http_url("http://127.0.0.1:8080/").unwrap(), "127.0.0.1:8080".parse().unwrap());
        assert!(parse_http_url("https://127.0.0.1:8080").is_err());
    }
}
