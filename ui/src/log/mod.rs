//! The log viewer of a job: live lines with ANSI colours, filters (host, stream, status,
//! text or regex) that also apply while the job runs, three views (interleaved, per host,
//! grouped by identical output with a diff of outliers), and exports.
//!
//! The whole log lives once in this process as a [`JobLog`] (an arena of lines); the view
//! keeps the indices of matching lines and renders only the rows in sight.

mod export;
mod grouped;
mod lines;
mod styled;

use crate::shared::{breathe, Shared};
use crate::UiContext;
use dioxus::prelude::*;
use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use tokio::sync::broadcast::error::RecvError;
use vmo_engine::jobs::log::{JobLog, LogFilter, Stream, TextMatch};
use vmo_engine::jobs::{HostState, JobDetail, JobId};
use vmo_engine::JobEvent;

/// Lines filtered per render: a new filter over a million lines runs in slices, so the
/// UI keeps answering (a slice is a few milliseconds in a release build).
const FILTER_SLICE: usize = 10_000;

/// Output bytes split into lines between two chances for the UI to handle other work.
const PUSH_SLICE: usize = 256 << 10;

/// Hosts offered in the host picker; a job over more lists the first ones (and the one
/// picked), and any host can be picked from the host table above.
const HOSTS_OFFERED: usize = 200;

/// How long typing must pause before the text filter applies.
const TYPING_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Interleaved,
    PerHost,
    Grouped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Any,
    Succeeded,
    NotSucceeded,
}

/// What the user chose to see.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub host: Option<u32>,
    pub stream: Option<Stream>,
    pub status: StatusFilter,
    pub text: String,
    pub regex: bool,
}

/// Matching line indices, extended as lines arrive, recomputed when the choice changes.
#[derive(Default)]
struct Matches {
    key: Option<(Choice, Vec<u32>)>,
    indices: Rc<Vec<u32>>,
    scanned: usize,
}

