//! The probe: one POSIX shell command that prints what a host summary needs, read from
//! `/proc` and a few standard tools, writing nothing on the host; and its parser.
//!
//! Every part is optional: a system without `/proc` (BSD, macOS) or without some tool
//! (busybox) still answers the marker, and the parser keeps whatever it found. Errors go
//! to `/dev/null` so a non-Linux host does not fill a log with noise.

use serde::{Deserialize, Serialize};

/// The first line of a probe's answer; a shell that runs something else (a forced
/// command, a menu) is told apart from one that answered.
pub const MARKER: &str = "vmo-probe 1";

/// What one probe runs. Sections start with `@name` lines. Files are read with the
/// shell's own `read` (no `cat` or `grep` process per file: a round costs the host two
/// process starts, `uname` and `df`); errors go to `/dev/null`; `:` at the end so the exit
/// status never depends on the last step.
pub const COMMAND: &str = "echo 'vmo-probe 1'; \
uname -srm 2>/dev/null; \
echo @loadavg; read -r l 2>/dev/null </proc/loadavg && echo \"$l\"; \
echo @stat; { while read -r l; do case $l in cpu*) echo \"$l\";; *) break;; esac; done; } 2>/dev/null </proc/stat; \
echo @meminfo; { while read -r l; do case $l in MemTotal:*|MemFree:*|MemAvailable:*|Buffers:*|Cached:*) echo \"$l\";; esac; done; } 2>/dev/null </proc/meminfo; \
echo @df; df -Pk / 2>/dev/null; \
echo @uptime; read -r l 2>/dev/null </proc/uptime && echo \"$l\"; \
echo @os; { while read -r l || [ -n \"$l\" ]; do case $l in ID=*|NAME=*|VERSION_ID=*|PRETTY_NAME=*) echo \"$l\";; esac; done; } 2>/dev/null </etc/os-release; \
echo @end; :";

/// Bytes of a probe's output read at most; a sane answer is well under 8 KiB even with
/// hundreds of CPUs.
pub const MAX_OUTPUT: usize = 64 * 1024;

/// Cumulative CPU time since boot, in clock ticks, from `/proc/stat`'s `cpu` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuTimes {
    pub busy: u64,
    pub total: u64,
}

impl CpuTimes {
    /// Percent of CPU time spent busy between two readings; None when the counters went
    /// back (a reboot) or did not move.
    pub fn busy_pct_since(&self, earlier: &CpuTimes) -> Option<f64> {
        let total = self.total.checked_sub(earlier.total)?;
        let busy = self.busy.checked_sub(earlier.busy)?;
        (total > 0 && busy <= total).then(|| busy as f64 * 100.0 / total as f64)
    }
}

/// Used and total bytes of something (memory, a filesystem).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub used: u64,
    pub total: u64,
}

impl Usage {
    pub fn pct(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.used as f64 * 100.0 / self.total as f64
        }
    }
}

/// What a probe's output says. Every field is absent when the host did not tell.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// `uname -srm`: "Linux 6.1.0-18-amd64 x86_64".
    pub kernel: Option<String>,
    /// The distribution's pretty name ("Debian GNU/Linux 12 (bookworm)").
    pub os: Option<String>,
    /// `ID` from os-release ("debian", "alpine").
    pub os_id: Option<String>,
    pub os_version: Option<String>,
    /// 1, 5 and 15-minute load averages.
    pub load: Option<[f64; 3]>,
    pub cpu_count: Option<u32>,
    pub cpu_times: Option<CpuTimes>,
    pub memory: Option<Usage>,
    /// The root filesystem.
    pub disk: Option<Usage>,
    pub uptime_secs: Option<u64>,
}

impl Reading {
    /// The 1-minute load per CPU, the figure the load threshold applies to.
    pub fn load_per_cpu(&self) -> Option<f64> {
        let load = self.load?[0];
        let cpus = self.cpu_count.filter(|c| *c > 0)?;
        Some(load / cpus as f64)
    }
}

/// Why a probe's output could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The answer does not start with [`MARKER`]: something else ran (first line given).
    NoMarker(String),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoMarker(first) if first.is_empty() => {
                write!(f, "the host's shell printed nothing for the status probe")
            }
            Self::NoMarker(first) => write!(
                f,
                "the host's shell did not run the status probe (it printed {first:?})"
            ),
        }
    }
}

