//! The settings the engine applies (jobs, status probes, notifications, new-VM defaults):
//! one validated model shared by the desktop app (which keeps it with tauri-plugin-store)
//! and `vmo` (which reads the same file). UI-only preferences (theme, dashboard layout)
//! stay with the UI.

use serde::{Deserialize, Serialize};
pub use vmo_status::Thresholds;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub jobs: JobSettings,
    pub status: StatusSettings,
    pub notify: NotifySettings,
    pub new_vm: NewVmDefaults,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobSettings {
    /// Hosts one job runs on at once unless the job says otherwise.
    pub hosts_at_once: usize,
    /// A job's timeout unless it says otherwise; None: no timeout.
    pub timeout_secs: Option<u64>,
    /// Host runs at once over all jobs and processes on this data directory.
    pub global_limit: usize,
    /// Output kept per job host, MiB.
    pub output_cap_mib: u64,
    /// Running on a VM with one of these tags asks first.
    pub guarded_tags: Vec<String>,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            hosts_at_once: crate::jobs::DEFAULT_JOB_CONCURRENCY,
            timeout_secs: None,
            global_limit: crate::jobs::DEFAULT_MAX_PARALLEL_HOSTS,
            output_cap_mib: crate::jobs::DEFAULT_OUTPUT_CAP >> 20,
            guarded_tags: vec!["prod".into()],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusSettings {
    /// Seconds between probe rounds (each host gets some jitter).
    pub interval_secs: u64,
    pub thresholds: Thresholds,
    /// VMs with one of these tags are never probed (their status stays unknown).
    pub off_tags: Vec<String>,
}

impl Default for StatusSettings {
    fn default() -> Self {
        Self {
            interval_secs: 30,
            thresholds: Thresholds::default(),
            off_tags: vec!["no-probe".into()],
        }
    }
}

/// Which events raise a desktop notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotifySettings {
    pub job_succeeded: bool,
    pub job_failed: bool,
    /// Succeeded after the previous run of the same job failed.
    pub job_recovered: bool,
    pub vm_offline: bool,
    pub vm_back_online: bool,
    pub vm_threshold: bool,
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self {
            job_succeeded: true,
            job_failed: true,
            job_recovered: true,
            vm_offline: true,
            vm_back_online: true,
            vm_threshold: true,
        }
    }
}

/// What the new-VM form starts with.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NewVmDefaults {
    pub user: Option<String>,
    pub key_file: Option<String>,
}

use crate::error::{EngineError, FieldError};
use serde_json::{Map, Value};
use std::path::Path;

/// The store file's key holding [`Settings`] as JSON.
pub const STORE_KEY: &str = "settings";
/// Bounds the settings screen and `validate` share.
pub const MAX_HOSTS_AT_ONCE: usize = 1024;
pub const MAX_GLOBAL_LIMIT: usize = 1024;
pub const MAX_TIMEOUT_SECS: u64 = 7 * 24 * 3600;
pub const MIN_INTERVAL_SECS: u64 = 5;
pub const MAX_INTERVAL_SECS: u64 = 3600;

/// Keys of the desktop app's store before settings were one object, and where each went.
const OLD_FLAT_KEYS: &[(&str, &str, &str)] = &[
    ("output_cap_mib", "jobs", "output_cap_mib"),
    ("guarded_tags", "jobs", "guarded_tags"),
    ("notify_succeeded", "notify", "job_succeeded"),
    ("notify_failed", "notify", "job_failed"),
    ("notify_recovered", "notify", "job_recovered"),
];

