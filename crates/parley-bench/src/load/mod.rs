//! The load generator's parts, shared by every scenario:
//!
//! - [`target`]: the server under load, by URL or started here;
//! - [`api`] and [`setup`]: accounts and channels over REST;
//! - [`plan`], [`client`], [`session`] and [`wire`]: what each session is
//!   to do, opening it, driving it, and its frames; [`changes`]: the edits
//!   and reactions a sender mixes in;
//! - [`shared`]: what a run's sessions share; [`run`]: one run, from
//!   connecting to the drain, with its [`progress`] line;
//! - [`stats`], [`check`], [`procstat`]: counters and latencies, the
//!   consistency verdict, the processes' CPU and memory; [`limits`]: what
//!   the machine lets a run open;
//! - [`report`]: the table and the JSON; [`plot`]: SVG charts.

pub mod api;
pub mod changes;
pub mod check;
pub mod client;
pub mod limits;
pub mod plan;
pub mod plot;
pub mod procstat;
pub mod progress;
pub mod report;
pub mod run;
pub mod session;
pub mod setup;
pub mod shared;
pub mod stats;
pub mod target;
pub mod wire;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use plan::{Flow, SERVER_IN_FLIGHT};

/// How hard and how long every scenario drives its senders.
#[derive(Debug, Clone, Args, Serialize)]
pub struct LoadArgs {
    /// Messages per second, all senders together; 0 = as fast as the window allows.
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Seconds measured, after the warm-up.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds of sending before measuring.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// At most this many seconds, after the senders stop, for the last acks and deliveries.
    #[arg(long, default_value_t = 10.0)]
    pub drain: f64,
    /// Per sender: sends not yet acked (throughput; the server allows 64), or
    /// messages not yet delivered to every member (fan-out at --rate 0).
    #[arg(long, default_value_t = 32)]
    pub window: usize,
    /// Bytes of each message body (the send time, then padding).
    #[arg(long, default_value_t = 64)]
    pub body_size: usize,
    /// Sessions connecting and saying hello at once.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// Spread the client sockets over 127.0.0.1 ..= 127.0.0.K: one source
    /// address has about 28,000 ephemeral ports towards one server.
    #[arg(long, default_value_t = 1)]
    pub source_addresses: u8,
    /// Before sending, wait up to this many seconds for the machine to be
    /// idle (under 15% of one core busy, the server and this client quiet).
    #[arg(long, default_value_t = 0.0, value_name = "SECS")]
    pub wait_idle: f64,
    /// Also write every figure as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

impl LoadArgs {
    pub fn warmup(&self) -> Duration {
        Duration::from_secs_f64(self.warmup.max(0.0))
    }

    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.duration.max(0.1))
    }

    pub fn wait_idle(&self) -> Duration {
        Duration::from_secs_f64(self.wait_idle.max(0.0))
    }

    pub fn drain(&self) -> Duration {
        Duration::from_secs_f64(self.drain.max(0.0))
    }

    /// The flow of sender `index` of `senders`: paced when a rate is set
    /// (first ticks spread over one period, so senders do not send in step),
    /// else as fast as acks allow, or as fast as deliveries complete.
    pub fn flow(&self, index: usize, senders: usize, by_completion: bool) -> Flow {
        let window = self.window.clamp(1, SERVER_IN_FLIGHT);
        if self.rate > 0.0 {
            let period = Duration::from_secs_f64(senders as f64 / self.rate);
            let offset = period.mul_f64(index as f64 / senders.max(1) as f64);
            Flow::Paced { period, offset, window }
        } else if by_completion {
            Flow::Completions { window }
        } else {
            Flow::Acks { window }
        }
    }

    /// The local address session `index` binds to, when spreading.
    pub fn source(&self, index: usize) -> Option<IpAddr> {
        source_address(self.source_addresses, index)
    }
}

/// Of `spread` loopback addresses 127.0.0.1 ..= 127.0.0.`spread`, the one
/// socket `index` binds to; `None` (the OS picks) when `spread` is 0 or 1.
pub fn source_address(spread: u8, index: usize) -> Option<IpAddr> {
    (spread > 1).then(|| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (index % usize::from(spread)) as u8)))
}
