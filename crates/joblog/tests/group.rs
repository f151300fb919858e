//! Grouping hosts by identical output, the summary line, and the outlier diff.

use std::time::{Duration, Instant};
use vmo_joblog::{
    diff_hosts, group_hosts, group_summary, Chunk, DiffLine, DiffTag, Grouping, JobLog, NotRun,
    OutputGroup, Stream,
};

/// A log whose host `i` printed `outputs[i]` on stdout (and nothing else).
fn log_with(outputs: &[&str]) -> JobLog {
    let mut log = JobLog::new((0..outputs.len()).map(|i| format!("h{i}")).collect());
    for (host, output) in outputs.iter().enumerate() {
        log.push(&Chunk {
            id: host as i64 + 1,
            host: host as u32,
            stream: Stream::Stdout,
            at_ms: host as i64,
            data: output.as_bytes().to_vec(),
        });
    }
    log.flush_all();
    log
}

fn push(log: &mut JobLog, host: u32, stream: Stream, data: &str) {
    let id = log.last_chunk_id() + 1;
    log.push(&Chunk {
        id,
        host,
        stream,
        at_ms: 0,
        data: data.as_bytes().to_vec(),
    });
}

fn group(hosts: &[u32], lines: usize) -> OutputGroup {
    OutputGroup {
        hosts: hosts.to_vec(),
        lines,
    }
}

#[test]
fn three_identical_and_two_different() {
    let log = log_with(&[
        "ok\nversion 1.2\n",
        "failed\n",
        "ok\nversion 1.2\n",
        "ok\nversion 1.3\n",
        "ok\nversion 1.2\n",
    ]);
    let groups = group_hosts(&log, &[0, 1, 2, 3, 4]);
    assert_eq!(
        groups,
        [group(&[0, 2, 4], 2), group(&[1], 1), group(&[3], 2)]
    );
    assert_eq!(group_summary(&groups), "identical on 3 hosts, 2 differ");
}

#[test]
fn all_identical() {
    let log = log_with(&["same\n"; 5]);
    let groups = group_hosts(&log, &[4, 3, 2, 1, 0]);
    assert_eq!(groups, [group(&[0, 1, 2, 3, 4], 1)]);
    assert_eq!(group_summary(&groups), "identical on all 5 hosts");
}

#[test]
fn all_differ() {
    let log = log_with(&["a\n", "b\n", "c\n"]);
    let groups = group_hosts(&log, &[0, 1, 2]);
    assert_eq!(groups, [group(&[0], 1), group(&[1], 1), group(&[2], 1)]);
    assert_eq!(group_summary(&groups), "all 3 hosts differ");
}

#[test]
fn ties_go_to_the_lowest_host() {
    let log = log_with(&["b\n", "a\n", "b\n", "a\n"]);
    let groups = group_hosts(&log, &[0, 1, 2, 3]);
    assert_eq!(groups, [group(&[0, 2], 1), group(&[1, 3], 1)]);
    assert_eq!(group_summary(&groups), "identical on 2 hosts, 2 differ");
}

#[test]
fn only_the_given_hosts_count_once_each() {
    let log = log_with(&["x\n", "y\n", "x\n", "x\n"]);
    let groups = group_hosts(&log, &[1, 2, 2, 3]);
    assert_eq!(groups, [group(&[2, 3], 1), group(&[1], 1)]);
    assert_eq!(group_summary(&groups), "identical on 2 hosts, 1 differs");
}

#[test]
fn hosts_without_output_form_their_own_group() {
    let log = log_with(&["", "out\n", ""]);
    let groups = group_hosts(&log, &[0, 1, 2]);
    assert_eq!(groups, [group(&[0, 2], 0), group(&[1], 1)]);
}

#[test]
fn markers_are_ignored_and_streams_compared_apart() {
    let mut log = JobLog::new(vec!["a".into(), "b".into(), "c".into()]);
    // a and b print the same, interleaved differently and with an engine note on b.
    push(&mut log, 0, Stream::Stdout, "out 1\n");
    push(&mut log, 0, Stream::Stderr, "err 1\n");
    push(&mut log, 0, Stream::Stdout, "out 2\n");
    push(&mut log, 1, Stream::Stderr, "err 1\n");
    push(&mut log, 1, Stream::Stdout, "out 1\nout 2\n");
    push(&mut log, 1, Stream::Marker, "[reconnected]");
    // c prints the same lines, but "err 1" on stdout.
    push(&mut log, 2, Stream::Stdout, "out 1\nerr 1\nout 2\n");
    let groups = group_hosts(&log, &[0, 1, 2]);
    assert_eq!(groups, [group(&[0, 1], 3), group(&[2], 3)]);
}

