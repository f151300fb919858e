//! A measuring probe for benchmarks: how long the UI's event loop is ever kept busy.
//!
//! With `VMO_LAG_PROBE=FILE`, a task on the virtual DOM's own scheduler (its own thread)
//! asks to wake every 10 ms. How late it wakes has two causes, told apart with the thread's
//! CPU clock (`CLOCK_THREAD_CPUTIME_ID`): the thread was *busy* (renders
//! and event handlers held the loop: ours to fix), or it was *waiting for a CPU* (the
//! machine was saturated). Every second it rewrites FILE with `busy_max_ms=… busy_p99_ms=…
//! busy_over_50ms=… late_max_ms=… late_p99_ms=… late_over_50ms=… samples=…
//! written_at_unix_ms=… busy_stalls_at_unix_ms=[…]`: figures since launch, when they were
//! written, and the latest busy stretches over 50 ms as `END_UNIX_MS:HELDms`, so a
//! benchmark can judge the stretch of time it measured.
//!
//! A benchmark measures one stretch at a time by creating `FILE.reset`: the probe starts
//! over from its next tick and removes that file, so the figures cover what followed.

use dioxus::prelude::*;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Environment variable naming the file the probe writes.
pub const LAG_PROBE_ENV: &str = "VMO_LAG_PROBE";

const TICK: Duration = Duration::from_millis(10);
/// A busy stretch longer than this is listed with the time it ended.
const STALL: Duration = Duration::from_millis(50);
/// How many of the latest such stretches are listed (older ones drop off).
const MAX_STALLS: usize = 1000;

fn unix_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

pub fn use_lag_probe() {
    use_future(|| async {
        let Some(file) = std::env::var_os(LAG_PROBE_ENV).map(PathBuf::from) else {
            return;
        };
        let reset = reset_file(&file);
        let mut late = Lag::default();
        let mut busy = Lag::default();
        let mut stalls: VecDeque<String> = VecDeque::new();
        let mut last_report = Instant::now();
        loop {
            if std::fs::remove_file(&reset).is_ok() {
                (late, busy, stalls) = (Lag::default(), Lag::default(), VecDeque::new());
            }
            let asked = Instant::now();
            let before = on_cpu();
            tokio::time::sleep(TICK).await;
            late.add(asked.elapsed().saturating_sub(TICK));
            if let (Some(a), Some(b)) = (before, on_cpu()) {
                let held = b.saturating_sub(a);
                busy.add(held);
                if held > STALL {
                    if stalls.len() == MAX_STALLS {
                        stalls.pop_front();
                    }
                    let ms = held.as_secs_f64() * 1e3;
                    stalls.push_back(format!("{}:{ms:.1}ms", unix_ms()));
                }
            }
            if last_report.elapsed() >= Duration::from_secs(1) {
                last_report = Instant::now();
                let listed: Vec<&str> = stalls.iter().map(String::as_str).collect();
                let report = format!(
                    "{} {} written_at_unix_ms={} busy_stalls_at_unix_ms=[{}]\n",
                    busy.report("busy"),
                    late.report("late"),
                    unix_ms(),
                    listed.join(" ")
                );
                let _ = std::fs::write(&file, report);
            }
        }
    });
}

/// The file whose appearance starts the figures over: `FILE.reset`.
fn reset_file(file: &std::path::Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".reset");
    PathBuf::from(name)
}

/// Lateness in whole milliseconds, as a histogram (bounded memory however long it runs).
struct Lag {
    /// `counts[ms]`; the last bucket holds everything from 1 s on.
    counts: Vec<u64>,
    max: Duration,
}

impl Default for Lag {
    fn default() -> Self {
        Self {
            counts: vec![0; 1001],
            max: Duration::ZERO,
        }
    }
}

impl Lag {
    fn add(&mut self, late: Duration) {
        let ms = (late.as_millis() as usize).min(self.counts.len() - 1);
        self.counts[ms] += 1;
        self.max = self.max.max(late);
    }

    fn report(&self, name: &str) -> String {
        let samples: u64 = self.counts.iter().sum();
        let mut seen = 0;
        let p99 = self
            .counts
            .iter()
            .position(|n| {
                seen += n;
                seen * 100 >= samples * 99
            })
            .unwrap_or(0);
        let over: u64 = self.counts.iter().skip(51).sum();
        format!(
            "{name}_max_ms={:.1} {name}_p99_ms={p99} {name}_over_50ms={over} samples={samples}",
            self.max.as_secs_f64() * 1e3
        )
    }
}

/// CPU time this thread has used so far. The one `unsafe` of the project: std has no
/// per-thread CPU clock, and the call is a plain syscall writing into our own struct.
#[allow(unsafe_code)]
fn on_cpu() -> Option<Duration> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec we pass, which outlives the call.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    (status == 0).then(|| Duration::new(now.tv_sec as u64, now.tv_nsec as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_max_p99_and_stalls() {
        let mut lag = Lag::default();
        for _ in 0..98 {
            lag.add(Duration::from_millis(1));
        }
        lag.add(Duration::from_millis(70));
        lag.add(Duration::from_millis(120));
        assert_eq!(
            lag.report("late"),
            "late_max_ms=120.0 late_p99_ms=70 late_over_50ms=2 samples=100"
        );
        assert!(on_cpu().is_some_and(|t| t > Duration::ZERO));
    }
}
