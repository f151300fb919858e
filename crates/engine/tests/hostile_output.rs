//! Remote output that tries to hurt, run as jobs on a real sshd: a 100 MB line without a
//! newline, bytes that are not UTF-8, escape sequences that set the window title or the
//! clipboard, hyperlinks, NULs, a carriage-return storm, a `yes` that never ends. Each is
//! stored exactly as the host produced it (compared with a copy the remote side tees into a
//! file), ends as it should, shows without a control character, and costs bounded memory.
//!
//! The tests take turns (one lock), so each memory figure is its own job's.

mod common;

use common::{fleet_setup, FleetSetup};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use vmo_engine::jobs::log::{ansi, Stream, MAX_LINE};
use vmo_engine::jobs::{HostState, JobDetail, JobId, JobOptions, JobSpec, JobState, Origin};
use vmo_engine::{Engine, JobEvent};
use vmo_testkit::Fleet;

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn spec(command: &str, s: &FleetSetup, timeout: Option<Duration>) -> JobSpec {
    JobSpec {
        command: command.into(),
        targets: s.vms.clone(),
        target_label: "host0".into(),
        options: JobOptions {
            timeout,
            ..JobOptions::default()
        },
        origin: Origin::App,
        retry_of: None,
        template: None,
    }
}

/// Runs `command` on host0 as a job and waits for it to finish.
async fn run(s: &FleetSetup, command: &str, timeout: Option<Duration>) -> JobDetail {
    let mut events = s.engine.jobs().subscribe();
    let job = s
        .engine
        .jobs()
        .submit(spec(command, s, timeout))
        .await
        .unwrap();
    finished(&s.engine, &mut events, job.id).await
}

async fn finished(
    engine: &Engine,
    events: &mut broadcast::Receiver<JobEvent>,
    job: JobId,
) -> JobDetail {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(JobEvent::Finished { job: j, .. }) if j.id == job => break,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("events ended: {e}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(300), wait)
        .await
        .expect("the job finished");
    engine.jobs().detail(job).await.unwrap()
}

/// Host 0's stored bytes of `stream`, read back a page at a time.
async fn stored(engine: &Engine, job: JobId, stream: Stream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = engine.jobs().chunks(job, after, 1024).await.unwrap();
        let Some(last) = page.last() else {
            return out;
        };
        after = last.id;
        for chunk in page.iter().filter(|c| c.host == 0 && c.stream == stream) {
            out.extend_from_slice(&chunk.data);
        }
    }
}

/// A shell command that prints exactly `bytes` (every byte as an octal escape of printf)
/// and keeps a copy of what it printed in `copy`.
fn print_exactly(bytes: &[u8], copy: &Path) -> String {
    let format: String = bytes.iter().map(|b| format!("\\{b:03o}")).collect();
    format!("printf '{format}' | tee '{}'", copy.display())
}

/// This process's peak resident memory since the last reset, in kB.
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmHWM in /proc/self/status")
}

fn current_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// Starts a new peak: writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+).
fn reset_peak_rss() {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
}

