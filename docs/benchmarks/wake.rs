//! How long one thread takes to wake another on this machine: a ping-pong
//! over std's channels between two threads, pinned to CPUs 0 and 1 (or both
//! to CPU 0), with an idle gap before each ping. Not part of the workspace;
//! see docs/benchmarks.md ("What the p50 is made of").
//!
//!     rustc -O docs/benchmarks/wake.rs -o /tmp/wake-bench
//!     for gap in 0 100 1000 10000; do /tmp/wake-bench $gap; /tmp/wake-bench $gap same; done

use std::sync::mpsc;
use std::time::{Duration, Instant};

extern "C" {
    fn sched_setaffinity(pid: i32, size: usize, mask: *const u64) -> i32;
}

fn pin(cpu: usize) {
    let mut mask = [0u64; 16];
    mask[cpu / 64] = 1 << (cpu % 64);
    // SAFETY: the mask is 128 bytes long, as passed.
    assert_eq!(unsafe { sched_setaffinity(0, 128, mask.as_ptr()) }, 0, "cannot pin to CPU {cpu}");
}

fn main() {
    let gap: u64 = std::env::args().nth(1).map_or(1000, |s| s.parse().expect("a gap in µs"));
    let other = if std::env::args().nth(2).as_deref() == Some("same") { 0 } else { 1 };
    let (ping, pings) = mpsc::channel::<Instant>();
    let (pong, pongs) = mpsc::channel::<Duration>();
    std::thread::spawn(move || {
        pin(other);
        while let Ok(sent) = pings.recv() {
            pong.send(sent.elapsed()).unwrap();
        }
    });
    pin(0);
    let (mut one_way, mut round_trip) = (Vec::new(), Vec::new());
    for _ in 0..2000 {
        std::thread::sleep(Duration::from_micros(gap));
        let sent = Instant::now();
        ping.send(sent).unwrap();
        one_way.push(pongs.recv().unwrap());
        round_trip.push(sent.elapsed());
    }
    one_way.sort();
    round_trip.sort();
    let at = |v: &[Duration], q: f64| v[(v.len() as f64 * q) as usize];
    println!(
        "gap {gap} µs, CPUs 0 and {other}: one way p50 {:.1?} p90 {:.1?}, round trip p50 {:.1?} p90 {:.1?}",
        at(&one_way, 0.5),
        at(&one_way, 0.9),
        at(&round_trip, 0.5),
        at(&round_trip, 0.9)
    );
}
