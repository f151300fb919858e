//! Hosts with identical output folded together ("identical on 47 hosts, 3 differ"), each
//! group's output shown once, and a diff of any other group against the largest one.
//!
//! Each host's output is digested once, when it has finished (finished output no longer
//! changes), reading only that host's lines; grouping is then a comparison of digests. So
//! the view stays cheap however much the hosts still running keep printing.

use dioxus::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use vmo_engine::jobs::log::{
    diff_hosts, group_summary, DiffLine, DiffTag, JobLog, OutputGroup, Stream,
};
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
    // Only finished hosts: a running host's output is not its output yet.
    let finished: Vec<u32> = detail
        .hosts
        .iter()
        .filter(|h| h.state.is_final())
        .map(|h| h.host)
        .collect();
    let running = detail.hosts.len() - finished.len();
    let groups = {
        let mut cache = digests.borrow_mut();
        if cache.0 != loaded {
            *cache = (loaded, HashMap::new());
        }
        for host in &finished {
            cache
                .1
                .entry(*host)
                .or_insert_with(|| log.output_digest(*host));
        }
        group_by_digest(&finished, &cache.1)
    };
    let summary = group_summary(&groups);
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
                                div { key: "{n}", class: if s == Stream::Stderr { "stderr" } else { "" }, "{text}" }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Hosts with equal digests together, largest group first, ties by lowest host.
fn group_by_digest(hosts: &[u32], digests: &HashMap<u32, (u64, usize)>) -> Vec<OutputGroup> {
    let mut sorted = hosts.to_vec();
    sorted.sort_unstable();
    let mut groups: Vec<(u64, OutputGroup)> = Vec::new();
    for host in sorted {
        let Some(&(digest, lines)) = digests.get(&host) else {
            continue;
        };
        match groups.iter_mut().find(|(d, _)| *d == digest) {
            Some((_, group)) => group.hosts.push(host),
            None => groups.push((
                digest,
                OutputGroup {
                    hosts: vec![host],
                    lines,
                },
            )),
        }
    }
    // Stable: equal sizes keep the order of their lowest host.
    groups.sort_by_key(|g| std::cmp::Reverse(g.1.hosts.len()));
    groups.into_iter().map(|(_, g)| g).collect()
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
                    "{line.text}"
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_group_largest_first() {
        let digests: HashMap<u32, (u64, usize)> = [
            (0, (7, 2)),
            (1, (9, 1)),
            (2, (7, 2)),
            (3, (9, 1)),
            (4, (7, 2)),
            (5, (1, 0)),
        ]
        .into_iter()
        .collect();
        let groups = group_by_digest(&[5, 4, 3, 2, 1, 0], &digests);
        let hosts: Vec<Vec<u32>> = groups.iter().map(|g| g.hosts.clone()).collect();
        assert_eq!(hosts, [vec![0, 2, 4], vec![1, 3], vec![5]]);
        assert_eq!(group_summary(&groups), "identical on 3 hosts, 3 differ");
    }
}
