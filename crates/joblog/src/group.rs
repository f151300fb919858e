//! Folding hosts with identical output together, and showing how an outlier differs.
//!
//! A host's output is its stdout lines and its stderr lines, each compared as a sequence;
//! markers (notes from the engine) are ignored. The two streams are compared separately
//! because how they interleave depends on timing, not on what the command did. Hosts that
//! never ran the command are not grouped at all ([`Grouping`]): "no output" because the
//! connection was refused is not the same output as a command that printed nothing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use similar::{capture_diff_slices_deadline, Algorithm, ChangeTag};

use crate::{JobLog, Stream};

/// Hosts whose output is identical.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputGroup {
    /// In ascending order.
    pub hosts: Vec<u32>,
    /// Lines of the shared output (stdout and stderr).
    pub lines: usize,
}

/// Groups `hosts` (e.g. the finished ones) by identical output: largest group first, ties
/// broken by lowest host index. Repeated hosts count once.
pub fn group_hosts(log: &JobLog, hosts: &[u32]) -> Vec<OutputGroup> {
    let mut wanted = hosts.to_vec();
    wanted.sort_unstable();
    wanted.dedup();

    let slots: HashMap<u32, usize> = wanted
        .iter()
        .enumerate()
        .map(|(slot, &host)| (host, slot))
        .collect();
    let mut outputs = vec![HostOutput::default(); wanted.len()];
    for line in log.lines() {
        if let Some(&slot) = slots.get(&line.host) {
            match line.stream {
                Stream::Stdout => outputs[slot].stdout.push(line.text),
                Stream::Stderr => outputs[slot].stderr.push(line.text),
                Stream::Marker => {}
            }
        }
    }

    let mut by_output: HashMap<&HostOutput<'_>, usize> = HashMap::new();
    let mut groups: Vec<OutputGroup> = Vec::new();
    for (host, output) in wanted.iter().zip(&outputs) {
        let index = *by_output.entry(output).or_insert_with(|| {
            groups.push(OutputGroup {
                hosts: Vec::new(),
                lines: output.stdout.len() + output.stderr.len(),
            });
            groups.len() - 1
        });
        groups[index].hosts.push(*host);
    }
    // Groups were created in ascending order of their first host; a stable sort keeps that
    // order among groups of equal size.
    groups.sort_by_key(|group| std::cmp::Reverse(group.hosts.len()));
    groups
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct HostOutput<'a> {
    stdout: Vec<&'a str>,
    stderr: Vec<&'a str>,
}

/// A one-line summary such as "identical on 47 hosts, 3 differ",
/// "identical on all 5 hosts" or "all 3 hosts differ".
pub fn group_summary(groups: &[OutputGroup]) -> String {
    let total: usize = groups.iter().map(|group| group.hosts.len()).sum();
    let largest = groups
        .iter()
        .map(|group| group.hosts.len())
        .max()
        .unwrap_or(0);
    match (total, largest) {
        (0, _) => "no hosts".to_owned(),
        (1, _) => "1 host".to_owned(),
        _ if largest == total => format!("identical on all {total} hosts"),
        (_, 1) => format!("all {total} hosts differ"),
        _ => {
            let rest = total - largest;
            let verb = if rest == 1 { "differs" } else { "differ" };
            format!("identical on {largest} hosts, {rest} {verb}")
        }
    }
}

/// A host left out of the grouping because it never ran the command (it could not
/// connect, was skipped, or was cancelled before it started): it has no output to compare,
/// and an empty output would otherwise make all such hosts one "identical" group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotRun {
    pub host: u32,
    /// Why, for people: "connection refused", "skipped: web-1 did not succeed".
    pub reason: String,
}

/// What the grouped view shows: the hosts that ran, folded by identical output, and the
/// hosts that did not run, apart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grouping {
    /// Largest first, ties broken by lowest host.
    pub groups: Vec<OutputGroup>,
    /// In ascending host order.
    pub not_run: Vec<NotRun>,
}

