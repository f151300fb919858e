//! Benchmarks only: with `VMO_STATUS_SIM=1` the UI follows a made-up fleet instead of the
//! engine's monitor — every VM of the inventory gets a new state and new figures every
//! second — to measure the UI at 1,000 VMs without 1,000 servers.

use dioxus::prelude::*;
use std::sync::Arc;
use std::time::Duration;
use vmo_engine::inventory::Inventory;
use vmo_engine::jobs::now_ms;
use vmo_engine::status::{FleetStatus, Health, ProbeError, Reading, VmStatus};
use vmo_engine::vm::VmId;

pub const STATUS_SIM_ENV: &str = "VMO_STATUS_SIM";

pub fn enabled() -> bool {
    std::env::var_os(STATUS_SIM_ENV).is_some()
}

pub async fn run(inventory: Inventory, mut fleet: Signal<Arc<FleetStatus>>) {
    for round in 0u64.. {
        let vms = inventory.list().await.unwrap_or_default();
        let now = now_ms();
        let next = FleetStatus {
            vms: vms
                .iter()
                .map(|vm| (vm.id, fake(vm.id, round, now)))
                .collect(),
            ..FleetStatus::default()
        };
        fleet.set(Arc::new(next));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// A figure in [0, 1) that differs per VM and round.
fn noise(vm: VmId, round: u64, salt: u64) -> f64 {
    let mut x = (vm.0 as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(round.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(salt);
    x ^= x >> 31;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

fn fake(vm: VmId, round: u64, now: i64) -> VmStatus {
    let mut s = VmStatus::unknown(vm);
    s.checked_ms = Some(now);
    s.since_ms = now;
    s.health = match noise(vm, round, 1) {
        r if r < 0.05 => Health::Offline,
        r if r < 0.15 => Health::Degraded,
        _ => Health::Online,
    };
    s.latency_ms = Some((5.0 + noise(vm, round, 2) * 200.0) as u32);
    if s.health == Health::Offline {
        s.error = Some(ProbeError {
            code: "refused".into(),
            message: "connection refused (simulated)".into(),
        });
        return s;
    }
    s.last_ok_ms = Some(now);
    s.cpu_pct = Some(noise(vm, round, 3) * 100.0);
    let gib = (1u64 << 30) as f64;
    // Built from JSON: the engine does not re-export the `Usage` type (nor need to).
    let reading = serde_json::json!({
        "load": [noise(vm, round, 4) * 4.0, 1.0, 0.5],
        "cpu_count": 4,
        "memory": { "used": (noise(vm, round, 5) * 16.0 * gib) as u64, "total": (16.0 * gib) as u64 },
        "disk": { "used": (noise(vm, round, 6) * 100.0 * gib) as u64, "total": (100.0 * gib) as u64 },
        "uptime_secs": 86_400 + round,
    });
    s.reading = serde_json::from_value::<Reading>(reading).ok();
    s
}
