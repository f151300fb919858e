//! When each VM is probed next: every interval (with jitter, so a thousand hosts are not
//! asked in the same second), and less and less often while it stays offline. Time is
//! passed in as milliseconds, so the rules are tested without waiting.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Duration;

/// The longest wait between two probes of an offline host (unless the interval is longer).
pub const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// Jitter: a delay is stretched or shrunk by up to this fraction.
const JITTER: f64 = 0.1;

/// The wait before the next probe of a host that failed `failures` times in a row: the
/// interval, doubled from the second failure on, capped at [`MAX_BACKOFF`] (or the
/// interval if longer). `jitter` in [0, 1) picks a point within ±10 %.
pub fn next_delay(interval: Duration, failures: u32, jitter: f64) -> Duration {
    let cap = MAX_BACKOFF.max(interval);
    let doublings = failures.saturating_sub(1).min(20);
    let base = interval.saturating_mul(1 << doublings).min(cap);
    let factor = 1.0 + (jitter.clamp(0.0, 1.0) - 0.5) * 2.0 * JITTER;
    base.mul_f64(factor)
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// When the next probe is due; None while one is running.
    due_ms: Option<u64>,
    failures: u32,
}

/// The next probe time of every VM.
#[derive(Debug)]
pub struct Schedule<K> {
    interval: Duration,
    entries: HashMap<K, Entry>,
}

impl<K: Hash + Eq + Clone> Schedule<K> {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            entries: HashMap::new(),
        }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// A new interval applies at once: nothing waits longer than it would have from now.
    pub fn set_interval(&mut self, interval: Duration, now_ms: u64) {
        self.interval = interval;
        for entry in self.entries.values_mut() {
            let delay = next_delay(interval, entry.failures, 0.5).as_millis() as u64;
            if let Some(due) = entry.due_ms.as_mut() {
                *due = (*due).min(now_ms + delay);
            }
        }
    }

    /// The hosts due at `now_ms` among `hosts` (others are forgotten: deleted VMs, VMs
    /// whose probing was turned off). New hosts are due at once. Hosts returned count as
    /// being probed until [`Schedule::probed`] says how it went.
    pub fn due(&mut self, now_ms: u64, hosts: impl IntoIterator<Item = K>) -> Vec<K> {
        let mut kept = HashMap::with_capacity(self.entries.len());
        let mut due = Vec::new();
        for host in hosts {
            let mut entry = self.entries.remove(&host).unwrap_or(Entry {
                due_ms: Some(now_ms),
                failures: 0,
            });
            if entry.due_ms.is_some_and(|d| d <= now_ms) {
                entry.due_ms = None;
                due.push(host.clone());
            }
            kept.insert(host, entry);
        }
        self.entries = kept;
        due
    }

    /// Records a probe's outcome and schedules the next one.
    pub fn probed(&mut self, host: &K, reached: bool, now_ms: u64, jitter: f64) {
        let interval = self.interval;
        if let Some(entry) = self.entries.get_mut(host) {
            entry.failures = if reached {
                0
            } else {
                entry.failures.saturating_add(1)
            };
            let delay = next_delay(interval, entry.failures, jitter).as_millis() as u64;
            entry.due_ms = Some(now_ms + delay);
        }
    }

    /// Makes a host due now (the user asked to probe it).
    pub fn probe_soon(&mut self, host: &K, now_ms: u64) {
        if let Some(entry) = self.entries.get_mut(host) {
            if let Some(due) = entry.due_ms.as_mut() {
                *due = now_ms;
            }
        }
    }

    /// Failed probes in a row.
    pub fn failures(&self, host: &K) -> u32 {
        self.entries.get(host).map_or(0, |e| e.failures)
    }

    /// When the host is due next (None: unknown, or being probed now).
    pub fn due_at(&self, host: &K) -> Option<u64> {
        self.entries.get(host).and_then(|e| e.due_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1000;

    #[test]
    fn delays_double_from_the_second_failure_and_stop_at_the_cap() {
        let i = Duration::from_secs(30);
        let secs = |f| next_delay(i, f, 0.5).as_secs();
        assert_eq!(
            [0, 1, 2, 3, 4, 5, 6, 7].map(secs),
            [30, 30, 60, 120, 240, 480, 600, 600]
        );
        assert_eq!(secs(u32::MAX), 600);
        // An interval longer than the cap is never shortened.
        assert_eq!(
            next_delay(Duration::from_secs(3600), 9, 0.5).as_secs(),
            3600
        );
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let i = Duration::from_secs(100);
        assert_eq!(next_delay(i, 0, 0.0).as_secs(), 90);
        assert_eq!(next_delay(i, 0, 0.999_999).as_millis(), 109_999);
        assert_eq!(next_delay(i, 0, 7.0).as_secs(), 110);
    }

    #[test]
    fn offline_hosts_back_off_and_recover_at_once() {
        let mut s = Schedule::new(Duration::from_secs(30));
        let mut now = 0;
        assert_eq!(s.due(now, ["a", "b"]), ["a", "b"]);
        // Being probed: not due again however long it takes.
        assert!(s.due(now + 99 * S, ["a", "b"]).is_empty());
        s.probed(&"a", true, now, 0.5);
        s.probed(&"b", false, now, 0.5);
        // b fails on every probe: 30, 60, 120, 240 s between probes.
        let mut b_times = vec![];
        while now < 500 * S {
            now += S;
            for host in s.due(now, ["a", "b"]) {
                if host == "b" {
                    b_times.push(now / S);
                }
                s.probed(&host, host == "a", now, 0.5);
            }
        }
        assert_eq!(b_times, [30, 90, 210, 450]);
        assert_eq!(s.failures(&"b"), 5);
        // a was probed every 30 s all along.
        assert_eq!(s.due_at(&"a"), Some(510 * S));
        // b answers again: back to the plain interval.
        s.probed(&"b", true, now, 0.5);
        assert_eq!(s.failures(&"b"), 0);
        assert_eq!(s.due_at(&"b"), Some(now + 30 * S));
    }

    #[test]
    fn a_shorter_interval_applies_at_once_and_removed_hosts_are_forgotten() {
        let mut s = Schedule::new(Duration::from_secs(300));
        s.due(0, ["a", "b"]);
        s.probed(&"a", true, 0, 0.5);
        s.probed(&"b", true, 0, 0.5);
        assert_eq!(s.due_at(&"a"), Some(300 * S));
        s.set_interval(Duration::from_secs(10), 5 * S);
        assert_eq!(s.due_at(&"a"), Some(15 * S));
        assert_eq!(s.due(15 * S, ["a"]), ["a"]);
        assert_eq!(s.due_at(&"b"), None, "b left the fleet");
        s.probe_soon(&"a", 16 * S);
        assert_eq!(s.due_at(&"a"), None, "being probed: not rescheduled");
    }
}
