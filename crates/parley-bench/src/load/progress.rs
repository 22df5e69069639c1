//! The one-line progress report on stderr while a run sends and drains.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::procstat::{MachineSample, Proc, ProcFigures, ProcSample};
use super::shared::Shared;
use super::stats::Snapshot;

/// The one-line progress report on stderr, once a second.
pub struct Progress {
    shared: Arc<Shared>,
    server: Option<u32>,
    started: Instant,
    last: Snapshot,
    last_server: Option<ProcSample>,
    last_client: Option<ProcSample>,
    last_machine: Option<MachineSample>,
    next: Instant,
}

impl Progress {
    pub fn new(shared: Arc<Shared>, server: Option<u32>) -> Progress {
        let last = shared.counters.snapshot();
        let now = Instant::now();
        Progress {
            shared,
            server,
            started: now,
            last,
            last_server: server.and_then(|p| Proc::Pid(p).sample()),
            last_client: Proc::Myself.sample(),
            last_machine: MachineSample::now(),
            next: now + Duration::from_secs(1),
        }
    }

    /// Reports every second until `deadline`.
    pub async fn until(&mut self, deadline: Instant) {
        while self.next <= deadline {
            tokio::time::sleep_until(self.next.into()).await;
            self.print("");
        }
        tokio::time::sleep_until(deadline.into()).await;
    }

    /// Waits until all `senders` have stopped, every send is answered and
    /// every owed delivery arrived, or `deadline`; says whether all arrived.
    pub async fn drain(&mut self, deadline: Instant, senders: u64) -> bool {
        loop {
            let now = self.shared.counters.snapshot();
            if now.senders_stopped >= senders && now.unanswered() == 0 && now.all_delivered() {
                self.print(" drained");
                end_status();
                return true;
            }
            if Instant::now() >= deadline {
                self.print(" drain timed out");
                end_status();
                return false;
            }
            if Instant::now() >= self.next {
                self.print(" draining");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn print(&mut self, note: &str) {
        let now = self.shared.counters.snapshot();
        let (sent, acked, delivered) = now.rates_since(&self.last);
        let server = self.server.and_then(|p| Proc::Pid(p).sample());
        let client = Proc::Myself.sample();
        let machine = MachineSample::now();
        let machine_cpu = match (&self.last_machine, &machine) {
            (Some(a), Some(b)) => format!("{:.0}%", b.percent_since(a)),
            _ => "-".into(),
        };
        let cpu = |then: &Option<ProcSample>, now: &Option<ProcSample>| match (then, now) {
            (Some(a), Some(b)) => format!("{:.0}%", ProcFigures::between(a, b).cpu_percent),
            _ => "-".into(),
        };
        let rss = server.map_or("-".into(), |s| format!("{:.0} MiB", s.rss_kib as f64 / 1024.0));
        status(&format!(
            "[{:6.1}s] sent {sent:>7.0}/s acked {acked:>7.0}/s delivered {delivered:>8.0}/s | p99 deliver {:.2} ms ack {:.2} ms | errors {} ended {} | server {} {rss} | client {} | machine {machine_cpu}{note}",
            self.started.elapsed().as_secs_f64(),
            self.shared.deliver.percentiles().p99_ms,
            self.shared.ack.percentiles().p99_ms,
            now.error_frames,
            now.ended_early,
            cpu(&self.last_server, &server),
            cpu(&self.last_client, &client),
        ));
        self.last = now;
        self.last_server = server;
        self.last_client = client;
        self.last_machine = machine;
        self.next = Instant::now() + Duration::from_secs(1);
    }
}

/// A status line: rewritten in place on a terminal, one line each otherwise (a log).
pub fn status(line: &str) {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        eprint!("\r{line}\x1b[K");
    } else {
        eprintln!("{line}");
    }
}

/// Ends a run of in-place status lines.
pub fn end_status() {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
}
