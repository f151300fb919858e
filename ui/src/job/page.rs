//! One job: what ran where, each host's state, the controls, and the log. The job's
//! detail is loaded once per change and shared by every part (never copied per render):
//! a job over 10,000 hosts is 10,000 host records, of which the host table draws the few
//! dozen in sight.

use super::{
    format_duration, now_ms, origin_label, state_class, state_label, use_jobs_version, Progress,
};
use crate::log::LogViewer;
use crate::shared::time::format_millis;
use crate::shared::toast::use_toasts;
use crate::shared::virtual_rows::use_scroll_box;
use crate::shared::Shared;
use crate::shell::Screen;
use crate::UiContext;
use dioxus::prelude::*;
use vmo_engine::jobs::{HostState, JobDetail, JobHost, JobId, Origin};

/// Must match `#job-hosts` `--row-px` in style.css.
const HOST_ROW_PX: f64 = 33.0;

#[component]
pub fn JobPage(id: JobId) -> Element {
    let ctx = use_context::<UiContext>();
    let version = use_jobs_version();
    let detail = use_resource(move || {
        let ctx = ctx.clone();
        let _ = version();
        async move { ctx.engine.jobs().detail(id).await.map(Shared::new) }
    });
    // A host picked in the host table, for the log viewer to show.
    let picked = use_signal(|| None::<u32>);
    let mut tick = use_signal(|| 0u64);
    use_future(move || async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            *tick.write() += 1;
        }
    });
    let _ = tick();
    let mut screen = use_context::<Signal<Screen>>();
    let read = detail.read();
    let detail = match &*read {
        None => {
            return rsx! { section { class: "screen", p { class: "muted", "Loading job {id}…" } } }
        }
        Some(Err(e)) => {
            return rsx! {
                section { class: "screen",
                    div { class: "alert error", "{e.message}" }
                    button { class: "button", onclick: move |_| screen.set(Screen::Jobs), "All jobs" }
                }
            }
        }
        Some(Ok(d)) => d.clone(),
    };
    let job = detail.job.clone();
    rsx! {
        section { class: "screen job-page", id: "job-page",
            div { class: "screen-head",
                div {
                    button { class: "link", id: "job-back", onclick: move |_| screen.set(Screen::Jobs), "← Jobs" }
                    h1 { "Job #{job.id.0} " span { class: state_class(job.state), id: "job-state", {state_label(job.state)} } }
                }
                Controls { detail: detail.clone() }
            }
            div { class: "card job-facts",
                if let Some(run) = &job.template {
                    span { class: "template-run", id: "job-template", "Template: {run}" }
                }
                code { class: "job-command", id: "job-command", "{job.command}" }
                div { class: "facts-row",
                    span { "on {job.target_label}" }
                    span { "by {origin_label(job.origin)}" }
                    span { {format_millis(job.created_at)} }
                    span { id: "job-duration", {format_duration(job.duration_ms(now_ms()))} }
                    if let Some(of) = job.retry_of {
                        button { class: "link", onclick: move |_| screen.set(Screen::Job(of)), "retry of #{of.0}" }
                    }
                    div { class: "progress-wrap", Progress { job: job.clone() } }
                }
            }
            if let Some(lost) = job.record_error.clone() {
                div { class: "alert error", id: "job-record-error", "{lost}. The commands on the hosts were not stopped for it." }
            }
            HostTable { detail: detail.clone(), picked }
            LogViewer { detail, picked }
        }
    }
}