/// Every line of host 0's output, as the viewer shows it, holds no control character.
async fn assert_displayed_safely(engine: &Engine, job: JobId) -> usize {
    let (_, log) = engine.jobs().log(job).await.unwrap();
    for line in log.lines() {
        assert!(line.text.len() <= 3 * MAX_LINE, "a line held whole");
        for span in ansi::spans(line.text) {
            assert!(
                span.text.chars().all(|c| c == '\t' || !c.is_control()),
                "shown: {:?}",
                span.text
            );
        }
    }
    log.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_sequences_invalid_utf8_and_nuls_are_stored_exactly_and_shown_safely() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let fleet = Fleet::start(1);
    let s = fleet_setup(&fleet).await;
    let patterns: [(&str, &[u8]); 7] = [
        (
            "window title",
            b"\x1b]0;owned title\x07\x1b]2;other\x1b\\after title\n",
        ),
        ("clipboard", b"\x1b]52;c;cm0gLXJmIH4vKgo=\x07copied?\n"),
        (
            "hyperlink",
            b"see \x1b]8;;https://evil.example/\x1b\\the docs\x1b]8;;\x1b\\\n",
        ),
        (
            "invalid UTF-8",
            b"\xff\xfe\xc0\x80 \xed\xa0\x80 half \xe2\x82\n",
        ),
        ("NULs", b"a\0b\0\0c\n\0\0\0\n"),
        (
            "bell and erase",
            b"\x07\x1b[2J\x1b[H\x1b[?1049hscreen\x1b[31mred\n",
        ),
        ("CR storm", b"10%\r20%\r\r\r100%\rdone\r\n"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (what, bytes)) in patterns.iter().enumerate() {
        let copy = dir.path().join(format!("copy{i}"));
        let detail = run(&s, &print_exactly(bytes, &copy), None).await;
        assert_eq!(detail.hosts[0].state, HostState::Succeeded, "{what}");
        let kept = stored(&s.engine, detail.job.id, Stream::Stdout).await;
        assert_eq!(&kept, bytes, "{what}: stored bytes differ from the output");
        assert_eq!(
            kept,
            std::fs::read(&copy).unwrap(),
            "{what}: differs from the host's copy"
        );
        assert!(!detail.hosts[0].truncated);
        assert!(assert_displayed_safely(&s.engine, detail.job.id).await >= 1);
    }
    // What each pattern shows, in the one display form every log view uses.
    let (_, log) = s
        .engine
        .jobs()
        .log(
            run(
                &s,
                &print_exactly(patterns[2].1, &dir.path().join("link")),
                None,
            )
            .await
            .job
            .id,
        )
        .await
        .unwrap();
    let shown: String = ansi::spans(log.line(0).unwrap().text)
        .iter()
        .map(|s| s.text.as_ref())
        .collect();
    assert_eq!(shown, "see the docs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_megabyte_line_is_stored_whole_capped_when_over_and_cut_into_pieces() {
    let _turn = ONE_AT_A_TIME.lock().await;
    const SIZE: usize = 100_000_000;
    let fleet = Fleet::start(1);
    let s = fleet_setup(&fleet).await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("line");
    let command = format!(
        "head -c {SIZE} /dev/zero | tr '\\0' x | tee '{}'",
        copy.display()
    );

    let before = current_rss_kb();
    reset_peak_rss();
    let started = Instant::now();
    let detail = run(&s, &command, None).await;
    let took = started.elapsed();
    let peak = peak_rss_kb();
    println!(
        "100 MB line: {took:.1?}, peak RSS {:.1} MB over {:.1} MB before",
        (peak.saturating_sub(before)) as f64 / 1024.0,
        before as f64 / 1024.0
    );
    assert_eq!(detail.hosts[0].state, HostState::Succeeded);
    assert!(!detail.hosts[0].truncated, "under the 256 MiB cap");
    assert_eq!(detail.hosts[0].out_bytes, SIZE as i64);
    assert!(
        peak.saturating_sub(before) < 96 * 1024,
        "a 100 MB line raised the peak by {} kB",
        peak - before
    );
    let kept = stored(&s.engine, detail.job.id, Stream::Stdout).await;
    assert_eq!(kept.len(), SIZE);
    assert!(kept.iter().all(|&b| b == b'x'));
    assert_eq!(std::fs::metadata(&copy).unwrap().len(), SIZE as u64);
    drop(kept);
    // The log model cuts it into pieces of at most MAX_LINE bytes.
    let (_, log) = s.engine.jobs().log(detail.job.id).await.unwrap();
    assert_eq!(log.len(), SIZE.div_ceil(MAX_LINE));
    assert!(log.lines().all(|l| l.text.len() <= MAX_LINE));
    drop(log);

    // Over the cap: the first bytes exactly, then the marker; the command still ran to its end.
    const CAP: u64 = 1 << 20;
    s.engine.jobs().set_output_cap(CAP);
    let detail = run(&s, &command, None).await;
    let host = &detail.hosts[0];
    assert_eq!(host.state, HostState::Succeeded);
    assert!(host.truncated);
    assert_eq!(host.out_bytes, CAP as i64);
    let kept = stored(&s.engine, detail.job.id, Stream::Stdout).await;
    assert_eq!(kept.len(), CAP as usize);
    assert!(kept.iter().all(|&b| b == b'x'));
    let marker = stored(&s.engine, detail.job.id, Stream::Marker).await;
    assert!(
        String::from_utf8_lossy(&marker).contains("output truncated at 1 MiB"),
        "{marker:?}"
    );
    assert_eq!(std::fs::metadata(&copy).unwrap().len(), SIZE as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_never_ending_yes_is_capped_then_stopped_by_the_timeout_in_bounded_memory() {
    let _turn = ONE_AT_A_TIME.lock().await;
    const CAP: u64 = 4 << 20;
    let fleet = Fleet::start(1);
    let s = fleet_setup(&fleet).await;
    s.engine.jobs().set_output_cap(CAP);
    let before = current_rss_kb();
    reset_peak_rss();
    let started = Instant::now();
    let detail = run(&s, "yes", Some(Duration::from_secs(3))).await;
    let took = started.elapsed();
    let peak = peak_rss_kb();
    println!(
        "yes for 3 s: {took:.1?}, peak RSS {:.1} MB over {:.1} MB before",
        (peak.saturating_sub(before)) as f64 / 1024.0,
        before as f64 / 1024.0
    );
    assert_eq!(detail.job.state, JobState::TimedOut);
    let host = &detail.hosts[0];
    assert_eq!(host.state, HostState::TimedOut);
    assert!(took < Duration::from_secs(30), "stopped by its timeout");
    assert!(host.truncated);
    assert_eq!(host.out_bytes, CAP as i64);
    let kept = stored(&s.engine, detail.job.id, Stream::Stdout).await;
    assert_eq!(kept, b"y\n".repeat(CAP as usize / 2));
    let marker = stored(&s.engine, detail.job.id, Stream::Marker).await;
    assert!(String::from_utf8_lossy(&marker).contains("output truncated at 4 MiB"));
    assert!(
        peak.saturating_sub(before) < 64 * 1024,
        "yes raised the peak by {} kB",
        peak - before
    );
    assert!(assert_displayed_safely(&s.engine, detail.job.id).await >= CAP as usize / 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carriage_return_storm_without_newline_is_stored_and_shows_empty() {
    let _turn = ONE_AT_A_TIME.lock().await;
    const SIZE: usize = 10_000_000;
    let fleet = Fleet::start(1);
    let s = fleet_setup(&fleet).await;
    let detail = run(
        &s,
        &format!("head -c {SIZE} /dev/zero | tr '\\0' '\\r'"),
        None,
    )
    .await;
    assert_eq!(detail.hosts[0].state, HostState::Succeeded);
    let kept = stored(&s.engine, detail.job.id, Stream::Stdout).await;
    assert_eq!(kept.len(), SIZE);
    assert!(kept.iter().all(|&b| b == b'\r'));
    let (_, log) = s.engine.jobs().log(detail.job.id).await.unwrap();
    assert_eq!(log.len(), SIZE.div_ceil(MAX_LINE));
    assert!(log
        .lines()
        .all(|l| ansi::spans(l.text).iter().all(|span| span.text.is_empty())));
}
