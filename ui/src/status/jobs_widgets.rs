//! Dashboard widgets about jobs: what runs now, and what failed in the last 24 hours.

use crate::job::{now_ms, state_class, state_label, use_jobs_version, Progress};
use crate::shared::time::format_millis;
use crate::shell::Screen;
use crate::UiContext;
use dioxus::prelude::*;
use vmo_engine::jobs::{JobQuery, JobState, JobSummary};
use vmo_engine::EngineError;

const DAY_MS: i64 = 86_400_000;

#[component]
pub fn RunningJobs() -> Element {
    let ctx = use_context::<UiContext>();
    let version = use_jobs_version();
    let screen = use_context::<Signal<Screen>>();
    let jobs = use_resource(move || {
        let jobs = ctx.engine.jobs().clone();
        let _ = version();
        async move {
            let query = JobQuery {
                states: vec![JobState::Running, JobState::Queued],
                limit: Some(50),
                ..JobQuery::default()
            };
            jobs.list(&query).await
        }
    });
    let list = jobs.read();
    job_list(
        &list,
        ("running-jobs", "running-job"),
        ("running-none", "No job is running."),
        screen,
        |job| {
            rsx! {
                span { class: "muted", "{job.target_label}" }
                Progress { job: job.clone() }
            }
        },
    )
}

#[component]
pub fn RecentFailures() -> Element {
    let ctx = use_context::<UiContext>();
    let version = use_jobs_version();
    let screen = use_context::<Signal<Screen>>();
    let jobs = use_resource(move || {
        let jobs = ctx.engine.jobs().clone();
        let _ = version();
        async move {
            let query = JobQuery {
                states: vec![JobState::Failed, JobState::TimedOut, JobState::Interrupted],
                limit: Some(20),
                ..JobQuery::default()
            };
            let since = now_ms() - DAY_MS;
            jobs.list(&query).await.map(|list| {
                list.into_iter()
                    .filter(|j| j.finished_at.unwrap_or(j.created_at) >= since)
                    .collect::<Vec<_>>()
            })
        }
    });
    let list = jobs.read();
    job_list(
        &list,
        ("recent-failures", "failed-job"),
        ("failures-none", "No failed job in the last 24 hours."),
        screen,
        |job| {
            rsx! {
                span { class: "muted", "{job.hosts_total - job.hosts_succeeded} of {job.hosts_total} hosts" }
                span { class: "muted", {format_millis(job.finished_at.unwrap_or(job.created_at))} }
            }
        },
    )
}

/// A widget's jobs: loading, the error, its empty line, or one row per job (state,
/// command, then `details`) that opens the job's page. `(list id, row class)`, `(empty
/// line id, its text)`.
fn job_list(
    jobs: &Option<Result<Vec<JobSummary>, EngineError>>,
    (list_id, row_class): (&'static str, &'static str),
    (empty_id, empty_text): (&'static str, &'static str),
    mut screen: Signal<Screen>,
    details: fn(&JobSummary) -> Element,
) -> Element {
    match jobs {
        None => rsx! { p { class: "muted", "Loading…" } },
        Some(Err(e)) => rsx! { div { class: "alert error", "{e.message}" } },
        Some(Ok(list)) if list.is_empty() => {
            rsx! { p { class: "muted", id: empty_id, "{empty_text}" } }
        }
        Some(Ok(list)) => rsx! {
            ul { class: "widget-list", id: list_id,
                for job in list.iter().cloned() {
                    li {
                        key: "{job.id.0}",
                        class: "widget-row {row_class}",
                        onclick: move |_| screen.set(Screen::Job(job.id)),
                        span { class: state_class(job.state), {state_label(job.state)} }
                        span { class: "mono ellipsis", title: "{job.command}", "{job.command}" }
                        {details(&job)}
                    }
                }
            }
        },
    }
}
