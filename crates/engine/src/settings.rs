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
