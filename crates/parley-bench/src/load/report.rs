//! A run's figures: one [`Report`] per server, printed as a table for people
//! and written as JSON for machines.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use super::check::Consistency;
use super::procstat::{MachineFigures, ProcFigures};
use super::run::RunResult;
use super::stats::Percentiles;
use super::target::LogSummary;

/// Every figure of one run against one server.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    /// `parley` or `baseline`.
    pub server: String,
    /// The scenario's parameters, as given.
    pub parameters: serde_json::Value,
    pub sessions: usize,
    pub senders: usize,
    pub setup: Setup,
    pub window_secs: f64,
    pub sent_per_sec: f64,
    /// Edits and reactions requested per second, when mixed in.
    pub changes_per_sec: f64,
    /// Acks (`stored` or `accepted`) per second; for the baseline, sends.
    pub acked_per_sec: f64,
    pub deliveries_per_sec: f64,
    /// From the server's `/metrics` over the same window.
    pub server_stored_per_sec: Option<f64>,
    /// Every event stored (messages, edits, reactions) per second, from `/metrics`.
    pub server_events_per_sec: Option<f64>,
    pub server_delivered_per_sec: Option<f64>,
    pub ack_latency: Percentiles,
    /// From sending each edit or reaction to its answer, when mixed in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_latency: Option<Percentiles>,
    pub deliver_latency: Percentiles,
    /// For each message, its latency to the last session that got it.
    pub last_delivery: Percentiles,
    pub consistency: Consistency,
    pub drain_secs: f64,
    pub drained: bool,
    /// At a set rate (`--rate`), the messages per second asked for, to set
    /// beside `sent_per_sec`.
    pub offered_per_sec: Option<f64>,
    /// Paced sends skipped because the window was full, and written more
    /// than 1 ms after their scheduled time, over the whole run.
    pub stalls: u64,
    pub late_sends: u64,
    pub errors: BTreeMap<String, u64>,
    pub server_process: Option<ProcFigures>,
    pub client_process: Option<ProcFigures>,
    pub machine: Option<MachineFigures>,
    pub server_log: Option<LogSummary>,
}

/// Time spent before the measured run.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Setup {
    pub register_secs: f64,
    pub channels_secs: f64,
    pub connect_secs: f64,
}

impl Report {
    pub fn new(
        scenario: &str,
        server: &str,
        parameters: serde_json::Value,
        mut setup: Setup,
        run: RunResult,
        server_log: Option<LogSummary>,
    ) -> Report {
        setup.connect_secs = run.connect_secs;
        let (sent, acked, delivered) = run.end.rates_since(&run.start);
        let per_sec = |n: u64| n as f64 / run.window_secs.max(1e-6);
        let (server_stored, server_events, server_delivered) = match run.server_counters {
            Some((a, b)) => (
                Some(per_sec(b.messages_stored.saturating_sub(a.messages_stored))),
                Some(per_sec(b.events_stored.saturating_sub(a.events_stored))),
                Some(per_sec(b.events_delivered.saturating_sub(a.events_delivered))),
            ),
            None => (None, None, None),
        };
        Report {
            scenario: scenario.to_owned(),
            server: server.to_owned(),
            sessions: run.sessions,
            senders: run.senders,
            setup,
            window_secs: run.window_secs,
            sent_per_sec: sent,
            changes_per_sec: per_sec(run.end.changes_sent.saturating_sub(run.start.changes_sent)),
            acked_per_sec: acked,
            deliveries_per_sec: delivered,
            server_stored_per_sec: server_stored,
            server_events_per_sec: server_events,
            server_delivered_per_sec: server_delivered,
            ack_latency: run.ack,
            change_latency: run.consistency.changes.map(|_| run.change),
            deliver_latency: run.deliver,
            last_delivery: run.last_delivery,
            consistency: run.consistency,
            drain_secs: run.drain_secs,
            drained: run.drained,
            offered_per_sec: parameters["load"]["rate"].as_f64().filter(|rate| *rate > 0.0),
            stalls: run.end.stalls,
            late_sends: run.end.late,
            parameters,
            errors: run.errors,
            server_process: run.server,
            client_process: run.client,
            machine: run.machine,
            server_log,
        }
    }
}