impl Settings {
    /// Tags trimmed, lowercased, empty ones dropped, each once (first place kept).
    pub fn normalize(&mut self) {
        normalize_tags(&mut self.jobs.guarded_tags);
        normalize_tags(&mut self.status.off_tags);
        for v in [&mut self.new_vm.user, &mut self.new_vm.key_file] {
            *v = v
                .take()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty());
        }
    }

    /// Every rule broken, one error per field (`jobs.hosts_at_once`,
    /// `status.thresholds.disk_pct`, …).
    pub fn validate(&self) -> Result<(), EngineError> {
        let mut bad = Vec::new();
        let mut check = |ok: bool, field: &'static str, message: String| {
            if !ok {
                bad.push(FieldError {
                    field: field.into(),
                    message,
                });
            }
        };
        let j = &self.jobs;
        check(
            (1..=MAX_HOSTS_AT_ONCE).contains(&j.hosts_at_once),
            "jobs.hosts_at_once",
            format!("between 1 and {MAX_HOSTS_AT_ONCE} hosts"),
        );
        check(
            j.timeout_secs
                .is_none_or(|t| (1..=MAX_TIMEOUT_SECS).contains(&t)),
            "jobs.timeout_secs",
            format!("between 1 and {MAX_TIMEOUT_SECS} seconds (7 days), or none"),
        );
        check(
            (1..=MAX_GLOBAL_LIMIT).contains(&j.global_limit),
            "jobs.global_limit",
            format!("between 1 and {MAX_GLOBAL_LIMIT} host runs"),
        );
        check(
            (1..=1 << 20).contains(&j.output_cap_mib),
            "jobs.output_cap_mib",
            "at least 1 MiB (and at most 1 TiB)".into(),
        );
        let s = &self.status;
        check(
            (MIN_INTERVAL_SECS..=MAX_INTERVAL_SECS).contains(&s.interval_secs),
            "status.interval_secs",
            format!("between {MIN_INTERVAL_SECS} and {MAX_INTERVAL_SECS} seconds"),
        );
        let t = &s.thresholds;
        check(
            t.load_per_cpu.is_finite() && t.load_per_cpu > 0.0,
            "status.thresholds.load_per_cpu",
            "a load per CPU above 0".into(),
        );
        let pct = |v: f64| v.is_finite() && (1.0..=100.0).contains(&v);
        check(
            pct(t.memory_pct),
            "status.thresholds.memory_pct",
            "a percentage from 1 to 100".into(),
        );
        check(
            pct(t.disk_pct),
            "status.thresholds.disk_pct",
            "a percentage from 1 to 100".into(),
        );
        check(
            t.latency_ms >= 1,
            "status.thresholds.latency_ms",
            "at least 1 ms".into(),
        );
        let tag_ok = |tags: &[String]| tags.iter().all(|t| t.len() <= 64 && !t.contains(','));
        check(
            tag_ok(&j.guarded_tags),
            "jobs.guarded_tags",
            "tags of at most 64 characters, separated by commas".into(),
        );
        check(
            tag_ok(&s.off_tags),
            "status.off_tags",
            "tags of at most 64 characters, separated by commas".into(),
        );
        if bad.is_empty() {
            Ok(())
        } else {
            Err(EngineError::validation(bad))
        }
    }

    /// The settings kept in the desktop app's store file (a JSON object of key → value).
    /// A missing file gives the defaults; an unreadable file or a bad value gives the
    /// defaults for that part and a warning in the log, never an error.
    pub fn load_from_store_file(path: &Path) -> Settings {
        let (settings, warnings) = match std::fs::read(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Settings::default(), vec![]),
            Err(e) => (
                Settings::default(),
                vec![format!(
                    "cannot read {}: {e}; using defaults",
                    path.display()
                )],
            ),
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(store) => Self::from_store(&store),
                Err(e) => (
                    Settings::default(),
                    vec![format!(
                        "{} is not JSON ({e}); using defaults",
                        path.display()
                    )],
                ),
            },
        };
        for w in warnings {
            tracing::warn!("settings: {w}");
        }
        settings
    }

    /// The settings in a store's contents, with a warning for each value set aside:
    /// under [`STORE_KEY`], else (a store written before) the old flat keys.
    pub fn from_store(store: &Value) -> (Settings, Vec<String>) {
        let mut warnings = Vec::new();
        let stored = match store.get(STORE_KEY) {
            Some(v) => v.clone(),
            None => migrate_flat_keys(store),
        };
        let mut accepted = Value::Object(Map::new());
        if stored.is_object() {
            take_good(&mut accepted, &stored, &mut Vec::new(), &mut warnings);
        } else {
            warnings.push(format!("\"{STORE_KEY}\" is not an object; using defaults"));
        }
        let parse = |v: &Value| {
            let mut s: Settings = serde_json::from_value(v.clone()).unwrap_or_default();
            s.normalize();
            s
        };
        let mut settings = parse(&accepted);
        if let Err(err) = settings.validate() {
            for f in &err.fields {
                warnings.push(format!("{}: {}; using the default", f.field, f.message));
                let mut path: Vec<&str> = f.field.split('.').collect();
                if let Some(last) = path.pop() {
                    if let Some(Value::Object(parent)) =
                        path.iter().try_fold(&mut accepted, |v, k| v.get_mut(*k))
                    {
                        parent.remove(last);
                    }
                }
            }
            settings = parse(&accepted);
        }
        (settings, warnings)
    }
}