impl Grouping {
    /// Groups hosts that ran by their output digests ([`JobLog::output_digest`]: equal
    /// digests, identical output); `not_run` is kept apart. A host listed as not run is
    /// never grouped, even if it has a digest.
    pub fn by_digest(ran: &[(u32, (u64, usize))], mut not_run: Vec<NotRun>) -> Self {
        not_run.sort_by_key(|n| n.host);
        not_run.dedup_by_key(|n| n.host);
        let mut sorted: Vec<(u32, (u64, usize))> = ran
            .iter()
            .copied()
            .filter(|(host, _)| not_run.binary_search_by_key(host, |n| n.host).is_err())
            .collect();
        sorted.sort_unstable_by_key(|(host, _)| *host);
        sorted.dedup_by_key(|(host, _)| *host);
        // By digest through a map: 10,000 hosts that all differ are 10,000 lookups, not
        // 50 million comparisons.
        let mut groups: Vec<OutputGroup> = Vec::new();
        let mut by_digest: HashMap<u64, usize> = HashMap::new();
        for (host, (digest, lines)) in sorted {
            match by_digest.get(&digest) {
                Some(at) => groups[*at].hosts.push(host),
                None => {
                    by_digest.insert(digest, groups.len());
                    groups.push(OutputGroup {
                        hosts: vec![host],
                        lines,
                    });
                }
            }
        }
        // Stable: equal sizes keep the order of their lowest host.
        groups.sort_by_key(|g| std::cmp::Reverse(g.hosts.len()));
        Self { groups, not_run }
    }

    /// [`group_summary`] of the hosts that ran, and how many did not:
    /// "identical on all 2 hosts; 1 did not run".
    pub fn summary(&self) -> String {
        let ran = group_summary(&self.groups);
        match (self.groups.is_empty(), self.not_run.len()) {
            (_, 0) => ran,
            (true, n) => format!("no host ran; {n} did not run"),
            (false, n) => format!("{ran}; {n} did not run"),
        }
    }
}

/// Whether a diff line is shared, only in the outlier, or only in the majority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffTag {
    Same,
    Added,
    Removed,
}

/// One entry of a unified-style diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    pub tag: DiffTag,
    /// Stdout entries come first, then stderr ones.
    pub stream: Stream,
    pub text: String,
}

/// How long a diff may search for the smallest edit; past that it settles for a larger but
/// still correct one, so two huge, very different outputs cannot freeze the viewer.
const DIFF_TIME_LIMIT: Duration = Duration::from_secs(1);

/// A unified-style diff of `outlier_host`'s output against `majority_host`'s (normally the
/// first host of the largest group): every line of both, tagged [`DiffTag::Same`],
/// [`DiffTag::Removed`] (only the majority has it) or [`DiffTag::Added`] (only the outlier
/// has it). Stdout is diffed, then stderr; markers are ignored.
pub fn diff_hosts(log: &JobLog, majority_host: u32, outlier_host: u32) -> Vec<DiffLine> {
    let mut diff = Vec::new();
    for stream in [Stream::Stdout, Stream::Stderr] {
        let old: Vec<&str> = log.host_output(majority_host, stream).collect();
        let new: Vec<&str> = log.host_output(outlier_host, stream).collect();
        let deadline = Instant::now() + DIFF_TIME_LIMIT;
        for op in capture_diff_slices_deadline(Algorithm::Myers, &old, &new, Some(deadline)) {
            diff.extend(
                op.iter_changes(old.as_slice(), new.as_slice())
                    .map(|change| DiffLine {
                        tag: match change.tag() {
                            ChangeTag::Equal => DiffTag::Same,
                            ChangeTag::Insert => DiffTag::Added,
                            ChangeTag::Delete => DiffTag::Removed,
                        },
                        stream,
                        text: change.value().to_owned(),
                    }),
            );
        }
    }
    diff
}
