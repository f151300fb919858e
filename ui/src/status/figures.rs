//! A VM's status as the text people read: what rows, cells and tooltips show.

use vmo_engine::status::{Health, Metric, VmStatus};

/// What the VM list shows of one VM's status. Plain and comparable, so a row whose
/// figures did not change is not re-rendered when the fleet publishes a round.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub health: Health,
    /// Why it looks the way it does (the error, the thresholds crossed, or the state).
    pub reason: String,
    pub latency: String,
    pub load: String,
    pub cpu: String,
    pub memory: String,
    pub disk: String,
}

impl Figures {
    /// `off`: probing is off for this VM's tags.
    pub fn of(status: Option<&VmStatus>, off: bool) -> Self {
        let health = status.map_or(Health::Unknown, |s| s.health);
        let reason = reason(status, off);
        // An offline VM's last figures are old news: the list shows none.
        let live = status.filter(|s| s.health != Health::Offline);
        let figure = |metric: Metric| {
            live.and_then(|s| s.metric(metric))
                .map_or_else(|| "—".to_string(), |v| format_metric(metric, v))
        };
        Self {
            health,
            reason,
            latency: figure(Metric::Latency),
            load: figure(Metric::Load),
            cpu: figure(Metric::Cpu),
            memory: figure(Metric::Memory),
            disk: figure(Metric::Disk),
        }
    }

    /// One line for a tooltip: state, figures and reason.
    pub fn summary(&self, name: &str) -> String {
        let mut line = format!("{name}: {}", self.health.as_str());
        if self.health != Health::Offline && self.latency != "—" {
            line.push_str(&format!(
                " · {} · load {} · CPU {} · memory {} · disk {}",
                self.latency, self.load, self.cpu, self.memory, self.disk
            ));
        }
        if !self.reason.is_empty() && self.health != Health::Online {
            line.push_str(&format!(" — {}", self.reason));
        }
        line
    }
}

/// Why a VM has its state, in words; for online VMs, "online".
pub fn reason(status: Option<&VmStatus>, off: bool) -> String {
    if off {
        return "probing is off for its tags".into();
    }
    match status {
        None => "not probed yet".into(),
        Some(s) => s.reason().unwrap_or_else(|| match s.health {
            Health::Unknown => "not probed yet".into(),
            other => other.as_str().into(),
        }),
    }
}

pub fn format_metric(metric: Metric, value: f64) -> String {
    match metric {
        Metric::Latency => format!("{value:.0} ms"),
        Metric::Load => format!("{value:.2}"),
        Metric::Cpu | Metric::Memory | Metric::Disk => format!("{value:.0}%"),
    }
}

pub fn metric_label(metric: Metric) -> &'static str {
    match metric {
        Metric::Latency => "Latency",
        Metric::Load => "Load",
        Metric::Cpu => "CPU",
        Metric::Memory => "Memory",
        Metric::Disk => "Disk",
    }
}

/// Bytes in binary units: "512 MiB", "3.8 GiB".
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// "3 d 4 h", "5 h 12 min", "42 s".
pub fn format_span_secs(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min")
    } else {
        format!("{secs} s")
    }
}

/// "12 s ago", "3 min ago"; "just now" for the future (clocks differ a little).
pub fn format_ago(now_ms: i64, at_ms: i64) -> String {
    let secs = (now_ms - at_ms).max(0) / 1000;
    if secs < 2 {
        "just now".into()
    } else {
        format!("{} ago", format_span_secs(secs as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmo_engine::VmId;

    #[test]
    fn formats_people_read() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(3 * 1024 * 1024 * 1024 / 2), "1.5 GiB");
        assert_eq!(format_bytes(200 * 1024 * 1024), "200 MiB");
        assert_eq!(format_span_secs(42), "42 s");
        assert_eq!(format_span_secs(3 * 86_400 + 4 * 3600), "3 d 4 h");
        assert_eq!(format_ago(10_000, 9_500), "just now");
        assert_eq!(format_ago(200_000, 20_000), "3 min ago");
        assert_eq!(format_metric(Metric::Load, 0.5), "0.50");
        assert_eq!(format_metric(Metric::Disk, 45.4), "45%");
    }

    #[test]
    fn offline_shows_its_reason_and_no_stale_figures() {
        let mut s = VmStatus::unknown(VmId(1));
        s.health = Health::Offline;
        s.latency_ms = Some(12);
        s.error = Some(vmo_engine::status::ProbeError {
            code: "refused".into(),
            message: "connection refused".into(),
        });
        let f = Figures::of(Some(&s), false);
        assert_eq!(f.latency, "—");
        assert_eq!(f.reason, "connection refused");
        assert_eq!(f.summary("web-1"), "web-1: offline — connection refused");
        assert_eq!(
            Figures::of(None, true).reason,
            "probing is off for its tags"
        );
        assert_eq!(Figures::of(None, false).health, Health::Unknown);
    }
}
