//! When a reachable VM counts as degraded: thresholds on load per CPU, memory, disk and
//! latency.

use serde::{Deserialize, Serialize};

/// Limits beyond which an online VM is shown as degraded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// 1-minute load average divided by the CPU count.
    pub load_per_cpu: f64,
    /// Memory in use, percent of total.
    pub memory_pct: f64,
    /// Root filesystem in use, percent of its size.
    pub disk_pct: f64,
    /// Probe round trip, milliseconds.
    pub latency_ms: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            load_per_cpu: 2.0,
            memory_pct: 90.0,
            disk_pct: 90.0,
            latency_ms: 1000,
        }
    }
}
