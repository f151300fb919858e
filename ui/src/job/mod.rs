//! Jobs: the dialog that starts one, the queue and history, and one job's page with its
//! hosts, controls and log.

mod list;
mod new;
mod page;
mod targets;

pub use list::{JobsScreen, VmJobHistory};
pub use new::NewJobDialog;
pub use page::JobPage;
pub use targets::{TargetChoice, Targets, PREVIEW_NAMES};

use crate::UiContext;
use dioxus::prelude::*;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
pub use vmo_engine::jobs::now_ms;
use vmo_engine::jobs::{JobState, JobSummary, Origin};
use vmo_engine::JobEvent;

/// Bumped whenever a job is created, starts, has a host finish, or ends (not on output):
/// lists and pages that show jobs re-read them when it changes.
#[derive(Clone, Copy)]
pub struct JobsVersion(pub Signal<u64>);

/// A burst of job events (10,000 hosts finishing) makes one bump per this long, so the
/// pages re-read a big job a few times a second, not once per host.
const COALESCE: std::time::Duration = std::time::Duration::from_millis(100);

pub fn provide_jobs_version() {
    let ctx = use_context::<UiContext>();
    let mut version = use_context_provider(|| JobsVersion(Signal::new(0)));
    use_future(move || {
        let mut events = ctx.engine.jobs().subscribe();
        async move {
            loop {
                match events.recv().await {
                    Ok(JobEvent::Output { .. }) => continue,
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                }
                tokio::time::sleep(COALESCE).await;
                // What came meanwhile is in this bump (a lag only says some were missed);
                // at most a channel's worth, whatever keeps coming.
                for _ in 0..events.len() {
                    match events.try_recv() {
                        Ok(_) | Err(TryRecvError::Lagged(_)) => {}
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Closed) => return,
                    }
                }
                *version.0.write() += 1;
            }
        }
    });
}

pub fn use_jobs_version() -> Signal<u64> {
    use_context::<JobsVersion>().0
}

pub fn state_class(state: JobState) -> &'static str {
    match state {
        JobState::Queued => "badge",
        JobState::Running => "badge running",
        JobState::Succeeded => "badge ok",
        JobState::Failed | JobState::Interrupted => "badge bad",
        JobState::Cancelled | JobState::TimedOut => "badge warn",
    }
}

/// Who started a job, as people name them: the app, or the `vmo` program.
pub fn origin_label(origin: Origin) -> &'static str {
    match origin {
        Origin::App => "app",
        Origin::Cli => "vmo",
    }
}

pub fn state_label(state: JobState) -> &'static str {
    match state {
        JobState::Queued => "queued",
        JobState::Running => "running",
        JobState::Succeeded => "succeeded",
        JobState::Failed => "failed",
        JobState::Cancelled => "cancelled",
        JobState::TimedOut => "timed out",
        JobState::Interrupted => "interrupted",
    }
}

/// "1.2 s", "3 min 4 s", "—".
pub fn format_duration(ms: Option<i64>) -> String {
    match ms {
        None => "—".into(),
        Some(ms) if ms < 60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        Some(ms) => format!("{} min {} s", ms / 60_000, ms % 60_000 / 1000),
    }
}

/// Hosts done of total, as a bar.
#[component]
pub fn Progress(job: JobSummary) -> Element {
    let total = job.hosts_total.max(1);
    let done = job.hosts_done * 100 / total;
    let ok = job.hosts_succeeded * 100 / total;
    rsx! {
        div { class: "progress", title: "{job.hosts_done} of {job.hosts_total} hosts done, {job.hosts_succeeded} succeeded",
            div { class: "progress-bad", style: "width: {done}%" }
            div { class: "progress-ok", style: "width: {ok}%" }
        }
        span { class: "progress-text", "{job.hosts_done}/{job.hosts_total}" }
    }
}
