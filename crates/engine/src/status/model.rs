//! What the status service hands out: each VM's status, the fleet's, changes, history.

use crate::vm::VmId;
use serde::Serialize;
use std::collections::HashMap;
pub use vmo_status::{Breach, Health, Metric, Reading};

/// Why the last probe failed, in the SSH engine's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeError {
    /// `SshErrorKind::as_str` ("refused", "host_key_unknown", …), or "timeout" / "probe".
    pub code: String,
    pub message: String,
}

impl ProbeError {
    /// The host's key is not in known_hosts: it was never logged in to, so never probed.
    pub fn untrusted_key(&self) -> bool {
        self.code == crate::ssh::SshErrorKind::HostKeyUnknown.as_str()
    }
}

/// One VM's live status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VmStatus {
    pub vm: VmId,
    pub health: Health,
    /// When `health` last changed (ms since the epoch).
    pub since_ms: i64,
    /// When the last probe ended; None: never probed.
    pub checked_ms: Option<i64>,
    pub last_ok_ms: Option<i64>,
    /// The last probe's round trip (also kept from the last success while offline).
    pub latency_ms: Option<u32>,
    /// The last successful reading.
    pub reading: Option<Reading>,
    /// CPU busy between the last two successful probes.
    pub cpu_pct: Option<f64>,
    pub breaches: Vec<Breach>,
    /// Why it is offline.
    pub error: Option<ProbeError>,
    /// Failed probes in a row.
    pub failures: u32,
}

impl VmStatus {
    /// Never probed.
    pub fn unknown(vm: VmId) -> Self {
        Self {
            vm,
            health: Health::Unknown,
            since_ms: 0,
            checked_ms: None,
            last_ok_ms: None,
            latency_ms: None,
            reading: None,
            cpu_pct: None,
            breaches: Vec::new(),
            error: None,
            failures: 0,
        }
    }

    /// A figure to sort or colour by (None: not known).
    pub fn metric(&self, metric: Metric) -> Option<f64> {
        let reading = self.reading.as_ref();
        match metric {
            Metric::Latency => self.latency_ms.map(f64::from),
            Metric::Load => reading.and_then(|r| r.load).map(|l| l[0]),
            Metric::Cpu => self.cpu_pct,
            Metric::Memory => reading.and_then(|r| r.memory).map(|m| m.pct()),
            Metric::Disk => reading.and_then(|r| r.disk).map(|d| d.pct()),
        }
    }

    /// Known to be unreachable or not probeable: offline, or unknown because probing
    /// failed (a host key nobody trusted yet). What `vmo status` fails on.
    pub fn unreachable(&self) -> bool {
        self.health == Health::Offline || (self.health == Health::Unknown && self.error.is_some())
    }

    /// One line on why it looks the way it does: the error, the breaches, or nothing.
    pub fn reason(&self) -> Option<String> {
        if let Some(error) = &self.error {
            return Some(error.message.clone());
        }
        (!self.breaches.is_empty()).then(|| {
            self.breaches
                .iter()
                .map(Breach::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        })
    }
}

/// Every VM's status as the monitor last saw it. A VM missing here is unknown.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FleetStatus {
    pub vms: HashMap<VmId, VmStatus>,
    /// Probing is paused (the last statuses stay as they were).
    pub paused: bool,
    /// VMs not probed because of their tags (probing off).
    pub off: Vec<VmId>,
}

/// How many VMs are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub online: usize,
    pub degraded: usize,
    pub offline: usize,
    pub unknown: usize,
}

impl Counts {
    pub fn of(&self, health: Health) -> usize {
        match health {
            Health::Online => self.online,
            Health::Degraded => self.degraded,
            Health::Offline => self.offline,
            Health::Unknown => self.unknown,
        }
    }

    /// "42 online · 2 degraded · 1 offline" (states with no VM left out; unknown last).
    pub fn summary(&self) -> String {
        let parts: Vec<String> = [
            Health::Online,
            Health::Degraded,
            Health::Offline,
            Health::Unknown,
        ]
        .into_iter()
        .filter(|h| self.of(*h) > 0)
        .map(|h| format!("{} {}", self.of(h), h.as_str()))
        .collect();
        if parts.is_empty() {
            "no VMs".into()
        } else {
            parts.join(" · ")
        }
    }
}

impl FleetStatus {
    pub fn get(&self, vm: VmId) -> Option<&VmStatus> {
        self.vms.get(&vm)
    }

    pub fn health(&self, vm: VmId) -> Health {
        self.vms.get(&vm).map_or(Health::Unknown, |s| s.health)
    }

    /// Counts over `vms` (the inventory), so deleted VMs never count.
    pub fn counts(&self, vms: impl IntoIterator<Item = VmId>) -> Counts {
        let mut counts = Counts::default();
        for vm in vms {
            match self.health(vm) {
                Health::Online => counts.online += 1,
                Health::Degraded => counts.degraded += 1,
                Health::Offline => counts.offline += 1,
                Health::Unknown => counts.unknown += 1,
            }
        }
        counts
    }
}

/// A VM's status changed (announced once the change is recorded).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusChange {
    pub vm: VmId,
    pub name: String,
    pub from: Health,
    pub to: Health,
    /// What it crossed (to degraded), or why it is offline.
    pub reason: Option<String>,
    /// Limits crossed now that were not before (a degraded VM getting worse).
    pub new_breaches: Vec<Metric>,
}

/// A chart's time span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Span {
    Hour,
    Day,
    Week,
}

impl Span {
    pub const ALL: [Span; 3] = [Self::Hour, Self::Day, Self::Week];

    pub fn millis(self) -> i64 {
        match self {
            Self::Hour => 3_600_000,
            Self::Day => 86_400_000,
            Self::Week => 7 * 86_400_000,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Hour => "1 h",
            Self::Day => "24 h",
            Self::Week => "7 d",
        }
    }
}

/// One point of a chart: a sample (min = avg = max) or a bucket of them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    pub at_ms: i64,
    pub min: f64,
    pub avg: f64,
    pub max: f64,
}

/// A VM's figures over a span, oldest first. Points exist only where the VM answered;
/// `reached` says, per sample or bucket, what share of probes got an answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct History {
    pub latency: Vec<Point>,
    pub load: Vec<Point>,
    pub cpu: Vec<Point>,
    pub memory: Vec<Point>,
    pub disk: Vec<Point>,
    pub reached: Vec<(i64, f64)>,
}

impl History {
    pub fn series(&self, metric: Metric) -> &[Point] {
        match metric {
            Metric::Latency => &self.latency,
            Metric::Load => &self.load,
            Metric::Cpu => &self.cpu,
            Metric::Memory => &self.memory,
            Metric::Disk => &self.disk,
        }
    }
}
