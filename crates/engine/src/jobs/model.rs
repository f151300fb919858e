//! What a job is: a command on a set of VMs with options, its state, and each host's.

use crate::vm::VmId;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use vmo_command::TemplateRun;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub i64);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Declares a state enum with its stable text form (stored in SQLite, shown in `--json`).
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// A job's state. Queued and running are live; the rest are final.
    JobState {
        Queued => "queued",
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
        Cancelled => "cancelled",
        TimedOut => "timed_out",
        Interrupted => "interrupted",
    }
);

impl JobState {
    pub fn is_final(self) -> bool {
        !matches!(self, JobState::Queued | JobState::Running)
    }
}

text_enum!(
    /// One host's state within a job.
    HostState {
        Queued => "queued",
        Running => "running",
        Succeeded => "succeeded",
        /// Ran and exited non-zero or was killed by a signal, or could not log in.
        Failed => "failed",
        /// Could not be reached at all (DNS, refused, connect timeout, network).
        Unreachable => "unreachable",
        Cancelled => "cancelled",
        TimedOut => "timed_out",
        /// Its process (the app or `vmo`) ended while it ran.
        Interrupted => "interrupted",
        /// Never started: the canary or an earlier host failed with stop-on-failure.
        Skipped => "skipped",
    }
);

impl HostState {
    pub fn is_final(self) -> bool {
        !matches!(self, HostState::Queued | HostState::Running)
    }

    /// What "retry failed" runs again: every final state but success.
    pub fn needs_retry(self) -> bool {
        self.is_final() && self != HostState::Succeeded
    }
}

text_enum!(
    /// Who started a job.
    Origin {
        App => "app",
        Cli => "cli",
    }
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobOptions {
    /// Hosts of this job running at once.
    pub concurrency: usize,
    /// Per host, from the start of its command.
    #[serde(with = "millis_opt")]
    pub timeout: Option<Duration>,
    /// After a host fails, start no more hosts (running ones finish).
    pub stop_on_failure: bool,
    /// Run the first host alone; the others only if it succeeds.
    pub canary: bool,
}

/// Hosts of one job running at once unless it says otherwise.
pub const DEFAULT_JOB_CONCURRENCY: usize = 64;

impl Default for JobOptions {
    fn default() -> Self {
        Self {
            concurrency: DEFAULT_JOB_CONCURRENCY,
            timeout: None,
            stop_on_failure: false,
            canary: false,
        }
    }
}

mod millis_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

/// What to run, where, how. Targets are VMs of the inventory, resolved when submitted.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub command: String,
    pub targets: Vec<VmId>,
    /// How the targets were chosen, for people: "web-1", "tag:prod", "3 VMs".
    pub target_label: String,
    pub options: JobOptions,
    pub origin: Origin,
    pub retry_of: Option<JobId>,
    /// The template and values it was rendered from; `None` for a command typed as is.
    pub template: Option<TemplateRun>,
}

/// A job as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobSummary {
    pub id: JobId,
    pub command: String,
    pub origin: Origin,
    pub target_label: String,
    pub options: JobOptions,
    pub state: JobState,
    pub retry_of: Option<JobId>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub hosts_total: u32,
    /// Hosts in a final state.
    pub hosts_done: u32,
    pub hosts_succeeded: u32,
    /// Set when output could not be recorded (e.g. the disk was full): what was lost, and
    /// why. Such a job never counts as succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_error: Option<String>,
    /// The template it ran from, with its values (`restart-service unit=nginx`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateRun>,
}

impl JobSummary {
    /// Wall time so far (running) or in all (finished), in milliseconds.
    pub fn duration_ms(&self, now_ms: i64) -> Option<i64> {
        let start = self.started_at?;
        Some(
            self.finished_at
                .unwrap_or(now_ms)
                .saturating_sub(start)
                .max(0),
        )
    }
}

/// One host of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobHost {
    /// Position in the job (what output chunks refer to).
    pub host: u32,
    /// None once the VM was deleted from the inventory.
    pub vm_id: Option<VmId>,
    pub name: String,
    pub state: HostState,
    pub exit_code: Option<i64>,
    pub signal: Option<String>,
    pub error: Option<String>,
    /// The SSH error kind (`refused`, `auth_failed`, ...), when it failed to connect.
    pub error_kind: Option<String>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// Output bytes kept (up to the cap).
    pub out_bytes: i64,
    pub truncated: bool,
}