/// Writes `value` as pretty JSON to `path`.
pub fn write_json(path: &Path, value: &impl Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} against {}: {} sessions, {} senders", self.scenario, self.server, self.sessions, self.senders)?;
        writeln!(
            f,
            "  setup: register {:.1} s, channels {:.1} s, connect {:.1} s; window {:.1} s, drain {:.1} s{}",
            self.setup.register_secs,
            self.setup.channels_secs,
            self.setup.connect_secs,
            self.window_secs,
            self.drain_secs,
            if self.drained { "" } else { " (timed out)" }
        )?;
        let server_rate = |r: Option<f64>| r.map_or(String::new(), |r| format!("   (server /metrics: {r:.0}/s)"));
        writeln!(f, "  {:<22}{:>12.0}/s", "sent", self.sent_per_sec)?;
        if self.consistency.changes.is_some() {
            writeln!(f, "  {:<22}{:>12.0}/s", "edits and reactions", self.changes_per_sec)?;
        }
        writeln!(
            f,
            "  {:<22}{:>12.0}/s{}",
            "acked (stored)",
            self.acked_per_sec,
            server_rate(self.server_stored_per_sec)
        )?;
        if let (Some(_), Some(events)) = (self.consistency.changes, self.server_events_per_sec) {
            writeln!(
                f,
                "  {:<22}{:>12.0}/s   (server /metrics: messages, edits and reactions)",
                "events stored", events
            )?;
        }
        writeln!(
            f,
            "  {:<22}{:>12.0}/s{}",
            "deliveries",
            self.deliveries_per_sec,
            server_rate(self.server_delivered_per_sec)
        )?;
        writeln!(
            f,
            "  {:<22}{:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}",
            "latency (ms)", "p50", "p90", "p99", "p99.9", "max", "mean", "count"
        )?;
        let change = self.change_latency.as_ref().map(|p| ("change answered", p));
        for (name, p) in [
            ("ack", &self.ack_latency),
            ("send→deliver", &self.deliver_latency),
            ("last delivery", &self.last_delivery),
        ]
        .into_iter()
        .chain(change)
        {
            writeln!(
                f,
                "  {name:<22}{:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>10}",
                p.p50_ms, p.p90_ms, p.p99_ms, p.p999_ms, p.max_ms, p.mean_ms, p.count
            )?;
        }
        let c = &self.consistency;
        writeln!(
            f,
            "  messages: {} acked, {} failed, {} unknown; deliveries owed {}, received {}",
            c.acked, c.failed, c.unknown, c.owed, c.received
        )?;
        if let Some(ch) = &c.changes {
            writeln!(
                f,
                "  changes: {} sent, {} stored, {} unchanged, {} failed; their events owed {}, received {}",
                ch.sent, ch.stored, ch.unchanged, ch.failed, ch.owed, ch.received
            )?;
        }
        writeln!(
            f,
            "  consistency: missing {}, duplicates {}, incomplete messages {}, seq gaps {}, seq regressions {}, unacked delivered {}, stray {} → {}",
            c.missing,
            c.duplicates,
            c.incomplete_messages,
            c.seq_gaps,
            c.seq_regressions,
            c.unacked_delivered,
            c.stray,
            if c.consistent { "CONSISTENT" } else { "INCONSISTENT" }
        )?;
        if let Some(offered) = self.offered_per_sec {
            // Below 98 % of the schedule the run measured a lower rate than asked.
            let sent = self.sent_per_sec + self.changes_per_sec;
            let behind = if sent < offered * 0.98 { " — FELL BEHIND its schedule" } else { "" };
            writeln!(
                f,
                "  schedule: offered {offered:.0}/s, sent {sent:.0}/s; {} sends late by over 1 ms, {} skipped (window full){behind}",
                self.late_sends, self.stalls
            )?;
        } else if self.stalls > 0 {
            writeln!(f, "  paced sends skipped (window full): {}", self.stalls)?;
        }
        if !self.errors.is_empty() {
            let list: Vec<String> = self.errors.iter().map(|(what, n)| format!("{what}: {n}")).collect();
            writeln!(f, "  errors: {}", list.join(", "))?;
        }
        for (name, p) in [("server", &self.server_process), ("client", &self.client_process)] {
            if let Some(p) = p {
                writeln!(
                    f,
                    "  {name} process: CPU {:.0}% of one core, RSS {:.1} → {:.1} MiB (peak {:.1})",
                    p.cpu_percent, p.rss_start_mib, p.rss_end_mib, p.rss_peak_mib
                )?;
            }
        }
        if let Some(m) = &self.machine {
            let others = m.others_cpu_percent.map_or(String::new(), |o| format!(", other processes {o:.0}%"));
            writeln!(f, "  machine: CPU {:.0}% of {}%{others}", m.cpu_percent, 100 * m.cores)?;
        }
        if let Some(log) = &self.server_log {
            writeln!(
                f,
                "  server log: {} WARN, {} ERROR, {} slow-session closes",
                log.warn, log.error, log.slow_session_closes
            )?;
            for line in &log.examples {
                writeln!(f, "    {line}")?;
            }
        }
        Ok(())
    }
}
