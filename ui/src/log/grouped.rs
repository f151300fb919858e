//! Hosts with identical output folded together ("identical on 47 hosts, 3 differ"), each
//! group's output shown once, and a diff of any other group against the largest one.
//! Hosts that never ran (unreachable, skipped, cancelled before starting) are listed apart
//! with their reason instead of making a group of "identical" empty output.
//!
//! Each host's output is digested once, when it has finished (finished output no longer
//! changes), reading only that host's lines; grouping is then a comparison of digests. So
//! the view stays cheap however much the hosts still running keep printing.

use super::styled::styled;
use dioxus::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use vmo_engine::jobs::log::{diff_hosts, DiffLine, DiffTag, Grouping, JobLog, NotRun, Stream};
use vmo_engine::jobs::JobDetail;

/// Lines shown per group (and per diff); the rest is in the other views and the exports.
const SHOWN_LINES: usize = 200;

#[component]
pub fn Grouped(
    detail: JobDetail,
    log: Signal<JobLog>,
    loaded: bool,
    stream: Option<Stream>,
) -> Element {
    let mut diff_of = use_signal(|| None::<u32>);
    // host -> (digest, lines), for finished hosts; dropped when the log (re)loads.
    let digests = use_hook(|| Rc::new(RefCell::new((false, HashMap::<u32, (u64, usize)>::new()))));
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
    let ran: Vec<u32> = detail
        .hosts
        .iter()
        .filter(|h| h.state.is_final() && !not_run.iter().any(|n| n.host == h.host))
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
            for (g, group) in groups.iter().enumerate() {
                div { key: "{g}", class: "log-group", id: "log-group-{g}",
                    div { class: "log-group-head",
                        strong { {group.hosts.iter().map(|h| log.host_name(*h).into_owned()).collect::<Vec<_>>().join(", ")} }
                        span { class: "muted", " — {group.hosts.len()} host" if group.hosts.len() != 1 { "s" } ", {group.lines} lines" }
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
            if !grouping.not_run.is_empty() {
                div { class: "log-group not-run", id: "log-not-run",
                    div { class: "log-group-head",
                        strong { "Did not run" }
                        span { class: "muted", " — {grouping.not_run.len()} host" if grouping.not_run.len() != 1 { "s" } ", not compared" }
                    }
                    ul { class: "not-run-list",
                        for n in grouping.not_run.iter() {
                            li { key: "{n.host}", id: "log-not-run-{n.host}",
                                strong { "{log.host_name(n.host)}" }
                                " — {n.reason}"
                            }
                        }
                    }
                }
            }
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
