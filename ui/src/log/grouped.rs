//! Hosts with identical output folded together ("identical on 47 hosts, 3 differ"), each
//! group's output shown once, and a diff of any other group against the largest one.

use dioxus::prelude::*;
use vmo_engine::jobs::log::{diff_hosts, group_hosts, group_summary, DiffTag, JobLog, Stream};
use vmo_engine::jobs::JobDetail;

/// Lines shown per group; the rest is in the other views and the exports.
const SHOWN_LINES: usize = 200;

#[component]
pub fn Grouped(detail: JobDetail, log: Signal<JobLog>, stream: Option<Stream>) -> Element {
    let mut diff_of = use_signal(|| None::<u32>);
    let log = log.read();
    // Only finished hosts: a running host's output is not its output yet.
    let finished: Vec<u32> = detail
        .hosts
        .iter()
        .filter(|h| h.state.is_final())
        .map(|h| h.host)
        .collect();
    let groups = group_hosts(&log, &finished);
    let summary = group_summary(&groups);
    let majority = groups.first().and_then(|g| g.hosts.first().copied());
    let streams: Vec<Stream> = match stream {
        Some(s) => vec![s],
        None => vec![Stream::Stdout, Stream::Stderr],
    };
    rsx! {
        div { class: "log-groups", id: "log-groups",
            p { class: "group-summary", id: "log-group-summary", "{summary}" }
            if finished.len() < detail.hosts.len() {
                p { class: "muted", "{detail.hosts.len() - finished.len()} hosts still running are not grouped yet." }
            }
            for (g, group) in groups.iter().enumerate() {
                div { key: "{g}", class: "log-group", id: "log-group-{g}",
                    div { class: "log-group-head",
                        strong {
                            {group.hosts.iter().map(|h| log.host_name(*h).into_owned()).collect::<Vec<_>>().join(", ")}
                        }
                        span { class: "muted", " — {group.hosts.len()} host" if group.hosts.len() != 1 { "s" } ", {group.lines} lines" }
                        if g > 0 {
                            if let (Some(major), Some(first)) = (majority, group.hosts.first().copied()) {
                                button {
                                    class: "button small",
                                    id: "log-diff-{g}",
                                    onclick: move |_| diff_of.set(if diff_of() == Some(first) { None } else { Some(first) }),
                                    if diff_of() == Some(first) { "Hide diff" } else { "Diff against {log.host_name(major)}" }
                                }
                            }
                        }
                    }
                    if let (Some(major), Some(first), true) = (majority, group.hosts.first().copied(), diff_of() == group.hosts.first().copied()) {
                        pre { class: "log-diff", id: "log-diff",
                            for (n, line) in diff_hosts(&log, major, first).into_iter().enumerate().take(SHOWN_LINES) {
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
                                    "{line.text}"
                                }
                            }
                        }
                    } else if let Some(first) = group.hosts.first().copied() {
                        pre { class: "log-group-output",
                            for (n, (s, text)) in streams.iter().flat_map(|s| log.host_output(first, *s).map(move |t| (*s, t))).enumerate().take(SHOWN_LINES) {
                                div { key: "{n}", class: if s == Stream::Stderr { "stderr" } else { "" }, "{text}" }
                            }
                        }
                    }
                }
            }
        }
    }
}
