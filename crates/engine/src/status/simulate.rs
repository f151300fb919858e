//! Simulated status for benchmarks: every VM gets a new status and new figures every
//! second, published like a probe round's but never recorded. It measures how the front
//! ends cope with a large fleet changing at once (`VMO_SIMULATE_STATUS=1` in the app).

use super::model::{Health, ProbeError, VmStatus};
use super::Status;
use crate::jobs::now_ms;
use std::sync::Arc;
use std::time::Duration;
use vmo_status::{Reading, Usage};

/// Environment variable that makes the desktop app simulate status instead of probing.
pub const SIMULATE_ENV: &str = "VMO_SIMULATE_STATUS";

impl Status {
    /// Starts the simulation (instead of [`Status::start_monitor`]); runs until the
    /// process ends.
    pub fn start_simulation(&self) {
        let status = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut round: u64 = 0;
            loop {
                tick.tick().await;
                round += 1;
                let Ok(vms) = status.inner.inventory.list().await else {
                    continue;
                };
                let now = now_ms();
                status.inner.fleet.send_modify(|fleet| {
                    let fleet = Arc::make_mut(fleet);
                    for vm in &vms {
                        fleet
                            .vms
                            .insert(vm.id, simulated(vm.id.0 as u64, round, now));
                    }
                });
            }
        });
    }
}

/// A deterministic but busy pattern: about 85 % online, 10 % degraded, 5 % offline, each
/// VM moving between them from one round to the next.
fn simulated(vm: u64, round: u64, now: i64) -> VmStatus {
    let roll = (vm
        .wrapping_mul(2_654_435_761)
        .wrapping_add(round.wrapping_mul(40_503)))
        % 100;
    let health = match roll {
        0..5 => Health::Offline,
        5..15 => Health::Degraded,
        _ => Health::Online,
    };
    let mut status = VmStatus::unknown(crate::vm::VmId(vm as i64));
    status.health = health;
    status.since_ms = now;
    status.checked_ms = Some(now);
    if health == Health::Offline {
        status.error = Some(ProbeError {
            code: "simulated".into(),
            message: "simulated: no answer".into(),
        });
        return status;
    }
    let pct = |salt: u64| (roll * 7 + salt * 13) % 100;
    status.latency_ms = Some(1 + (roll as u32 % 40));
    status.cpu_pct = Some(pct(1) as f64);
    status.reading = Some(Reading {
        load: Some([roll as f64 / 25.0, 1.0, 1.0]),
        cpu_count: Some(4),
        memory: Some(Usage {
            used: pct(2) << 30,
            total: 100 << 30,
        }),
        disk: Some(Usage {
            used: pct(3) << 30,
            total: 100 << 30,
        }),
        uptime_secs: Some(86_400 + round),
        os: Some("Simulated Linux".into()),
        ..Reading::default()
    });
    status
}