fn normalize_tags(tags: &mut Vec<String>) {
    let mut seen = Vec::with_capacity(tags.len());
    for t in tags.drain(..) {
        let t = t.trim().to_lowercase();
        if !t.is_empty() && !seen.contains(&t) {
            seen.push(t);
        }
    }
    *tags = seen;
}

fn migrate_flat_keys(store: &Value) -> Value {
    let mut out = serde_json::json!({});
    for (old, section, field) in OLD_FLAT_KEYS {
        if let Some(v) = store.get(*old) {
            out[*section][*field] = v.clone();
        }
    }
    out
}

/// Copies into `accepted` each leaf of `stored` that still deserializes as [`Settings`]
/// once added, so one bad value costs only itself.
fn take_good(
    accepted: &mut Value,
    stored: &Value,
    path: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    let Some(map) = stored.as_object() else {
        return;
    };
    for (key, value) in map {
        path.push(key.clone());
        if value.is_object() {
            take_good(accepted, value, path, warnings);
        } else {
            let mut trial = accepted.clone();
            let mut slot = &mut trial;
            for k in path.iter() {
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                slot = &mut slot[k.as_str()];
            }
            *slot = value.clone();
            if serde_json::from_value::<Settings>(trial.clone()).is_ok() {
                *accepted = trial;
            } else {
                warnings.push(format!(
                    "{}: {value} is not a valid value; using the default",
                    path.join(".")
                ));
            }
        }
        path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use serde_json::json;

    fn fields(s: &Settings) -> Vec<String> {
        match s.validate() {
            Ok(()) => vec![],
            Err(e) => {
                assert_eq!(e.code, ErrorCode::Validation);
                e.fields.iter().map(|f| f.field.to_string()).collect()
            }
        }
    }

    #[test]
    fn defaults_are_valid_and_bounds_name_their_field() {
        assert_eq!(fields(&Settings::default()), Vec::<String>::new());
        let mut s = Settings::default();
        s.jobs.hosts_at_once = 0;
        s.jobs.timeout_secs = Some(0);
        s.jobs.global_limit = 1025;
        s.jobs.output_cap_mib = 0;
        s.status.interval_secs = 4;
        s.status.thresholds.load_per_cpu = 0.0;
        s.status.thresholds.memory_pct = 0.5;
        s.status.thresholds.disk_pct = 101.0;
        s.status.thresholds.latency_ms = 0;
        assert_eq!(
            fields(&s),
            [
                "jobs.hosts_at_once",
                "jobs.timeout_secs",
                "jobs.global_limit",
                "jobs.output_cap_mib",
                "status.interval_secs",
                "status.thresholds.load_per_cpu",
                "status.thresholds.memory_pct",
                "status.thresholds.disk_pct",
                "status.thresholds.latency_ms",
            ]
        );
        // The edges themselves are fine.
        let mut s = Settings::default();
        s.jobs.hosts_at_once = 1024;
        s.jobs.timeout_secs = Some(MAX_TIMEOUT_SECS);
        s.jobs.global_limit = 1;
        s.jobs.output_cap_mib = 1;
        s.status.interval_secs = 3600;
        s.status.thresholds.memory_pct = 100.0;
        s.status.thresholds.disk_pct = 1.0;
        s.status.thresholds.latency_ms = 1;
        assert_eq!(fields(&s), Vec::<String>::new());
        s.jobs.timeout_secs = Some(MAX_TIMEOUT_SECS + 1);
        s.status.interval_secs = 3601;
        s.status.thresholds.load_per_cpu = f64::NAN;
        assert_eq!(
            fields(&s),
            [
                "jobs.timeout_secs",
                "status.interval_secs",
                "status.thresholds.load_per_cpu"
            ]
        );
    }

    #[test]
    fn tags_are_trimmed_lowercased_and_deduped() {
        let mut s = Settings::default();
        s.jobs.guarded_tags = vec![" Prod ".into(), "".into(), "prod".into(), "DB".into()];
        s.status.off_tags = vec!["  ".into()];
        s.new_vm.user = Some("  ".into());
        s.normalize();
        assert_eq!(s.jobs.guarded_tags, ["prod", "db"]);
        assert!(s.status.off_tags.is_empty());
        assert_eq!(s.new_vm.user, None);
    }

    #[test]
    fn store_file_missing_bad_and_old() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("settings.json");
        assert_eq!(Settings::load_from_store_file(&file), Settings::default());
        std::fs::write(&file, "{ not json").unwrap();
        assert_eq!(Settings::load_from_store_file(&file), Settings::default());

        // One bad value (wrong type), one out of bounds: each falls back alone.
        let store = json!({
            "theme": "dark",
            "settings": {
                "jobs": { "hosts_at_once": "many", "timeout_secs": 30, "global_limit": 0 },
                "status": { "interval_secs": 60, "thresholds": { "disk_pct": 80.0, "memory_pct": "x" } },
                "notify": { "vm_offline": false },
                "new_vm": { "user": "ops" }
            }
        });
        std::fs::write(&file, store.to_string()).unwrap();
        let s = Settings::load_from_store_file(&file);
        let d = Settings::default();
        assert_eq!(s.jobs.hosts_at_once, d.jobs.hosts_at_once);
        assert_eq!(s.jobs.timeout_secs, Some(30));
        assert_eq!(s.jobs.global_limit, d.jobs.global_limit);
        assert_eq!(s.status.interval_secs, 60);
        assert_eq!(s.status.thresholds.disk_pct, 80.0);
        assert_eq!(
            s.status.thresholds.memory_pct,
            d.status.thresholds.memory_pct
        );
        assert!(!s.notify.vm_offline);
        assert_eq!(s.new_vm.user.as_deref(), Some("ops"));
        let (_, warnings) = Settings::from_store(&store);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(
            warnings.iter().any(|w| w.starts_with("jobs.global_limit")),
            "{warnings:?}"
        );

        // A store from before: flat keys are carried over once.
        let old = json!({
            "theme": "light", "output_cap_mib": 8, "guarded_tags": ["Prod", "db"],
            "notify_succeeded": false, "notify_failed": true, "notify_recovered": false
        });
        let (s, warnings) = Settings::from_store(&old);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(s.jobs.output_cap_mib, 8);
        assert_eq!(s.jobs.guarded_tags, ["prod", "db"]);
        assert!(!s.notify.job_succeeded && s.notify.job_failed && !s.notify.job_recovered);
        // Once "settings" exists, the old keys are history.
        let both = json!({ "output_cap_mib": 8, "settings": { "jobs": { "output_cap_mib": 16 } } });
        assert_eq!(Settings::from_store(&both).0.jobs.output_cap_mib, 16);
        // Not an object at all.
        let (s, warnings) = Settings::from_store(&json!({ "settings": 3 }));
        assert_eq!((s, warnings.len()), (Settings::default(), 1));
    }
}
