//! The app's lag probe (`VMO_LAG_PROBE`) as the UI benchmarks read it, and their bound.

use std::path::Path;
use std::time::{Duration, Instant};

/// The longest the UI's event loop may be busy in one turn. Release (what ships, what
/// `bench/run --ui` builds): 50 ms, the target. Debug (these benchmarks run by hand with
/// `--ignored`): the longest turns measured were 327 ms (20 hosts streaming) and 316 ms
/// (opening the 1,000-row VM list); busy time is the loop thread's own CPU time, which a
/// busy machine hardly moves, so about twice that. It still fails a loop held for seconds,
/// such as a million-line filter run on it (1.1 s in debug).
pub const BUSY_BOUND_MS: f64 = if cfg!(debug_assertions) { 700.0 } else { 50.0 };

/// The probe lists at most this many stretches (the latest).
const LISTED: usize = 1000;

pub fn unix_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// One report of the probe.
pub struct LagReport {
    /// The figures since launch (`busy_max_ms=… … samples=…`).
    pub figures: String,
    written_at: u128,
    /// Busy stretches over 50 ms: (when each ended, unix ms; how long, ms).
    stalls: Vec<(u128, f64)>,
}

impl LagReport {
    /// Waits (bounded) for a report written after `after` (unix ms), so that it covers
    /// everything before.
    pub fn after(file: &Path, after: u128) -> LagReport {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            if let Some(report) = LagReport::parse(&text) {
                if report.written_at > after {
                    return report;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the lag probe wrote nothing after {after} into {}: {text:?}",
                file.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn parse(text: &str) -> Option<LagReport> {
        let (figures, rest) = text.trim().split_once(" written_at_unix_ms=")?;
        let (written_at, rest) = rest.split_once(' ')?;
        let list = rest
            .strip_prefix("busy_stalls_at_unix_ms=[")?
            .strip_suffix(']')?;
        let stalls = list
            .split_whitespace()
            .map(|stall| {
                let (at, ms) = stall.split_once(':')?;
                Some((at.parse().ok()?, ms.strip_suffix("ms")?.parse().ok()?))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(LagReport {
            figures: figures.to_string(),
            written_at: written_at.parse().ok()?,
            stalls,
        })
    }

    /// The busy stretches over 50 ms that ended from `from` to a second after `to` (what
    /// began in the window may end just after it).
    pub fn stalls_between(&self, from: u128, to: u128) -> Vec<(u128, f64)> {
        self.stalls
            .iter()
            .copied()
            .filter(|(at, _)| (from..=to + 1000).contains(at))
            .collect()
    }

    /// "N busy stretches over 50 ms (longest X ms)" in the window, then the figures.
    pub fn summary(&self, from: u128, to: u128) -> String {
        let stalls = self.stalls_between(from, to);
        let longest = stalls.iter().map(|(_, ms)| *ms).fold(0.0, f64::max);
        format!(
            "{} busy stretches over 50 ms while measured (longest {longest:.1} ms); since launch: {}",
            stalls.len(),
            self.figures
        )
    }

    /// Fails unless the event loop was never busy longer than [`BUSY_BOUND_MS`] in one turn
    /// between `from` and `to`.
    pub fn assert_responsive(&self, from: u128, to: u128, what: &str) {
        let stalls = self.stalls_between(from, to);
        let complete =
            self.stalls.len() < LISTED || self.stalls.first().is_some_and(|s| s.0 < from);
        assert!(
            complete,
            "{what}: too many busy stretches over 50 ms to judge (the probe lists the last {LISTED})"
        );
        let over: Vec<&(u128, f64)> = stalls
            .iter()
            .filter(|(_, ms)| *ms > BUSY_BOUND_MS)
            .collect();
        assert!(
            over.is_empty(),
            "{what}: the UI's event loop was busy over {BUSY_BOUND_MS} ms in one turn: \
             {over:?} (end unix ms, ms); {}",
            self.summary(from, to)
        );
    }
}