#[component]
fn Controls(detail: Shared<JobDetail>) -> Element {
    let ctx = use_context::<UiContext>();
    let toasts = use_toasts();
    let mut screen = use_context::<Signal<Screen>>();
    let job = detail.job.clone();
    let id = job.id;
    let live = !job.state.is_final();
    let any_failed = detail.hosts.iter().any(|h| h.state.needs_retry());
    let rerun = move |failed_only: bool| {
        let ctx = ctx.clone();
        spawn(async move {
            let jobs = ctx.engine.jobs();
            let started = match jobs.rerun_spec(id, failed_only, Origin::App).await {
                Ok(spec) => jobs.submit(spec).await,
                Err(e) => Err(e),
            };
            match started {
                Ok(new) => screen.set(Screen::Job(new.id)),
                Err(e) => toasts.error(e.message),
            }
        });
    };
    let cancel_ctx = use_context::<UiContext>();
    rsx! {
        div { class: "actions",
            if live {
                button {
                    class: "button danger",
                    id: "job-cancel",
                    onclick: move |_| {
                        let jobs = cancel_ctx.engine.jobs().clone();
                        spawn(async move {
                            if let Err(e) = jobs.cancel(id).await {
                                toasts.error(e.message);
                            }
                        });
                    },
                    "Cancel job"
                }
            } else {
                if any_failed {
                    button { class: "button", id: "job-retry-failed", onclick: {
                            let rerun = rerun.clone();
                            move |_| rerun(true)
                        }, "Retry failed hosts" }
                }
                button { class: "button", id: "job-rerun", onclick: move |_| rerun(false), "Run again" }
            }
        }
    }
}

/// The job's hosts, only those in sight drawn; a host's name picks it in the log viewer.
#[component]
fn HostTable(detail: Shared<JobDetail>, picked: Signal<Option<u32>>) -> Element {
    let scroll = use_scroll_box(HOST_ROW_PX);
    let window = scroll.window(detail.hosts.len());
    let id = detail.job.id;
    rsx! {
        div {
            class: "table-scroll hosts-scroll",
            id: "job-hosts-scroll",
            onmounted: move |e| scroll.mounted(e),
            onscroll: move |e| scroll.scrolled(&e),
            onresize: move |e| scroll.resized(&e),
            table { class: "table hosts-table virtual-table", id: "job-hosts",
                thead {
                    tr {
                        th { "Host" }
                        th { "State" }
                        th { "Exit" }
                        th { "Duration" }
                        th { "Detail" }
                        th {}
                    }
                }
                tbody {
                    tr { class: "spacer", style: "height: {window.before_px()}px;",
                        td { colspan: 6 }
                    }
                    for host in detail.hosts[window.range()].iter() {
                        HostRow { key: "{host.host}", job: id, host: host.clone(), picked }
                    }
                    tr { class: "spacer", style: "height: {window.after_px()}px;",
                        td { colspan: 6 }
                    }
                }
            }
        }
    }
}

#[component]
fn HostRow(job: JobId, host: JobHost, picked: Signal<Option<u32>>) -> Element {
    let ctx = use_context::<UiContext>();
    let toasts = use_toasts();
    let index = host.host;
    let detail = format!(
        "{}{}",
        host.error.clone().unwrap_or_default(),
        if host.truncated {
            " (output truncated)"
        } else {
            ""
        }
    );
    rsx! {
        tr { id: "job-host-{host.name}",
            td { class: "mono",
                button {
                    class: "link",
                    title: "Show the output of {host.name}",
                    onclick: move |_| picked.set(Some(index)),
                    "{host.name}"
                }
            }
            td { span { class: host_class(host.state), "{host.state}" } }
            // `data-exit` is the cell's value alone (a test reads it, not the row).
            td { class: "mono job-exit", "data-exit": "{exit_text(&host)}",
                {exit_text(&host)}
            }
            td { {format_duration(host.duration_ms())} }
            td { class: "muted", title: "{detail}", "{detail}" }
            td {
                if !host.state.is_final() {
                    button {
                        class: "button small danger-text",
                        title: "Cancel {host.name}",
                        onclick: move |_| {
                            let jobs = ctx.engine.jobs().clone();
                            spawn(async move {
                                if let Err(e) = jobs.cancel_host(job, index).await {
                                    toasts.error(e.message);
                                }
                            });
                        },
                        "Cancel"
                    }
                }
            }
        }
    }
}

/// The exit status as shown: the code, else the signal that ended it, else nothing.
fn exit_text(host: &JobHost) -> String {
    host.exit_code
        .map(|c| c.to_string())
        .or(host.signal.clone())
        .unwrap_or_default()
}

fn host_class(state: HostState) -> &'static str {
    match state {
        HostState::Queued | HostState::Skipped => "badge",
        HostState::Running => "badge running",
        HostState::Succeeded => "badge ok",
        HostState::Failed | HostState::Unreachable | HostState::Interrupted => "badge bad",
        HostState::Cancelled | HostState::TimedOut => "badge warn",
    }
}