/// Reads a probe's stdout. Lines before the marker (a login banner printed to stdout) are
/// skipped; sections that are empty or malformed leave their fields absent.
pub fn parse(stdout: &[u8]) -> Result<Reading, ParseError> {
    let text = String::from_utf8_lossy(&stdout[..stdout.len().min(MAX_OUTPUT)]);
    let mut lines = text.lines();
    let mut first = None;
    if !lines.by_ref().any(|l| {
        first.get_or_insert_with(|| l.chars().take(80).collect::<String>());
        l.trim_end() == MARKER
    }) {
        return Err(ParseError::NoMarker(first.unwrap_or_default()));
    }
    let mut reading = Reading::default();
    let mut section = "uname";
    let mut cpu_lines = 0u32;
    let mut meminfo = MemInfo::default();
    let mut os = OsRelease::default();
    let mut df_words: Vec<&str> = Vec::new();
    let mut df_header = true;
    for line in lines {
        if let Some(name) = line.strip_prefix('@') {
            section = name.trim();
            continue;
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match section {
            "uname" if reading.kernel.is_none() => reading.kernel = Some(shown_text(line)),
            "loadavg" => reading.load = parse_loadavg(line),
            "stat" => {
                if let Some(rest) = line.strip_prefix("cpu ") {
                    reading.cpu_times = parse_cpu_times(rest);
                } else if line.starts_with("cpu") {
                    cpu_lines += 1;
                }
            }
            "meminfo" => meminfo.read(line),
            // The header, then one row; old tools wrap a long device name onto a line of
            // its own, so the row's words are gathered and read from the end.
            "df" if !std::mem::take(&mut df_header) => df_words.extend(line.split_whitespace()),
            "uptime" => {
                reading.uptime_secs = line
                    .split_whitespace()
                    .next()
                    .and_then(|s| s.parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(|s| s as u64)
            }
            "os" => os.read(line),
            _ => {}
        }
    }
    reading.disk = parse_df(&df_words);
    reading.cpu_count = (cpu_lines > 0).then_some(cpu_lines);
    reading.memory = meminfo.usage();
    reading.os_id = os.id;
    reading.os_version = os.version_id;
    reading.os = os
        .pretty_name
        .or_else(|| match (os.name, &reading.os_version) {
            (Some(name), Some(version)) => Some(format!("{name} {version}")),
            (name, _) => name,
        });
    if reading.os.is_none() {
        // No os-release (BSD, macOS): the kernel's name is the best we have.
        reading.os = reading
            .kernel
            .as_deref()
            .and_then(|k| k.split_whitespace().next())
            .map(str::to_string);
    }
    Ok(reading)
}

fn parse_loadavg(line: &str) -> Option<[f64; 3]> {
    let mut parts = line.split_whitespace().map(|p| p.parse::<f64>().ok());
    let load = [parts.next()??, parts.next()??, parts.next()??];
    load.iter()
        .all(|l| l.is_finite() && *l >= 0.0)
        .then_some(load)
}

/// `user nice system idle iowait irq softirq steal …`: idle time is idle + iowait; guest
/// time is already counted in user, so only the first eight columns add up to the total.
fn parse_cpu_times(rest: &str) -> Option<CpuTimes> {
    let fields: Vec<u64> = rest
        .split_whitespace()
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    if fields.len() < 4 {
        return None;
    }
    let total = fields.iter().try_fold(0u64, |a, b| a.checked_add(*b))?;
    let idle = fields[3].checked_add(fields.get(4).copied().unwrap_or(0))?;
    Some(CpuTimes {
        busy: total.checked_sub(idle)?,
        total,
    })
}

/// A `df -Pk` row's words: device, 1024-blocks, used, available, capacity, mount point
/// (`/`). Used percent as df computes it: used / (used + available), since root's reserved
/// blocks are not available to anyone else.
fn parse_df(words: &[&str]) -> Option<Usage> {
    let [.., used, available, _capacity, "/"] = words else {
        return None;
    };
    let used: u64 = used.parse().ok()?;
    let available: u64 = available.parse().ok()?;
    Some(Usage {
        used: used.checked_mul(1024)?,
        total: used.checked_add(available)?.checked_mul(1024)?,
    })
}

#[derive(Default)]
struct MemInfo {
    total: Option<u64>,
    free: Option<u64>,
    available: Option<u64>,
    buffers: Option<u64>,
    cached: Option<u64>,
}

impl MemInfo {
    fn read(&mut self, line: &str) {
        let Some((key, value)) = line.split_once(':') else {
            return;
        };
        let kib = value
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok());
        let Some(bytes) = kib.and_then(|k| k.checked_mul(1024)) else {
            return;
        };
        match key {
            "MemTotal" => self.total = Some(bytes),
            "MemFree" => self.free = Some(bytes),
            "MemAvailable" => self.available = Some(bytes),
            "Buffers" => self.buffers = Some(bytes),
            "Cached" => self.cached = Some(bytes),
            _ => {}
        }
    }

    /// Used = total - available; kernels before 3.14 lack MemAvailable, where free +
    /// buffers + cache is the classic estimate.
    fn usage(&self) -> Option<Usage> {
        let total = self.total.filter(|t| *t > 0)?;
        let available = self.available.or_else(|| {
            // Saturating: a host may print any number, and no sum may panic.
            Some(
                self.free?
                    .saturating_add(self.buffers.unwrap_or(0))
                    .saturating_add(self.cached.unwrap_or(0)),
            )
        })?;
        Some(Usage {
            used: total.saturating_sub(available),
            total,
        })
    }
}

#[derive(Default)]
struct OsRelease {
    id: Option<String>,
    name: Option<String>,
    version_id: Option<String>,
    pretty_name: Option<String>,
}

impl OsRelease {
    fn read(&mut self, line: &str) {
        let Some((key, value)) = line.split_once('=') else {
            return;
        };
        let value = unquote(value);
        if value.is_empty() {
            return;
        }
        let slot = match key {
            "ID" => &mut self.id,
            "NAME" => &mut self.name,
            "VERSION_ID" => &mut self.version_id,
            "PRETTY_NAME" => &mut self.pretty_name,
            _ => return,
        };
        *slot = Some(shown_text(&value));
    }
}

/// Longest text kept from a probe (kernel, OS names), in characters.
const TEXT_MAX: usize = 120;

/// A text the host sent, as it may be shown and stored: control characters (escape
/// sequences included) dropped, at most [`TEXT_MAX`] characters.
fn shown_text(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(TEXT_MAX)
        .collect()
}

/// os-release values are shell words: possibly in double or single quotes.
fn unquote(value: &str) -> String {
    let v = value.trim();
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner.replace("\\\"", "\"").replace("\\\\", "\\");
        }
    }
    v.to_string()
}