impl JobHost {
    pub fn duration_ms(&self) -> Option<i64> {
        Some(self.finished_at?.saturating_sub(self.started_at?).max(0))
    }

    /// Why this host never ran the command (so its empty output is not output), or `None`
    /// if it ran or has yet to finish. Never ran: unreachable, skipped, failed before the
    /// command (connecting, logging in, a bad jump host: those carry an SSH error kind),
    /// or cancelled or interrupted before it started (the runner records a host that never
    /// got its turn with a zero duration; an orphaned queued host has no start at all).
    pub fn not_run_reason(&self) -> Option<String> {
        let error = || self.error.clone().unwrap_or_else(|| self.state.to_string());
        match self.state {
            HostState::Unreachable => Some(format!("unreachable: {}", error())),
            HostState::Skipped => Some(error()),
            HostState::Failed if self.error_kind.is_some() => Some(error()),
            HostState::Cancelled | HostState::Interrupted
                if self.started_at.is_none()
                    || (self.started_at == self.finished_at && self.out_bytes == 0) =>
            {
                Some(match self.state {
                    HostState::Interrupted => "interrupted before it started".to_string(),
                    _ => error(),
                })
            }
            _ => None,
        }
    }
}

/// A job with all its hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobDetail {
    pub job: JobSummary,
    pub hosts: Vec<JobHost>,
}

/// Which jobs a list shows. Empty = the most recent ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobQuery {
    pub states: Vec<JobState>,
    /// Jobs that ran on this VM.
    pub vm: Option<VmId>,
    /// Case-insensitive substring of the command, target label or a host name.
    pub text: Option<String>,
    pub limit: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(state: HostState) -> JobHost {
        JobHost {
            host: 0,
            vm_id: None,
            name: "web-1".into(),
            state,
            exit_code: None,
            signal: None,
            error: None,
            error_kind: None,
            started_at: Some(1_000),
            finished_at: Some(3_000),
            out_bytes: 0,
            truncated: false,
        }
    }

    #[test]
    fn hosts_that_never_ran_say_why() {
        let refused = JobHost {
            error: Some("connection refused".into()),
            error_kind: Some("refused".into()),
            ..host(HostState::Unreachable)
        };
        assert_eq!(
            refused.not_run_reason().as_deref(),
            Some("unreachable: connection refused")
        );
        let auth = JobHost {
            error: Some("the server refused every key".into()),
            error_kind: Some("auth_failed".into()),
            ..host(HostState::Failed)
        };
        assert_eq!(
            auth.not_run_reason().as_deref(),
            Some("the server refused every key")
        );
        let skipped = JobHost {
            error: Some("skipped: web-0 did not succeed".into()),
            ..host(HostState::Skipped)
        };
        assert_eq!(
            skipped.not_run_reason().as_deref(),
            Some("skipped: web-0 did not succeed")
        );
        let never_started = JobHost {
            error: Some("cancelled before it started".into()),
            started_at: Some(3_000),
            ..host(HostState::Cancelled)
        };
        assert_eq!(
            never_started.not_run_reason().as_deref(),
            Some("cancelled before it started")
        );
        let orphan = JobHost {
            started_at: None,
            ..host(HostState::Interrupted)
        };
        assert_eq!(
            orphan.not_run_reason().as_deref(),
            Some("interrupted before it started")
        );
    }

    #[test]
    fn hosts_that_ran_have_no_reason() {
        let exited = JobHost {
            exit_code: Some(5),
            ..host(HostState::Failed)
        };
        assert_eq!(exited.not_run_reason(), None);
        assert_eq!(host(HostState::Succeeded).not_run_reason(), None);
        assert_eq!(host(HostState::TimedOut).not_run_reason(), None);
        // Cancelled while it ran (it took time), even with no output.
        assert_eq!(host(HostState::Cancelled).not_run_reason(), None);
        assert_eq!(host(HostState::Running).not_run_reason(), None);
        assert_eq!(host(HostState::Queued).not_run_reason(), None);
    }
}
