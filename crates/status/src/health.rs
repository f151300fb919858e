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

/// A VM's status at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Unreachable: the SSH engine's reason says why.
    Offline,
    /// Reachable, with a threshold crossed.
    Degraded,
    Online,
    /// Never probed, or probing is off for it.
    Unknown,
}

impl Health {
    /// Worst first: how a list sorted by status reads.
    pub const ALL: [Health; 4] = [Self::Offline, Self::Degraded, Self::Online, Self::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Degraded => "degraded",
            Self::Online => "online",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.as_str() == s)
    }
}

/// Which limit a reading crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Latency,
    Load,
    Cpu,
    Memory,
    Disk,
}

impl Metric {
    pub const ALL: [Metric; 5] = [
        Self::Latency,
        Self::Load,
        Self::Cpu,
        Self::Memory,
        Self::Disk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Latency => "latency",
            Self::Load => "load",
            Self::Cpu => "cpu",
            Self::Memory => "memory",
            Self::Disk => "disk",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// One threshold crossed: the metric, its value and the limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    pub metric: Metric,
    pub value: f64,
    pub limit: f64,
}

impl std::fmt::Display for Breach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (v, l) = (self.value, self.limit);
        match self.metric {
            Metric::Latency => write!(f, "latency {v:.0} ms ≥ {l:.0} ms"),
            Metric::Load => write!(f, "load {v:.2} per CPU ≥ {l:.2}"),
            Metric::Cpu => write!(f, "CPU {v:.0}% ≥ {l:.0}%"),
            Metric::Memory => write!(f, "memory {v:.0}% ≥ {l:.0}%"),
            Metric::Disk => write!(f, "disk {v:.0}% ≥ {l:.0}%"),
        }
    }
}

/// The figures thresholds apply to; absent ones cross nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    pub latency_ms: f64,
    pub load_per_cpu: Option<f64>,
    pub memory_pct: Option<f64>,
    pub disk_pct: Option<f64>,
}

impl Thresholds {
    /// Every limit these figures reach or pass, in [`Metric`] order.
    pub fn breaches(&self, figures: &Figures) -> Vec<Breach> {
        let checks = [
            (
                Metric::Latency,
                Some(figures.latency_ms),
                self.latency_ms as f64,
            ),
            (Metric::Load, figures.load_per_cpu, self.load_per_cpu),
            (Metric::Memory, figures.memory_pct, self.memory_pct),
            (Metric::Disk, figures.disk_pct, self.disk_pct),
        ];
        checks
            .into_iter()
            .filter_map(|(metric, value, limit)| {
                let value = value?;
                (value >= limit).then_some(Breach {
                    metric,
                    value,
                    limit,
                })
            })
            .collect()
    }

    /// Online or degraded, for a VM that answered.
    pub fn judge(&self, figures: &Figures) -> (Health, Vec<Breach>) {
        let breaches = self.breaches(figures);
        let health = if breaches.is_empty() {
            Health::Online
        } else {
            Health::Degraded
        };
        (health, breaches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(latency: f64, load: f64, mem: f64, disk: f64) -> Figures {
        Figures {
            latency_ms: latency,
            load_per_cpu: Some(load),
            memory_pct: Some(mem),
            disk_pct: Some(disk),
        }
    }

    #[test]
    fn below_every_limit_is_online() {
        let t = Thresholds::default();
        assert_eq!(
            t.judge(&figures(20.0, 0.5, 40.0, 50.0)),
            (Health::Online, vec![])
        );
    }

    #[test]
    fn each_limit_reached_degrades_and_says_which() {
        let t = Thresholds::default();
        let (health, breaches) = t.judge(&figures(1500.0, 2.5, 95.0, 90.0));
        assert_eq!(health, Health::Degraded);
        let metrics: Vec<Metric> = breaches.iter().map(|b| b.metric).collect();
        assert_eq!(
            metrics,
            [Metric::Latency, Metric::Load, Metric::Memory, Metric::Disk]
        );
        // Reaching the limit counts: 90% of 90% is a breach.
        assert_eq!(breaches[3].value, 90.0);
        assert_eq!(breaches[3].to_string(), "disk 90% ≥ 90%");
        assert_eq!(breaches[1].to_string(), "load 2.50 per CPU ≥ 2.00");
    }

    #[test]
    fn absent_figures_cross_nothing() {
        // A BSD host: latency only.
        let t = Thresholds::default();
        let f = Figures {
            latency_ms: 10.0,
            ..Figures::default()
        };
        assert_eq!(t.judge(&f), (Health::Online, vec![]));
    }

    #[test]
    fn custom_limits_apply() {
        let t = Thresholds {
            disk_pct: 50.0,
            ..Thresholds::default()
        };
        let (health, breaches) = t.judge(&figures(1.0, 0.1, 10.0, 60.0));
        assert_eq!(health, Health::Degraded);
        assert_eq!(breaches.len(), 1);
        assert_eq!(breaches[0].metric, Metric::Disk);
    }

    #[test]
    fn status_names_round_trip_and_sort_worst_first() {
        for h in Health::ALL {
            assert_eq!(Health::parse(h.as_str()), Some(h));
        }
        let mut hs = vec![
            Health::Unknown,
            Health::Online,
            Health::Offline,
            Health::Degraded,
        ];
        hs.sort();
        assert_eq!(hs, Health::ALL);
    }
}