#[test]
fn summary_edge_cases() {
    assert_eq!(group_summary(&[]), "no hosts");
    assert_eq!(group_summary(&[group(&[7], 3)]), "1 host");
    assert_eq!(
        group_summary(&[group(&[0, 1, 2, 3], 1), group(&[4], 1)]),
        "identical on 4 hosts, 1 differs"
    );
}

fn diff_line(tag: DiffTag, text: &str) -> DiffLine {
    DiffLine {
        tag,
        stream: Stream::Stdout,
        text: text.to_owned(),
    }
}

#[test]
fn diff_shows_one_changed_line_as_removed_and_added() {
    let log = log_with(&[
        "kernel 6.1\nuptime ok\nversion 1.2\ndisk ok\n",
        "kernel 6.1\nuptime ok\nversion 1.3\ndisk ok\n",
    ]);
    assert_eq!(
        diff_hosts(&log, 0, 1),
        [
            diff_line(DiffTag::Same, "kernel 6.1"),
            diff_line(DiffTag::Same, "uptime ok"),
            diff_line(DiffTag::Removed, "version 1.2"),
            diff_line(DiffTag::Added, "version 1.3"),
            diff_line(DiffTag::Same, "disk ok"),
        ]
    );
}

#[test]
fn diff_of_identical_output_is_all_same() {
    let log = log_with(&["a\nb\n", "a\nb\n"]);
    let diff = diff_hosts(&log, 0, 1);
    assert_eq!(diff.len(), 2);
    assert!(diff.iter().all(|line| line.tag == DiffTag::Same));
}

#[test]
fn diff_covers_stderr_after_stdout_and_skips_markers() {
    let mut log = JobLog::new(vec!["a".into(), "b".into()]);
    push(&mut log, 0, Stream::Stdout, "same\n");
    push(&mut log, 1, Stream::Stdout, "same\nextra\n");
    push(&mut log, 0, Stream::Stderr, "warn\n");
    push(&mut log, 1, Stream::Marker, "[note]");
    let diff = diff_hosts(&log, 0, 1);
    let stderr_removed = DiffLine {
        tag: DiffTag::Removed,
        stream: Stream::Stderr,
        text: "warn".to_owned(),
    };
    assert_eq!(
        diff,
        [
            diff_line(DiffTag::Same, "same"),
            diff_line(DiffTag::Added, "extra"),
            stderr_removed,
        ]
    );
}

#[test]
fn grouping_a_large_log_is_right() {
    // 200 hosts × 500 lines: every host but one prints the same.
    let lines = numbered_lines(500);
    let mut outputs = vec![lines.as_str(); 200];
    let odd = lines.replace("line 250\n", "line 250 changed\n");
    outputs[17] = &odd;
    let log = log_with(&outputs);
    let hosts: Vec<u32> = (0..200).collect();
    let groups = group_hosts(&log, &hosts);
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].hosts.len(), 199);
    assert_eq!(groups[1], group(&[17], 500));
    assert_eq!(group_summary(&groups), "identical on 199 hosts, 1 differs");
    let changed: Vec<DiffLine> = diff_hosts(&log, groups[0].hosts[0], 17)
        .into_iter()
        .filter(|line| line.tag != DiffTag::Same)
        .collect();
    assert_eq!(
        changed,
        [
            diff_line(DiffTag::Removed, "line 250"),
            diff_line(DiffTag::Added, "line 250 changed"),
        ]
    );
}

fn numbered_lines(n: usize) -> String {
    (0..n).map(|i| format!("line {i}\n")).collect()
}

/// The fastest of several runs of grouping `hosts` hosts of `lines` lines each (every host
/// but one printing the same), so that a busy machine's noise does not count.
fn fastest_grouping(hosts: usize, lines: usize) -> Duration {
    let same = numbered_lines(lines);
    let odd = same.replace("line 1\n", "line 1 changed\n");
    let mut outputs = vec![same.as_str(); hosts];
    outputs[hosts / 2] = &odd;
    let log = log_with(&outputs);
    let all: Vec<u32> = (0..hosts as u32).collect();
    (0..7)
        .map(|_| {
            let started = Instant::now();
            let groups = group_hosts(&log, &all);
            let took = started.elapsed();
            assert_eq!(groups.len(), 2);
            assert_eq!(groups[0].hosts.len(), hosts - 1);
            took
        })
        .min()
        .unwrap_or_default()
}

