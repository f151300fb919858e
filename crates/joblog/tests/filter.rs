//! Filtering lines by host, stream and text.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use vmo_joblog::{Chunk, JobLog, LogFilter, Stream, TextMatch};

fn sample() -> JobLog {
    let mut log = JobLog::new(vec!["a".into(), "b".into(), "c".into()]);
    let chunks: [(u32, Stream, &str); 6] = [
        (0, Stream::Stdout, "Starting service\n"),        // 0
        (1, Stream::Stderr, "ERROR: disk full\n"),        // 1
        (2, Stream::Stdout, "\x1b[31merror\x1b[0m 42\n"), // 2
        (0, Stream::Stderr, "warning: error 7 ahead\n"),  // 3
        (1, Stream::Stdout, "done\n"),                    // 4
        (2, Stream::Marker, "[host unreachable]"),        // 5
    ];
    for (id, (host, stream, text)) in chunks.into_iter().enumerate() {
        log.push(&Chunk {
            id: id as i64 + 1,
            host,
            stream,
            at_ms: 0,
            data: text.as_bytes().to_vec(),
        });
    }
    log
}

fn text(pattern: &str, regex: bool, case_sensitive: bool) -> Option<TextMatch> {
    Some(TextMatch::new(pattern, regex, case_sensitive).unwrap())
}

#[test]
fn empty_filter_matches_everything() {
    let log = sample();
    assert_eq!(log.filter(&LogFilter::default()), [0, 1, 2, 3, 4, 5]);
}

#[test]
fn by_host_set() {
    let log = sample();
    let filter = LogFilter {
        hosts: Some(HashSet::from([0, 2])),
        ..LogFilter::default()
    };
    assert_eq!(log.filter(&filter), [0, 2, 3, 5]);
    let unknown = LogFilter {
        hosts: Some(HashSet::from([99])),
        ..LogFilter::default()
    };
    assert!(log.filter(&unknown).is_empty());
    let none = LogFilter {
        hosts: Some(HashSet::new()),
        ..LogFilter::default()
    };
    assert!(log.filter(&none).is_empty());
    let with_huge_index = LogFilter {
        hosts: Some(HashSet::from([1, u32::MAX])),
        ..LogFilter::default()
    };
    assert_eq!(log.filter(&with_huge_index), [1, 4]);
}

#[test]
fn by_stream() {
    let log = sample();
    let only = |stream| LogFilter {
        stream: Some(stream),
        ..LogFilter::default()
    };
    assert_eq!(log.filter(&only(Stream::Stdout)), [0, 2, 4]);
    assert_eq!(log.filter(&only(Stream::Stderr)), [1, 3]);
    assert_eq!(log.filter(&only(Stream::Marker)), [5]);
}

#[test]
fn plain_text_case_insensitive_and_sensitive() {
    let log = sample();
    let insensitive = LogFilter {
        text: text("error", false, false),
        ..LogFilter::default()
    };
    assert_eq!(log.filter(&insensitive), [1, 2, 3]);
    let sensitive = LogFilter {
        text: text("ERROR", false, true),
        ..LogFilter::default()
    };
    assert_eq!(log.filter(&sensitive), [1]);
}

#[test]
fn plain_text_is_not_a_regex() {
    let log = sample();
    let filter = LogFilter {
        text: text("[host", false, false),
        ..LogFilter::default()
    };
    assert_eq!(log.filter(&filter), [5]);
    let dot = LogFilter {
        text: text("d.ne", false, false),
        ..LogFilter::default()
    };
    assert!(log.filter(&dot).is_empty());
}

#[test]
fn plain_case_insensitive_folds_unicode() {
    let mut log = JobLog::new(vec!["a".into()]);
    log.push(&Chunk {
        id: 1,
        host: 0,
        stream: Stream::Stdout,
        at_ms: 0,
        data: "GRÜSSE aus Köln\nnothing\n".as_bytes().to_vec(),
    });
    let filter = LogFilter {
        text: text("köln", false, false),
        ..LogFilter::default()
    };
    assert_eq!(log.filter(&filter), [0]);
}

#[test]
fn regex_matches_the_visible_text() {
    let log = sample();
    let filter = LogFilter {
        text: text("^error 42$", true, true),
        ..LogFilter::default()
    };
    assert_eq!(log.filter(&filter), [2]);
    let insensitive = LogFilter {
        text: text(r"^error\b", true, false),
        ..LogFilter::default()
    };
    assert_eq!(log.filter(&insensitive), [1, 2]);
}

#[test]
fn ansi_codes_do_not_match_plain_text() {
    let log = sample();
    let filter = LogFilter {
        text: text("[31m", false, true),
        ..LogFilter::default()
    };
    assert!(log.filter(&filter).is_empty());
}

#[test]
fn bad_regex_names_the_problem() {
    let err = TextMatch::new("error [0-9", true, true).unwrap_err();
    assert_eq!(err, "invalid regular expression: unclosed character class");
    let err = TextMatch::new("(a", true, false).unwrap_err();
    assert!(err.contains("unclosed group"), "{err}");
    assert!(TextMatch::new("error [0-9", false, true).is_ok());
}

