//! A probe's outcome turned into the VM's new status, its history sample, and the change
//! to announce, from its previous status and the thresholds. Pure, time passed in.

use super::model::{Health, ProbeError, StatusChange, VmStatus};
use super::probe::Answer;
use super::store::Sample;
use crate::vm::VmId;
use vmo_status::{Figures, Thresholds};

/// CPU busy is computed against a previous reading at most this old.
const CPU_DELTA_WITHIN_MS: i64 = 15 * 60_000;

pub struct Judged {
    pub status: VmStatus,
    pub sample: Sample,
    pub change: Option<StatusChange>,
}

pub fn judge(
    previous: Option<&VmStatus>,
    vm: VmId,
    name: &str,
    outcome: Result<Answer, ProbeError>,
    at_ms: i64,
    thresholds: &Thresholds,
) -> Judged {
    let previous = previous.cloned().unwrap_or_else(|| VmStatus::unknown(vm));
    let mut status = VmStatus {
        vm,
        checked_ms: Some(at_ms),
        ..previous.clone()
    };
    let sample = match outcome {
        Ok((reading, took)) => {
            let latency = took.as_secs_f64() * 1000.0;
            // Busy since the last reading, if it is recent enough to mean "now".
            let recent = previous
                .last_ok_ms
                .is_some_and(|t| at_ms - t <= CPU_DELTA_WITHIN_MS);
            let cpu_pct = match (&reading.cpu_times, previous.reading.as_ref()) {
                (Some(now), Some(before)) if recent => before
                    .cpu_times
                    .and_then(|before| now.busy_pct_since(&before)),
                _ => None,
            };
            let figures = Figures {
                latency_ms: latency,
                load_per_cpu: reading.load_per_cpu(),
                memory_pct: reading.memory.map(|m| m.pct()),
                disk_pct: reading.disk.map(|d| d.pct()),
            };
            let (health, breaches) = thresholds.judge(&figures);
            let sample = Sample {
                at_ms,
                reached: true,
                latency_ms: Some(latency),
                load: reading.load.map(|l| l[0]),
                cpu_pct,
                mem_pct: figures.memory_pct,
                disk_pct: figures.disk_pct,
            };
            status.health = health;
            status.breaches = breaches;
            status.latency_ms = Some(latency.round().min(f64::from(u32::MAX)) as u32);
            status.cpu_pct = cpu_pct;
            status.reading = Some(reading);
            status.error = None;
            status.failures = 0;
            status.last_ok_ms = Some(at_ms);
            sample
        }
        Err(error) => {
            // A key nobody trusted yet means we never logged in: the host may well be up,
            // so it is unknown (with the reason), not an offline alarm.
            status.health = if error.untrusted_key() {
                Health::Unknown
            } else {
                Health::Offline
            };
            status.breaches.clear();
            status.cpu_pct = None;
            status.error = Some(error);
            status.failures = previous.failures.saturating_add(1);
            Sample {
                at_ms,
                reached: false,
                latency_ms: None,
                load: None,
                cpu_pct: None,
                mem_pct: None,
                disk_pct: None,
            }
        }
    };
    let new_breaches: Vec<_> = status
        .breaches
        .iter()
        .map(|b| b.metric)
        .filter(|m| !previous.breaches.iter().any(|p| p.metric == *m))
        .collect();
    let moved = status.health != previous.health;
    if moved || previous.checked_ms.is_none() {
        // A new state, or the first probe: "since" starts now.
        status.since_ms = at_ms;
    }
    // Worth announcing: a new state, or a degraded VM crossing one more limit. The first
    // probe of a VM (from unknown) is news for the screen, not for a notification.
    let change = (moved || !new_breaches.is_empty()).then(|| StatusChange {
        vm,
        name: name.to_string(),
        from: previous.health,
        to: status.health,
        reason: status.reason(),
        new_breaches,
    });
    Judged {
        status,
        sample,
        change,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use vmo_status::{CpuTimes, Metric, Reading, Usage};

    fn reading(busy: u64, total: u64, disk_pct: u64) -> Reading {
        Reading {
            load: Some([0.5, 0.5, 0.5]),
            cpu_count: Some(2),
            cpu_times: Some(CpuTimes { busy, total }),
            memory: Some(Usage { used: 1, total: 4 }),
            disk: Some(Usage {
                used: disk_pct,
                total: 100,
            }),
            ..Reading::default()
        }
    }

    fn ok(r: Reading) -> Result<Answer, ProbeError> {
        Ok((r, Duration::from_millis(12)))
    }

    fn refused() -> Result<Answer, ProbeError> {
        Err(ProbeError {
            code: "refused".into(),
            message: "connection refused by 127.0.0.1:2222".into(),
        })
    }

    #[test]
    fn a_life_online_degraded_offline_and_back() {
        let t = Thresholds::default();
        let vm = VmId(7);
        let first = judge(None, vm, "web", ok(reading(100, 1000, 50)), 1000, &t);
        assert_eq!(first.status.health, Health::Online);
        assert_eq!(first.status.cpu_pct, None, "one reading has no delta");
        assert_eq!(first.sample.latency_ms, Some(12.0));
        assert_eq!(first.sample.mem_pct, Some(25.0));
        let change = first.change.unwrap();
        assert_eq!((change.from, change.to), (Health::Unknown, Health::Online));

        // The disk fills: degraded, with the reason; CPU from the counters' delta.
        let full = judge(
            Some(&first.status),
            vm,
            "web",
            ok(reading(400, 2000, 95)),
            2000,
            &t,
        );
        assert_eq!(full.status.health, Health::Degraded);
        assert_eq!(full.status.cpu_pct, Some(30.0));
        assert_eq!(full.status.since_ms, 2000);
        let change = full.change.unwrap();
        assert_eq!(change.new_breaches, [Metric::Disk]);
        assert_eq!(change.reason.as_deref(), Some("disk 95% ≥ 90%"));

        // Still full: no news.
        let same = judge(
            Some(&full.status),
            vm,
            "web",
            ok(reading(500, 3000, 96)),
            3000,
            &t,
        );
        assert!(same.change.is_none());
        assert_eq!(same.status.since_ms, 2000);

        // Down: offline with the SSH engine's reason; the last reading stays for display.
        let down = judge(Some(&same.status), vm, "web", refused(), 4000, &t);
        assert_eq!(down.status.health, Health::Offline);
        assert_eq!(down.status.failures, 1);
        assert!(down.status.reading.is_some());
        assert_eq!(down.status.last_ok_ms, Some(3000));
        assert!(!down.sample.reached);
        assert_eq!(
            down.change.unwrap().reason.as_deref(),
            Some("connection refused by 127.0.0.1:2222")
        );
        let still = judge(Some(&down.status), vm, "web", refused(), 5000, &t);
        assert_eq!(still.status.failures, 2);
        assert!(still.change.is_none());
        // An old reading does not make a CPU figure: it would be a day's average.
        let later = judge(
            Some(&first.status),
            vm,
            "web",
            ok(reading(900, 9000, 50)),
            999_999_999,
            &t,
        );
        assert_eq!(later.status.cpu_pct, None);

        // Back (disk cleaned up): online, failures reset, error gone.
        let back = judge(
            Some(&still.status),
            vm,
            "web",
            ok(reading(600, 4000, 40)),
            6000,
            &t,
        );
        assert_eq!(back.status.health, Health::Online);
        assert_eq!((back.status.failures, back.status.error.clone()), (0, None));
        let change = back.change.unwrap();
        assert_eq!((change.from, change.to), (Health::Offline, Health::Online));
    }
}