/// Grouping grows linearly with the log: ten times the hosts, or ten times the lines per
/// host, takes less than twenty times as long (quadratic growth would take a hundred).
#[test]
fn grouping_is_linear_in_hosts_and_in_lines() {
    let base = fastest_grouping(100, 200);
    let more_hosts = fastest_grouping(1000, 200);
    let more_lines = fastest_grouping(100, 2000);
    let ratio = |t: Duration| t.as_secs_f64() / base.as_secs_f64();
    println!(
        "grouping 100 × 200 lines: {base:?}; 1000 hosts: {more_hosts:?} ({:.1}×); \
         2000 lines: {more_lines:?} ({:.1}×)",
        ratio(more_hosts),
        ratio(more_lines)
    );
    assert!(base > Duration::ZERO, "too fast to measure: {base:?}");
    assert!(
        ratio(more_hosts) < 20.0,
        "10× the hosts: {:.1}×",
        ratio(more_hosts)
    );
    assert!(
        ratio(more_lines) < 20.0,
        "10× the lines: {:.1}×",
        ratio(more_lines)
    );
}

#[test]
fn output_digests_agree_with_grouping() {
    let mut log = log_with(&["a\nb\n", "a\nb\n", "a\nc\n", "a\nb\n", ""]);
    // Same stdout, but one host also wrote to stderr: different output.
    push(&mut log, 3, Stream::Stderr, "oops\n");
    // A marker is not output.
    push(&mut log, 1, Stream::Marker, "[cut]\n");
    let digest = |h| log.output_digest(h);
    assert_eq!(digest(0), digest(1));
    assert_ne!(digest(0), digest(2));
    assert_ne!(digest(0), digest(3));
    assert_eq!(digest(0).1, 2);
    assert_eq!(digest(3).1, 3);
    assert_eq!(digest(4).1, 0);
    // Lines moved from stdout to stderr are not the same output.
    let mut moved = log_with(&["x\n", ""]);
    push(&mut moved, 1, Stream::Stderr, "x\n");
    assert_ne!(moved.output_digest(0), moved.output_digest(1));
    let groups = group_hosts(&log, &[0, 1, 2, 3, 4]);
    assert_eq!(groups[0].hosts, [0, 1]);
}

fn not_run(host: u32, reason: &str) -> NotRun {
    NotRun {
        host,
        reason: reason.to_owned(),
    }
}

fn digests(log: &JobLog, hosts: &[u32]) -> Vec<(u32, (u64, usize))> {
    hosts.iter().map(|&h| (h, log.output_digest(h))).collect()
}

#[test]
fn hosts_that_did_not_run_are_apart_not_an_identical_group() {
    // Two hosts printed the same; three never ran (no output at all). Counted as output,
    // the three empty ones would be the largest "identical" group.
    let log = log_with(&["\x1b[31mred\x1b[0m\n", "", "\x1b[31mred\x1b[0m\n", "", ""]);
    let grouping = Grouping::by_digest(
        &digests(&log, &[0, 1, 2, 3, 4]),
        vec![
            not_run(4, "skipped: h0 did not succeed"),
            not_run(1, "connection refused"),
            not_run(3, "cancelled before it started"),
        ],
    );
    assert_eq!(grouping.groups, [group(&[0, 2], 1)]);
    assert_eq!(
        grouping.not_run,
        [
            not_run(1, "connection refused"),
            not_run(3, "cancelled before it started"),
            not_run(4, "skipped: h0 did not succeed"),
        ]
    );
    assert_eq!(
        grouping.summary(),
        "identical on all 2 hosts; 3 did not run"
    );
}

#[test]
fn a_command_that_printed_nothing_still_groups() {
    // Empty output from a command that ran is output: grouped, not "did not run".
    let log = log_with(&["", "", "x\n"]);
    let grouping = Grouping::by_digest(&digests(&log, &[0, 1, 2]), Vec::new());
    assert_eq!(grouping.groups, [group(&[0, 1], 0), group(&[2], 1)]);
    assert!(grouping.not_run.is_empty());
    assert_eq!(grouping.summary(), "identical on 2 hosts, 1 differs");
}

#[test]
fn digest_grouping_matches_log_grouping() {
    let log = log_with(&["b\n", "a\n", "b\n", "a\n", "b\n", "c\n"]);
    let hosts = [5, 4, 3, 2, 1, 0];
    let grouping = Grouping::by_digest(&digests(&log, &hosts), Vec::new());
    assert_eq!(grouping.groups, group_hosts(&log, &hosts));
    assert_eq!(
        grouping.groups,
        [group(&[0, 2, 4], 1), group(&[1, 3], 1), group(&[5], 1)]
    );
}

#[test]
fn summary_when_no_host_ran() {
    let grouping = Grouping::by_digest(&[], vec![not_run(0, "refused"), not_run(1, "refused")]);
    assert!(grouping.groups.is_empty());
    assert_eq!(grouping.summary(), "no host ran; 2 did not run");
    // A host both listed as not run and given a digest is not grouped.
    let log = log_with(&["x\n", "x\n"]);
    let grouping = Grouping::by_digest(&digests(&log, &[0, 1]), vec![not_run(1, "refused")]);
    assert_eq!(grouping.groups, [group(&[0], 1)]);
    assert_eq!(grouping.summary(), "1 host; 1 did not run");
}