#[test]
fn all_parts_must_match() {
    let log = sample();
    let filter = LogFilter {
        hosts: Some(HashSet::from([0, 1])),
        stream: Some(Stream::Stderr),
        text: text("error", false, false),
    };
    assert_eq!(log.filter(&filter), [1, 3]);
    let narrower = LogFilter {
        hosts: Some(HashSet::from([0])),
        ..filter
    };
    assert_eq!(log.filter(&narrower), [3]);
}

#[test]
fn single_line_checks_agree_with_filter() {
    let log = sample();
    let filter = LogFilter {
        stream: Some(Stream::Stdout),
        text: text("ERROR", false, false),
        ..LogFilter::default()
    };
    let one_by_one: Vec<u32> = log
        .lines()
        .enumerate()
        .filter(|(_, line)| filter.matches(line))
        .map(|(i, _)| i as u32)
        .collect();
    assert_eq!(one_by_one, log.filter(&filter));
    assert_eq!(one_by_one, [2]);
    assert!(TextMatch::new("Error 4", false, false)
        .unwrap()
        .is_match("\x1b[1merror\x1b[0m 42"));
}

#[test]
fn filter_from_only_looks_at_newer_lines() {
    let log = sample();
    let filter = LogFilter {
        text: text("error", false, false),
        ..LogFilter::default()
    };
    assert_eq!(log.filter_from(&filter, 2), [2, 3]);
    assert!(log.filter_from(&filter, 100).is_empty());
    // In slices, the same answer as in one go.
    let whole = log.filter(&filter);
    let sliced: Vec<u32> = (0..log.len())
        .step_by(2)
        .flat_map(|start| log.filter_range(&filter, start..(start + 2).min(log.len())))
        .collect();
    assert_eq!(sliced, whole);
    let (high, low) = (3, 1);
    assert!(
        log.filter_range(&filter, high..low).is_empty(),
        "a reversed range is empty"
    );
}

/// A million lines over 50 hosts; every 1000th line is an error, half of those coloured.
#[test]
fn a_million_lines_by_regex() {
    const LINES: usize = 1_000_000;
    const HOSTS: u32 = 50;
    let mut log = JobLog::new((0..HOSTS).map(|h| format!("host-{h:02}")).collect());
    let mut data: Vec<Vec<u8>> = vec![Vec::new(); HOSTS as usize];
    for i in 0..LINES {
        let line = match i % 2000 {
            0 => format!("error {i}: something broke\n"),
            1000 => format!("\x1b[1;31merror {i}\x1b[0m: coloured\n"),
            _ => format!("line {i}: all good, no errors here, error code none\n"),
        };
        data[i % HOSTS as usize].extend_from_slice(line.as_bytes());
    }
    for (host, bytes) in data.into_iter().enumerate() {
        log.push(&Chunk {
            id: host as i64 + 1,
            host: host as u32,
            stream: Stream::Stdout,
            at_ms: 0,
            data: bytes,
        });
    }
    assert_eq!(log.len(), LINES);

    let filter = LogFilter {
        text: text("error [0-9]+", true, true),
        ..LogFilter::default()
    };
    // The fastest of three runs: a busy machine's noise does not count.
    let mut elapsed = Duration::MAX;
    let mut matches = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        matches = log.filter(&filter);
        elapsed = elapsed.min(started.elapsed());
    }
    println!("filtered {LINES} lines by regex in {elapsed:?}");

    assert_eq!(matches.len(), LINES / 1000);
    for &index in &matches {
        let text = log.line(index as usize).unwrap().text;
        assert!(text.contains("error "), "{text}");
        assert!(!text.starts_with("line "), "{text}");
    }
    let coloured = matches
        .iter()
        .filter(|&&i| log.line(i as usize).unwrap().text.contains('\x1b'))
        .count();
    assert_eq!(coloured, LINES / 2000);
    assert!(matches.windows(2).all(|pair| pair[0] < pair[1]));
    assert!(
        elapsed < FILTER_BOUND,
        "filtering took {elapsed:?}, expected under {FILTER_BOUND:?}"
    );
}

/// How long filtering a million lines may take (the fastest of three runs). Release: the
/// bound the UI was designed to (it filters in slices between frames); 48 ms measured.
/// Debug, as `cargo test` and CI build it (regex and iterators unoptimised): 1.1-1.2 s
/// measured on a 2-core machine shared with other builds, so 3 s leaves room for that
/// noise and still fails a regression in kind: compiling the regex per line took 172 s.
/// (Smaller costs, such as stripping escapes from every line, 1.5 s, pass in debug; the
/// release bound is for those.)
const FILTER_BOUND: Duration = if cfg!(debug_assertions) {
    Duration::from_secs(3)
} else {
    Duration::from_millis(300)
};