#[component]
pub fn LogViewer(detail: Shared<JobDetail>, picked: Signal<Option<u32>>) -> Element {
    let ctx = use_context::<UiContext>();
    let id = detail.job.id;
    let log = use_signal(JobLog::default);
    let load_error = use_signal(|| None::<String>);
    let loaded = use_signal(|| false);
    use_future(move || {
        let ctx = ctx.clone();
        async move { follow_job(&ctx, id, log, load_error, loaded).await }
    });

    let mut view = use_signal(|| View::Interleaved);
    let mut choice = use_signal(|| Choice {
        host: None,
        stream: None,
        status: StatusFilter::Any,
        text: String::new(),
        regex: false,
    });
    let mut typing = use_signal(|| 0u64);
    let mut catch_up = use_signal(|| 0u64);
    let timestamps = use_signal(|| false);
    let follow = use_signal(|| true);
    let matches = use_hook(|| Rc::new(RefCell::new(Matches::default())));
    // A host picked in the host table: its output, on its own.
    use_effect(move || {
        if let Some(host) = picked() {
            view.set(View::PerHost);
            choice.write().host = Some(host);
            document::eval(
                "const e = document.getElementById('log-viewer'); if (e) e.scrollIntoView({block: 'nearest'});",
            );
        }
    });

    let current = choice();
    // The hosts offered in the picker: the first ones, and the one picked wherever it is.
    let offered: Vec<(u32, String)> = detail
        .hosts
        .iter()
        .take(HOSTS_OFFERED)
        .chain(
            current
                .host
                .and_then(|h| detail.hosts.get(h as usize))
                .filter(|h| h.host as usize >= HOSTS_OFFERED),
        )
        .map(|h| (h.host, h.name.clone()))
        .collect();
    let not_offered = detail.hosts.len().saturating_sub(HOSTS_OFFERED);
    // Status picks hosts; combined with the host picker.
    let by_status: Option<Vec<u32>> = match current.status {
        StatusFilter::Any => None,
        StatusFilter::Succeeded => Some(hosts_where(&detail, |s| s == HostState::Succeeded)),
        StatusFilter::NotSucceeded => Some(hosts_where(&detail, |s| s.needs_retry())),
    };
    let text_match = match current.text.trim() {
        "" => Ok(None),
        t => TextMatch::new(t, current.regex, false).map(Some),
    };
    let filter_error = text_match.as_ref().err().cloned();
    // Read so that a slice scheduled below re-renders this component.
    let _ = catch_up();
    let (indices, total, scanned) = {
        let log = log.read();
        let mut m = matches.borrow_mut();
        let key = (current.clone(), by_status.clone().unwrap_or_default());
        if m.key.as_ref() != Some(&key) || m.scanned > log.len() {
            *m = Matches {
                key: Some(key),
                ..Default::default()
            };
        }
        if m.scanned < log.len() {
            let filter = LogFilter {
                hosts: host_set(current.host, by_status.as_deref()),
                stream: current.stream,
                text: text_match.clone().ok().flatten(),
            };
            let end = (m.scanned + FILTER_SLICE).min(log.len());
            let found = log.filter_range(&filter, m.scanned..end);
            if !found.is_empty() {
                Rc::make_mut(&mut m.indices).extend(found);
            }
            m.scanned = end;
            if end < log.len() {
                // More to scan: the next slice after the loop has handled what waits.
                spawn(async move {
                    breathe().await;
                    *catch_up.write() += 1;
                });
            }
        }
        (lines::Shown(m.indices.clone()), log.len(), m.scanned)
    };
    let live = !detail.job.state.is_final();

    rsx! {
        div { class: "card log-viewer", id: "log-viewer",
            div { class: "log-toolbar",
                div { class: "segmented", id: "log-view",
                    for (v, label, vid) in [(View::Interleaved, "Interleaved", "log-view-interleaved"), (View::PerHost, "Per host", "log-view-host"), (View::Grouped, "Grouped", "log-view-grouped")] {
                        button {
                            key: "{vid}",
                            id: vid,
                            class: if view() == v { "active" } else { "" },
                            onclick: move |_| {
                                view.set(v);
                                if v == View::PerHost && choice.peek().host.is_none() {
                                    choice.write().host = Some(0);
                                }
                            },
                            "{label}"
                        }
                    }
                }
                select {
                    id: "log-host",
                    onchange: move |e| choice.write().host = e.value().parse().ok(),
                    if view() != View::PerHost {
                        option { value: "", selected: current.host.is_none(), "All hosts" }
                    }
                    for (i, name) in offered.iter() {
                        option { key: "{i}", value: "{i}", selected: current.host == Some(*i), "{name}" }
                    }
                    if not_offered > 0 {
                        option { value: "", disabled: true, "{not_offered} more: pick one in the host table" }
                    }
                }
                select {
                    id: "log-stream",
                    onchange: move |e| choice.write().stream = Stream::parse(&e.value()),
                    option { value: "", "stdout + stderr" }
                    option { value: "stdout", "stdout" }
                    option { value: "stderr", "stderr" }
                }
                select {
                    id: "log-status",
                    onchange: move |e| choice.write().status = match e.value().as_str() {
                        "ok" => StatusFilter::Succeeded,
                        "bad" => StatusFilter::NotSucceeded,
                        _ => StatusFilter::Any,
                    },
                    option { value: "", "Any exit status" }
                    option { value: "ok", "Succeeded hosts" }
                    option { value: "bad", "Failed hosts" }
                }
                input {
                    class: "search",
                    id: "log-search",
                    placeholder: if current.regex { "Regular expression" } else { "Search text" },
                    // Filtering a big log costs a pass over every line: wait for a pause
                    // in typing rather than filter on every keystroke.
                    oninput: move |e| {
                        let typed = e.value();
                        let serial = {
                            let mut n = typing.write();
                            *n += 1;
                            *n
                        };
                        spawn(async move {
                            tokio::time::sleep(TYPING_PAUSE).await;
                            if *typing.peek() == serial {
                                choice.write().text = typed;
                            }
                        });
                    },
                }
                label { class: "check",
                    input { r#type: "checkbox", id: "log-regex", onchange: move |e| choice.write().regex = e.checked() }
                    ".*"
                }
                label { class: "check",
                    input { r#type: "checkbox", id: "log-timestamps", onchange: {
                            let mut timestamps = timestamps;
                            move |e: FormEvent| timestamps.set(e.checked())
                        } }
                    "Times"
                }
                export::ExportMenu { detail: detail.clone(), log, choice: current.clone(), by_status: by_status.clone() }
            }
            if let Some(e) = filter_error {
                div { class: "alert error", id: "log-filter-error", "{e}" }
            }
            if let Some(e) = load_error() {
                div { class: "alert error", "Cannot read the log: {e}" }
            }
            div { class: "log-status", id: "log-count",
                if !loaded() {
                    "Loading…"
                } else if scanned < total {
                    "Filtering… {indices.0.len()} matches in {scanned} of {total} lines"
                } else if indices.0.len() == total {
                    "{total} lines"
                } else {
                    "{indices.0.len()} of {total} lines"
                }
                if live { span { class: "badge running", "live" } }
            }
            match view() {
                View::Grouped => rsx! { grouped::Grouped { detail: detail.clone(), log, loaded: loaded(), stream: current.stream } },
                v => rsx! {
                    lines::VirtualLines {
                        log,
                        indices,
                        show_host: v == View::Interleaved,
                        timestamps: timestamps(),
                        follow,
                    }
                },
            }
        }
    }
}

