//! Hosts with identical output folded together ("identical on 47 hosts, 3 differ"), each
//! group's output shown once, and a diff of any other group against the largest one.
//! Hosts that never ran (unreachable, skipped, cancelled before starting) are listed apart
//! with their reason instead of making a group of "identical" empty output.
//!
//! Each host's output is digested once, when it has finished (finished output no longer
//! changes), reading only that host's lines; grouping is then a comparison of digests. So
//! the view stays cheap however much the hosts still running keep printing.
//!
//! However many hosts: a group names its first few hosts and lists all of them in a
//! scroll box drawing only the names in sight, the hosts that did not run likewise, and
//! only the largest groups are drawn until the user asks for more.

use super::styled::styled;
use crate::shared::virtual_rows::use_scroll_box;
use crate::shared::Shared;
use dioxus::prelude::*;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use vmo_engine::jobs::log::{diff_hosts, DiffLine, DiffTag, Grouping, JobLog, NotRun, Stream};
use vmo_engine::jobs::JobDetail;

/// Lines shown per group (and per diff); the rest is in the other views and the exports.
const SHOWN_LINES: usize = 200;
/// Host names in a group's head; all of them are in its host list.
const NAMES_IN_HEAD: usize = 8;
/// Groups drawn at first, and added per "more".
const GROUPS_SHOWN: usize = 50;
/// A host list's rows (must match `.host-list` in style.css) and its box at most.
const NAME_ROW_PX: f64 = 22.0;
const HOST_LIST_PX: f64 = 220.0;

#[component]
pub fn Grouped(
    detail: Shared<JobDetail>,
    log: Signal<JobLog>,
    loaded: bool,
    stream: Option<Stream>,
) -> Element {
    let mut diff_of = use_signal(|| None::<u32>);
    let mut groups_shown = use_signal(|| GROUPS_SHOWN);
    // The groups whose full host list is open, by their first host.
    let mut listed = use_signal(HashSet::<u32>::new);
    // host -> (digest, lines), for finished hosts; dropped when the log (re)loads.
    let digests = use_hook(|| Rc::new(RefCell::new((false, HashMap::<u32, (u64, usize)>::new()))));
    let log_signal = log;
    let log = log.read();
    // Hosts that never ran have no output to compare: they are listed apart, with why.
    let not_run: Vec<NotRun> = detail
        .hosts
        .iter()
        .filter_map(|h| {
            h.not_run_reason().map(|reason| NotRun {
                host: h.host,
                reason,
            })
        })
        .collect();
    // Only finished hosts that ran: a running host's output is not its output yet.
    let apart: HashSet<u32> = not_run.iter().map(|n| n.host).collect();
    let ran: Vec<u32> = detail
        .hosts
        .iter()
        .filter(|h| h.state.is_final() && !apart.contains(&h.host))
        .map(|h| h.host)
        .collect();
    let running = detail.hosts.iter().filter(|h| !h.state.is_final()).count();
    let grouping = {
        let mut cache = digests.borrow_mut();
        if cache.0 != loaded {
            *cache = (loaded, HashMap::new());
        }
        let ran: Vec<(u32, (u64, usize))> = ran
            .iter()
            .map(|host| {
                let digest = *cache
                    .1
                    .entry(*host)
                    .or_insert_with(|| log.output_digest(*host));
                (*host, digest)
            })
            .collect();
        Grouping::by_digest(&ran, not_run)
    };
    let summary = grouping.summary();
    let groups = &grouping.groups;
    let hidden_groups = groups.len().saturating_sub(groups_shown());
    let major = groups.first().and_then(|g| g.hosts.first().copied());
    let major_name = major
        .map(|h| log.host_name(h).into_owned())
        .unwrap_or_default();
    let streams: Vec<Stream> = match stream {
        Some(s) => vec![s],
        None => vec![Stream::Stdout, Stream::Stderr],
    };
    rsx! {
        div { class: "log-groups", id: "log-groups",
            p { class: "group-summary", id: "log-group-summary", "{summary}" }
            if running > 0 {
                p { class: "muted", "{running} hosts still running are not grouped yet." }
            }
            for (g, group) in groups.iter().enumerate().take(groups_shown()) {
                div { key: "{g}", class: "log-group", id: "log-group-{g}",
                    div { class: "log-group-head",
                        strong { class: "group-names", {head_names(&log, &group.hosts)} }
                        span { class: "muted", " — {group.hosts.len()} host" if group.hosts.len() != 1 { "s" } ", {group.lines} lines" }
                        if group.hosts.len() > NAMES_IN_HEAD {
                            button {
                                class: "button small",
                                id: "log-group-hosts-toggle-{g}",
                                onclick: {
                                    let first = group.hosts[0];
                                    move |_| listed.with_mut(|l| if !l.remove(&first) { l.insert(first); })
                                },
                                if listed.read().contains(&group.hosts[0]) { "Hide hosts" } else { "All {group.hosts.len()} hosts" }
                            }
                        }
                        if g > 0 {
                            button {
                                class: "button small",
                                id: "log-diff-{g}",
                                onclick: {
                                    let first = group.hosts[0];
                                    move |_| diff_of.set(if diff_of() == Some(first) { None } else { Some(first) })
                                },
                                if diff_of() == Some(group.hosts[0]) { "Hide diff" } else { "Diff against {major_name}" }
                            }
                        }
                    }
                    if group.hosts.len() > NAMES_IN_HEAD && listed.read().contains(&group.hosts[0]) {
                        HostList {
                            id: "log-group-hosts-{g}",
                            log: log_signal,
                            hosts: Shared::new(group.hosts.iter().map(|h| (*h, String::new())).collect()),
                        }
                    }
                    if let (true, Some(major)) = (g > 0 && diff_of() == Some(group.hosts[0]), major) {
                        DiffView { lines: diff_hosts(&log, major, group.hosts[0]) }
                    } else {
                        pre { class: "log-group-output",
                            for (n, (s, text)) in streams.iter().flat_map(|s| log.host_output(group.hosts[0], *s).map(move |t| (*s, t))).take(SHOWN_LINES).enumerate() {
                                div { key: "{n}", class: if s == Stream::Stderr { "stderr" } else { "" }, {styled(text)} }
                            }
                        }
                    }
                }
            }
            if hidden_groups > 0 {
                button {
                    class: "button",
                    id: "log-groups-more",
                    onclick: move |_| *groups_shown.write() += GROUPS_SHOWN,
                    "Show more groups ({hidden_groups} not shown)"
                }
            }
            if !grouping.not_run.is_empty() {
                div { class: "log-group not-run", id: "log-not-run",
                    div { class: "log-group-head",
                        strong { "Did not run" }
                        span { class: "muted", " — {grouping.not_run.len()} host" if grouping.not_run.len() != 1 { "s" } ", not compared" }
                    }
                    HostList {
                        id: "log-not-run-list",
                        log: log_signal,
                        hosts: Shared::new(grouping.not_run.iter().map(|n| (n.host, n.reason.to_string())).collect()),
                        row_id: "log-not-run",
                    }
                }
            }
        }
    }
}

