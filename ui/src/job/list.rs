//! The queue and history: every job, newest first, filtered by state, VM and text.

use super::{
    format_duration, now_ms, origin_label, state_class, state_label, use_jobs_version, Progress,
};
use crate::shared::time::format_millis;
use crate::shell::Screen;
use crate::vm::use_inventory;
use crate::UiContext;
use dioxus::prelude::*;
use vmo_engine::jobs::{JobQuery, JobState, JobSummary};
use vmo_engine::VmId;

/// VMs offered in the VM filter; with more, the search box finds any of them by name.
const VMS_LISTED: usize = 200;

#[component]
pub fn JobsScreen() -> Element {
    let ctx = use_context::<UiContext>();
    let version = use_jobs_version();
    let inventory = use_inventory();
    let mut state = use_signal(|| None::<JobState>);
    let mut vm = use_signal(|| None::<VmId>);
    let mut text = use_signal(String::new);
    let jobs = use_resource(move || {
        let ctx = ctx.clone();
        let query = JobQuery {
            states: state().into_iter().collect(),
            vm: vm(),
            text: Some(text()).filter(|t| !t.trim().is_empty()),
            limit: Some(500),
        };
        let _ = version();
        async move { ctx.engine.jobs().list(&query).await }
    });
    // Durations of running jobs tick.
    let mut tick = use_signal(|| 0u64);
    use_future(move || async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            *tick.write() += 1;
        }
    });
    let _ = tick();
    // The first VMs, and the one chosen: the search box finds jobs by any host's name.
    let (vms, unlisted): (Vec<(VmId, String)>, usize) = {
        let view = inventory.read();
        let chosen = vm();
        let listed = view
            .vms
            .iter()
            .enumerate()
            .filter(|(i, v)| *i < VMS_LISTED || Some(v.id) == chosen)
            .map(|(_, v)| (v.id, v.name.clone()))
            .collect();
        (listed, view.vms.len().saturating_sub(VMS_LISTED))
    };
    rsx! {
        section { class: "screen jobs-screen",
            div { class: "screen-head",
                h1 { "Jobs" }
            }
            div { class: "toolbar",
                input {
                    class: "search",
                    id: "job-search",
                    placeholder: "Search command, targets, hosts",
                    oninput: move |e| text.set(e.value()),
                }
                select {
                    id: "job-state-filter",
                    onchange: move |e| state.set(JobState::parse(&e.value())),
                    option { value: "", "Any state" }
                    for s in JobState::ALL {
                        option { key: "{s.as_str()}", value: s.as_str(), {state_label(*s)} }
                    }
                }
                select {
                    id: "job-vm-filter",
                    onchange: move |e| vm.set(e.value().parse().ok().map(VmId)),
                    option { value: "", "Any VM" }
                    for (id, name) in vms {
                        option { key: "{id.0}", value: "{id.0}", selected: vm() == Some(id), "{name}" }
                    }
                    if unlisted > 0 {
                        option { value: "", disabled: true, "{unlisted} more: search by name" }
                    }
                }
            }
            match &*jobs.read() {
                None => rsx! { p { class: "muted", "Loading…" } },
                Some(Err(e)) => rsx! { div { class: "alert error", "{e.message}" } },
                Some(Ok(list)) if list.is_empty() => rsx! {
                    div { class: "empty-state", id: "jobs-empty",
                        p { class: "empty-title", "No jobs" }
                        p { "Run a command from the VMs screen (Run on a row, or select VMs and Run on selected). Runs of `vmo exec` show here too." }
                    }
                },
                Some(Ok(list)) => rsx! { JobTable { jobs: list.clone() } },
            }
        }
    }
}

#[component]
fn JobTable(jobs: Vec<JobSummary>) -> Element {
    let mut screen = use_context::<Signal<Screen>>();
    let now = now_ms();
    rsx! {
        table { class: "table jobs-table", id: "jobs-table",
            thead {
                tr {
                    th { "#" }
                    th { "State" }
                    th { "Progress" }
                    th { "Command" }
                    th { "Targets" }
                    th { "Started" }
                    th { "Duration" }
                    th { "By" }
                }
            }
            tbody {
                for job in jobs {
                    tr {
                        key: "{job.id.0}",
                        id: "job-row-{job.id.0}",
                        class: "clickable",
                        onclick: move |_| screen.set(Screen::Job(job.id)),
                        td { class: "mono", "{job.id.0}" }
                        td { span { class: state_class(job.state), {state_label(job.state)} } }
                        td { class: "progress-cell", Progress { job: job.clone() } }
                        td { class: "mono command-cell", title: "{job.command}",
                            match &job.template {
                                Some(run) => rsx! { span { class: "template-run", "{run}" } },
                                None => rsx! { "{job.command}" },
                            }
                        }
                        td { "{job.target_label}" }
                        td { {format_millis(job.created_at)} }
                        td { {format_duration(job.duration_ms(now))} }
                        td { class: "muted", {origin_label(job.origin)} }
                    }
                }
            }
        }
    }
}

/// The last jobs that ran on one VM, for its detail view.
#[component]
pub fn VmJobHistory(vm: VmId) -> Element {
    let ctx = use_context::<UiContext>();
    let version = use_jobs_version();
    let mut screen = use_context::<Signal<Screen>>();
    let jobs = use_resource(move || {
        let ctx = ctx.clone();
        let _ = version();
        async move {
            let query = JobQuery {
                vm: Some(vm),
                limit: Some(10),
                ..Default::default()
            };
            ctx.engine.jobs().list(&query).await
        }
    });
    let now = now_ms();
    rsx! {
        div { class: "vm-jobs", id: "vm-jobs",
            h3 { "Recent jobs" }
            match &*jobs.read() {
                Some(Ok(list)) if list.is_empty() => rsx! { p { class: "muted", "No job has run on this VM yet." } },
                Some(Ok(list)) => rsx! {
                    ul { class: "vm-job-list",
                        for job in list.clone() {
                            li { key: "{job.id.0}",
                                button {
                                    class: "link",
                                    onclick: move |_| screen.set(Screen::Job(job.id)),
                                    "#{job.id.0}"
                                }
                                span { class: state_class(job.state), {state_label(job.state)} }
                                span { class: "mono", "{job.command}" }
                                span { class: "muted", {format_duration(job.duration_ms(now))} }
                            }
                        }
                    }
                },
                Some(Err(e)) => rsx! { div { class: "alert error", "{e.message}" } },
                None => rsx! {},
            }
        }
    }
}