fn hosts_where(detail: &JobDetail, keep: impl Fn(HostState) -> bool) -> Vec<u32> {
    detail
        .hosts
        .iter()
        .filter(|h| keep(h.state))
        .map(|h| h.host)
        .collect()
}

/// The hosts a filter keeps: the picked one, those of a status, or both at once.
pub fn host_set(picked: Option<u32>, by_status: Option<&[u32]>) -> Option<HashSet<u32>> {
    match (picked, by_status) {
        (None, None) => None,
        (Some(h), None) => Some(HashSet::from([h])),
        (None, Some(s)) => Some(s.iter().copied().collect()),
        (Some(h), Some(s)) => Some(s.iter().copied().filter(|x| *x == h).collect()),
    }
}

/// Loads the job's log, then keeps it up to date from the engine's events until the view
/// goes away. Subscribes before loading so nothing falls between the two.
async fn follow_job(
    ctx: &UiContext,
    id: JobId,
    mut log: Signal<JobLog>,
    mut load_error: Signal<Option<String>>,
    mut loaded: Signal<bool>,
) {
    let jobs = ctx.engine.jobs();
    let mut events = jobs.subscribe();
    match jobs.log(id).await {
        Ok((_, l)) => log.set(l),
        Err(e) => load_error.set(Some(e.message)),
    }
    loaded.set(true);
    loop {
        match events.recv().await {
            Ok(JobEvent::Output { job, chunks }) if job == id => {
                // A batch can hold megabytes: split it into lines a slice at a time,
                // letting the UI handle what waits in between.
                let seen = log.peek().last_chunk_id();
                let mut bytes = 0;
                for chunk in chunks.iter().filter(|c| c.id > seen) {
                    log.write().push(chunk);
                    bytes += chunk.data.len();
                    if bytes >= PUSH_SLICE {
                        bytes = 0;
                        breathe().await;
                    }
                }
            }
            Ok(JobEvent::HostFinished { job, host }) if job == id => {
                log.write().flush_host(host.host);
            }
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => loop {
                let after = log.peek().last_chunk_id();
                match jobs.chunks(id, after, 4096).await {
                    Ok(chunks) if chunks.is_empty() => break,
                    Ok(chunks) => {
                        let mut l = log.write();
                        for chunk in &chunks {
                            l.push(chunk);
                        }
                    }
                    Err(e) => {
                        load_error.set(Some(e.message));
                        break;
                    }
                }
            },
            Err(RecvError::Closed) => break,
        }
    }
}
