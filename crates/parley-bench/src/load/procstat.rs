//! CPU time and memory of a process, read from /proc: the server's cost, and
//! this client's own (a saturated client would make any figure a lie).

use std::time::{Duration, Instant};

use serde::Serialize;

/// `/proc/<pid>/stat` counts CPU time in USER_HZ ticks, 100 a second on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// One reading of a process.
#[derive(Debug, Clone, Copy)]
pub struct ProcSample {
    /// User plus system CPU time, in ticks.
    pub cpu_ticks: u64,
    pub rss_kib: u64,
    /// The high-water mark of RSS so far.
    pub peak_kib: u64,
    pub at: Instant,
}

/// Which process: a pid, or this one.
#[derive(Debug, Clone, Copy)]
pub enum Proc {
    Pid(u32),
    Myself,
}

impl Proc {
    fn dir(self) -> String {
        match self {
            Proc::Pid(pid) => format!("/proc/{pid}"),
            Proc::Myself => "/proc/self".to_owned(),
        }
    }

    /// Reads the process now; `None` when it is gone or /proc is missing.
    pub fn sample(self) -> Option<ProcSample> {
        let dir = self.dir();
        let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
        let status = std::fs::read_to_string(format!("{dir}/status")).ok()?;
        Some(ProcSample {
            cpu_ticks: cpu_ticks(&stat)?,
            rss_kib: status_kib(&status, "VmRSS:")?,
            peak_kib: status_kib(&status, "VmHWM:").unwrap_or(0),
            at: Instant::now(),
        })
    }
}

/// utime + stime: fields 14 and 15, counted after the parenthesised command
/// name (which may itself hold spaces and parentheses).
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // fields[0] is field 3 (state), so field 14 is fields[11].
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// The whole machine's CPU time, from the first line of /proc/stat.
#[derive(Debug, Clone, Copy)]
pub struct MachineSample {
    pub busy_ticks: u64,
    pub at: Instant,
}

impl MachineSample {
    /// Now; `None` without /proc.
    pub fn now() -> Option<MachineSample> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let line = stat.lines().next()?.strip_prefix("cpu ")?;
        let ticks: Vec<u64> = line.split_whitespace().filter_map(|t| t.parse().ok()).collect();
        // user nice system idle iowait irq softirq steal …: busy is all but idle and iowait.
        let total: u64 = ticks.iter().take(8).sum();
        let idle = ticks.get(3)? + ticks.get(4).copied().unwrap_or(0);
        Some(MachineSample { busy_ticks: total.saturating_sub(idle), at: Instant::now() })
    }

    /// Busy CPU since `earlier`, in percent of one core.
    pub fn percent_since(&self, earlier: &MachineSample) -> f64 {
        let wall = self.at.duration_since(earlier.at).as_secs_f64();
        let busy = self.busy_ticks.saturating_sub(earlier.busy_ticks) as f64 / TICKS_PER_SECOND;
        if wall > 0.0 {
            100.0 * busy / wall
        } else {
            0.0
        }
    }
}

/// Waits up to `within` until the machine's busy CPU stays under
/// `threshold` percent of one core for two seconds running: on a shared
/// machine, a build next door halves what the server gets. Says whether it did.
pub async fn wait_for_idle_machine(within: Duration, threshold: f64) -> bool {
    let deadline = Instant::now() + within;
    let (mut last, mut calm) = (MachineSample::now(), 0);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = MachineSample::now();
        let busy = match (&last, &now) {
            (Some(a), Some(b)) => b.percent_since(a),
            _ => return false,
        };
        calm = if busy < threshold { calm + 1 } else { 0 };
        if calm >= 2 {
            return true;
        }
        super::progress::status(&format!("waiting for an idle machine: {busy:.0}% busy"));
        last = now;
    }
    false
}

/// The machine's CPU over the window: whatever the server and this client
/// did not use went to other processes, which make the figures noisier.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct MachineFigures {
    pub cores: usize,
    /// Busy CPU, in percent of one core (`100 × cores` when saturated).
    pub cpu_percent: f64,
    /// What neither the server nor this client used (when both are known).
    pub others_cpu_percent: Option<f64>,
}

/// A process's cost over an interval.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ProcFigures {
    /// CPU time over wall time, in percent of one core (200 = both cores of this machine).
    pub cpu_percent: f64,
    pub rss_start_mib: f64,
    pub rss_end_mib: f64,
    pub rss_peak_mib: f64,
}

impl ProcFigures {
    pub fn between(start: &ProcSample, end: &ProcSample) -> ProcFigures {
        let wall = end.at.duration_since(start.at).as_secs_f64();
        let cpu = end.cpu_ticks.saturating_sub(start.cpu_ticks) as f64 / TICKS_PER_SECOND;
        ProcFigures {
            cpu_percent: if wall > 0.0 { 100.0 * cpu / wall } else { 0.0 },
            rss_start_mib: start.rss_kib as f64 / 1024.0,
            rss_end_mib: end.rss_kib as f64 / 1024.0,
            rss_peak_mib: end.peak_kib as f64 / 1024.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpu_from_a_stat_line_with_an_awkward_name() {
        let stat = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 4 0 100 0 0";
        assert_eq!(cpu_ticks(stat), Some(300));
    }

    #[test]
    fn reads_the_machine() {
        let first = MachineSample::now().expect("/proc/stat");
        let later =
            MachineSample { busy_ticks: first.busy_ticks + 50, at: first.at + std::time::Duration::from_secs(1) };
        assert!((later.percent_since(&first) - 50.0).abs() < 1e-9);
    }

    #[test]
    fn reads_this_process() {
        let sample = Proc::Myself.sample().expect("/proc/self");
        assert!(sample.rss_kib > 0);
    }
}