/// The first [`NAMES_IN_HEAD`] names of a group, and how many more.
fn head_names(log: &JobLog, hosts: &[u32]) -> String {
    let mut names: Vec<String> = hosts
        .iter()
        .take(NAMES_IN_HEAD)
        .map(|h| log.host_name(*h).into_owned())
        .collect();
    if hosts.len() > NAMES_IN_HEAD {
        names.push(format!("and {} more", hosts.len() - NAMES_IN_HEAD));
    }
    names.join(", ")
}

/// Hosts by name with a note each (why one did not run), in a scroll box drawing only the
/// names in sight. `row_id`: each row's id is `{row_id}-{host}`, when given.
#[component]
fn HostList(
    id: String,
    log: Signal<JobLog>,
    hosts: Shared<Vec<(u32, String)>>,
    row_id: Option<String>,
) -> Element {
    let scroll = use_scroll_box(NAME_ROW_PX);
    let window = scroll.window(hosts.len());
    let height = (hosts.len() as f64 * NAME_ROW_PX).min(HOST_LIST_PX);
    let log = log.read();
    rsx! {
        div {
            id,
            class: "virtual-list host-list group-hosts",
            style: "height: {height}px;",
            onmounted: move |e| scroll.mounted(e),
            onscroll: move |e| scroll.scrolled(&e),
            div { style: "height: {window.before_px()}px;" }
            for (host, note) in hosts[window.range()].iter() {
                div {
                    key: "{host}",
                    class: "virtual-row",
                    id: row_id.as_ref().map(|r| format!("{r}-{host}")),
                    strong { "{log.host_name(*host)}" }
                    if !note.is_empty() {
                        " — {note}"
                    }
                }
            }
            div { style: "height: {window.after_px()}px;" }
        }
    }
}

#[component]
fn DiffView(lines: Vec<DiffLine>) -> Element {
    rsx! {
        pre { class: "log-diff", id: "log-diff",
            for (n, line) in lines.iter().take(SHOWN_LINES).enumerate() {
                div {
                    key: "{n}",
                    class: match line.tag {
                        DiffTag::Same => "diff-same",
                        DiffTag::Added => "diff-added",
                        DiffTag::Removed => "diff-removed",
                    },
                    match line.tag {
                        DiffTag::Same => "  ",
                        DiffTag::Added => "+ ",
                        DiffTag::Removed => "- ",
                    }
                    {styled(&line.text)}
                }
            }
        }
    }
}
